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
