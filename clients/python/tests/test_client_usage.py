"""Gateway.usage() follows the usage API's cursor pages (faked here in its documented shape)."""

from datetime import datetime, timezone
from decimal import Decimal

import httpx
import respx

from gateway_client import Gateway

BASE = "http://gw.test"


def row(request_id: str) -> dict[str, str]:
    return {"request_id": request_id, "price": "0.0100", "amount": "-0.0100", "status": "succeeded"}


def test_usage_reads_every_page_with_money_as_decimal():
    with respx.mock(base_url=BASE) as router:
        pages = router.get("/api/v1/usage/").mock(
            side_effect=[
                httpx.Response(
                    200, json={"next": f"{BASE}/api/v1/usage/?cursor=abc", "results": [row("r-2")]}
                ),
                httpx.Response(200, json={"next": None, "results": [row("r-1")]}),
            ]
        )
        since = datetime(2026, 12, 1, tzinfo=timezone.utc)

        rows = list(Gateway(BASE, "k").usage(method="currency.convert", created_after=since))

    assert [r["request_id"] for r in rows] == ["r-2", "r-1"]
    assert rows[0]["amount"] == Decimal("-0.0100")
    first, second = (call.request.url.params for call in pages.calls)
    assert first["method"] == "currency.convert"
    assert first["created_after"] == "2026-12-01T00:00:00+00:00"
    assert second["cursor"] == "abc"


def test_a_next_link_to_another_host_or_plain_http_never_gets_the_key():
    # given a gateway behind a proxy that rewrote its links to http://, and a forged host
    with respx.mock(assert_all_called=False) as router:
        home = router.get(f"{BASE}/api/v1/usage/").mock(
            side_effect=[
                httpx.Response(
                    200,
                    json={"next": "http://evil.test/api/v1/usage/?cursor=abc", "results": []},
                ),
                httpx.Response(200, json={"next": None, "results": [row("r-1")]}),
            ]
        )
        elsewhere = router.route(host="evil.test").mock(return_value=httpx.Response(200))

        rows = list(Gateway(BASE, "k").usage())

    # then the second page is asked of the client's own base URL, with the cursor kept
    assert [r["request_id"] for r in rows] == ["r-1"]
    assert not elsewhere.called
    assert home.calls[1].request.url.params["cursor"] == "abc"
