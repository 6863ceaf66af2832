"""A fast local stand-in for fixer.io: raw ASGI, no framework, served by uvicorn.

Answers fixer's documented `GET /latest?access_key=...&base=...&symbols=...` (under any
path prefix, so base_url may be http://host:port or http://host:port/api) with a real fixer
success body:

    {"success": true, "timestamp": 1735725600, "base": "EUR", "date": "2025-01-01",
     "rates": {"AED": 3.805, ...}}

and fixer's error bodies (HTTP 200 with "success": false) for a missing access key (101),
an unknown base (201) and unknown symbols (202). Bodies are rendered once per query string,
so the upstream costs next to nothing next to what it stands in front of.

For a peer that speaks OpenAI's format (the LiteLLM proxy of bench/peers/), it also answers
`POST .../chat/completions` with OpenAI's documented `chat.completion` body, usage included,
rendered once: the assistant's message is the fixer body for EUR, so the peer carries about
the same bytes as the gateway does.

    python bench/upstream.py --port 18081 [--delay-ms 200]

--delay-ms makes every answer wait, like a distant vendor: it shows what an in-flight call
holds on to (connections, threads) while the gateway waits for its provider.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs

# Units per one EUR, the symbols fixer lists (a mid-2020s snapshot, rounded like fixer).
RATES_EUR: dict[str, str] = {
    "AED": "3.97515", "AFN": "75.4436", "ALL": "98.5412", "AMD": "419.872", "ANG": "1.94934",
    "AOA": "988.345", "ARS": "1071.52", "AUD": "1.65021", "AWG": "1.94814", "AZN": "1.84016",
    "BAM": "1.95581", "BBD": "2.18383", "BDT": "131.943", "BGN": "1.95583", "BHD": "0.407814",
    "BIF": "3207.54", "BMD": "1.08231", "BND": "1.45614", "BOB": "7.47359", "BRL": "5.89312",
    "BSD": "1.08155", "BTC": "0.0000158", "BTN": "91.0435", "BWP": "14.7522", "BYN": "3.53965",
    "BYR": "21213.3", "BZD": "2.18007", "CAD": "1.51243", "CDF": "3103.04", "CHF": "0.941203",
    "CLF": "0.0383512", "CLP": "1058.21", "CNY": "7.81203", "COP": "4562.35", "CRC": "546.512",
    "CUC": "1.08231", "CUP": "28.6812", "CVE": "110.265", "CZK": "25.1134", "DJF": "192.354",
    "DKK": "7.45893", "DOP": "66.3651", "DZD": "145.612", "EGP": "53.9612", "ERN": "16.2347",
    "ETB": "136.215", "EUR": "1", "FJD": "2.45713", "FKP": "0.845512", "GBP": "0.845512",
    "GEL": "2.97636", "GGP": "0.845512", "GHS": "16.6213", "GIP": "0.845512", "GMD": "77.9263",
    "GNF": "9324.11", "GTQ": "8.35218", "GYD": "226.312", "HKD": "8.41203", "HNL": "27.5126",
    "HRK": "7.53451", "HTG": "141.953", "HUF": "395.402", "IDR": "17521.3", "ILS": "3.95812",
    "IMP": "0.845512", "INR": "90.5121", "IQD": "1416.73", "IRR": "45554.6", "ISK": "150.312",
    "JEP": "0.845512", "JMD": "170.512", "JOD": "0.767413", "JPY": "161.842", "KES": "139.816",
    "KGS": "94.3212", "KHR": "4351.26", "KMF": "491.968", "KPW": "974.078", "KRW": "1502.31",
    "KWD": "0.333512", "KYD": "0.901312", "KZT": "556.312", "LAK": "23691.5", "LBP": "96863.2",
    "LKR": "316.512", "LRD": "199.612", "LSL": "19.8124", "LTL": "3.19578", "LVL": "0.654679",
    "LYD": "5.29812", "MAD": "10.8213", "MDL": "19.6512", "MGA": "5068.45", "MKD": "61.5312",
    "MMK": "3515.23", "MNT": "3677.45", "MOP": "8.66512", "MRU": "43.1213", "MUR": "50.5712",
    "MVR": "16.6712", "MWK": "1875.42", "MXN": "20.2141", "MYR": "4.83512", "MZN": "69.1612",
    "NAD": "19.8124", "NGN": "1676.31", "NIO": "39.7612", "NOK": "11.7621", "NPR": "145.673",
    "NZD": "1.82312", "OMR": "0.416712", "PAB": "1.08155", "PEN": "4.03512", "PGK": "4.32412",
    "PHP": "62.6512", "PKR": "301.212", "PLN": "4.26351", "PYG": "8460.12", "QAR": "3.94212",
    "RON": "4.97612", "RSD": "117.012", "RUB": "107.512", "RWF": "1474.23", "SAR": "4.06312",
    "SBD": "9.06712", "SCR": "15.5412", "SDG": "650.912", "SEK": "11.3421", "SGD": "1.45212",
    "SHP": "0.845512", "SLE": "24.6312", "SLL": "22695.6", "SOS": "618.512", "SRD": "37.9512",
    "STD": "22401.8", "SVC": "9.46312", "SYP": "14073.2", "SZL": "19.8124", "THB": "37.0512",
    "TJS": "11.5412", "TMT": "3.79812", "TND": "3.33212", "TOP": "2.53512", "TRY": "37.1253",
    "TTD": "7.34512", "TWD": "35.3212", "TZS": "2648.21", "UAH": "44.8312", "UGX": "3985.12",
    "USD": "1.08231", "UYU": "46.8812", "UZS": "13912.5", "VES": "55.4712", "VND": "27512.3",
    "VUV": "128.495", "WST": "3.03112", "XAF": "655.957", "XAG": "0.0352412", "XAU": "0.000412",
    "XCD": "2.92502", "XDR": "0.812312", "XOF": "655.957", "XPF": "119.332", "YER": "270.712",
    "ZAR": "19.8124", "ZMK": "9742.12", "ZMW": "29.8412", "ZWL": "348.502",
}  # fmt: skip

_TABLE = {code: Decimal(value) for code, value in RATES_EUR.items()}
_JSON = [(b"content-type", b"application/json")]
_cache: dict[bytes, bytes] = {}
_cache_day = ""
_delay_s = 0.0


def _error(code: int, kind: str, info: str) -> dict[str, Any]:
    return {"success": False, "error": {"code": code, "type": kind, "info": info}}


def render_chat() -> bytes:
    """OpenAI's chat.completion body (the create-chat-completion reference), with usage."""
    rates = render(b"access_key=bench&base=EUR").decode()
    body = {
        "id": "chatcmpl-bench0000000000000000000000001",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": rates,
                    "refusal": None,
                    "annotations": [],
                },
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": 19,
            "completion_tokens": 1500,
            "total_tokens": 1519,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": 0,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        },
        "service_tier": "default",
        "system_fingerprint": "fp_bench",
    }
    return json.dumps(body, separators=(",", ":")).encode()


def render(query: bytes) -> bytes:
    """The body fixer sends for one query string."""
    params = {k: v[-1] for k, v in parse_qs(query.decode("latin-1")).items()}
    if not params.get("access_key"):
        body = _error(101, "missing_access_key", "You have not supplied an API Access Key.")
        return json.dumps(body).encode()
    base = params.get("base", "EUR").upper()
    if base not in _TABLE:
        return json.dumps(_error(201, "invalid_base_currency", "")).encode()
    symbols = [s for s in params.get("symbols", "").upper().split(",") if s]
    if any(s not in _TABLE for s in symbols):
        return json.dumps(_error(202, "invalid_currency_codes", "")).encode()
    divisor = _TABLE[base]
    codes = symbols or list(_TABLE)
    now = datetime.now(UTC)
    body = {
        "success": True,
        "timestamp": int(now.timestamp()),
        "base": base,
        "date": now.date().isoformat(),
        "rates": {code: float(f"{_TABLE[code] / divisor:.6g}") for code in codes},
    }
    return json.dumps(body, separators=(",", ":")).encode()


_CHAT = render_chat()


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    global _cache_day
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    path: str = scope["path"]
    if scope["method"] == "GET" and (path == "/latest" or path.endswith("/latest")):
        day = time.strftime("%Y-%m-%d", time.gmtime())
        if day != _cache_day:
            _cache.clear()
            _cache_day = day
        query: bytes = scope["query_string"]
        body = _cache.get(query)
        if body is None:
            body = render(query)
            if len(_cache) < 10_000:
                _cache[query] = body
        status = 200  # fixer answers its errors with HTTP 200 and "success": false
        if _delay_s:
            await asyncio.sleep(_delay_s)
    elif scope["method"] == "POST" and path.endswith("/chat/completions"):
        while (await receive()).get("more_body"):
            pass  # the prompt does not change the answer
        body = _CHAT
        status = 200
        if _delay_s:
            await asyncio.sleep(_delay_s)
    else:
        body = json.dumps(_error(103, "invalid_api_function", "")).encode()
        status = 404
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [*_JSON, (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=18081)
    parser.add_argument("--delay-ms", type=float, default=0.0)
    args = parser.parse_args()
    global _delay_s
    _delay_s = args.delay_ms / 1000
    try:
        import uvloop  # noqa: F401

        loop = "uvloop"
    except ImportError:
        loop = "asyncio"
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        http="httptools",
        loop=loop,
        access_log=False,
        log_level="warning",
        lifespan="on",
    )


if __name__ == "__main__":
    main()
