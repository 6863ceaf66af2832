"""The reads bench/ledger_scale.py times: the rows of issue #18's target table, and more."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import httpx

LIST, NEXT, LOOKUP, SUMMARY, FIRST_BYTE, ADMIN = 200, 200, 50, 1000, 200, 1000


@dataclass(frozen=True)
class Read:
    name: str
    path: str
    params: dict[str, str]
    target_ms: float
    auth: str = "token"  # token, session, big_key, tiny_key
    next_page: bool = False
    export: bool = False
    throughput: bool = False  # an export read whole: rows/s and the worker's peak RSS
    check: Callable[[httpx.Response], str] | None = None
    tags: tuple[str, ...] = field(default=())


def count_rows(response: httpx.Response) -> str:
    body = response.json()
    rows = body.get("results", body) if isinstance(body, dict) else body
    return f"{len(rows)} rows" if isinstance(rows, list) else ""


def key_check(prefix: str) -> Callable[[httpx.Response], str]:
    """The api_key filter: older code ignores it silently (every row comes back)."""

    def check(response: httpx.Response) -> str:
        rows = response.json()["results"]
        for row in rows:
            key = row.get("api_key")
            ok = (isinstance(key, dict) and key.get("prefix") == prefix) or (
                isinstance(key, str) and key.startswith(prefix + ".")
            )
            if not ok:
                return "n/a: this code ignores the api_key filter"
        return f"{len(rows)} rows"

    return check


def month_bounds(month: str) -> tuple[str, str]:
    first = date.fromisoformat(month + "-01")
    after = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return first.isoformat(), after.isoformat()


def reads(ctx: dict[str, Any], month: str) -> list[Read]:
    after, before = month_bounds(month)
    week = {"created_after": f"{month}-10", "created_before": f"{month}-17"}
    big, tiny, mid = {"client": ctx["big"]}, {"client": ctx["tiny"]}, {"client": ctx["mid"]}
    provider = {"provider": ctx["provider"]}
    failed, unknown = {"status": "failed"}, {"status": "unknown"}
    webhook, mq = {"channel": "webhook"}, {"channel": "mq"}
    service = {"service": ctx["service"]}
    method = {"method": f"{ctx['service']}.{ctx['method']}"}
    key = {"api_key": ctx["api_key"]}
    singles = {
        "no filter": {},
        "client big": big,
        "client tiny": tiny,
        "client mid": mid,
        "provider": provider,
        "status=failed": failed,
        "status=unknown (rare)": unknown,
        "channel=webhook": webhook,
        "kind=topup (rare)": {"kind": "topup"},
        "service": service,
        "method": method,
        "api_key": key,
        "date range (a week)": week,
    }
    pairs = {
        "client big + provider": {**big, **provider},
        "client big + status=failed": {**big, **failed},
        "client big + channel=webhook": {**big, **webhook},
        "client big + method": {**big, **method},
        "client big + api_key": {**big, **key},
        "client big + week": {**big, **week},
        "client tiny + provider": {**tiny, **provider},
        "client tiny + status=failed": {**tiny, **failed},
        "client tiny + channel=mq": {**tiny, **mq},
        "client tiny + method": {**tiny, **method},
        "client tiny + week": {**tiny, **week},
        "provider + status=failed": {**provider, **failed},
        "provider + week": {**provider, **week},
        "status=failed + channel=mq": {**failed, **mq},
        "status=unknown + week": {**unknown, **week},
        "channel=webhook + week": {**webhook, **week},
        "method + week": {**method, **week},
        "method + status=failed": {**method, **failed},
        "api_key + week": {**key, **week},
        "service + provider": {**service, **provider},
    }
    ledger = "/api/v1/ledger/"
    out: list[Read] = []
    for name, params in singles.items():
        check = key_check(ctx["api_key"]) if "api_key" in params else count_rows
        out.append(Read(f"ledger first page: {name}", ledger, params, LIST, check=check))
    for name, params in pairs.items():
        check = key_check(ctx["api_key"]) if "api_key" in params else count_rows
        out.append(Read(f"ledger first page: {name}", ledger, params, LIST, check=check))
    for name, params in {
        "no filter": {},
        "client big": big,
        "client mid": mid,
        "status=failed": failed,
        "provider + week": {**provider, **week},
    }.items():
        out.append(
            Read(
                f"ledger next page (cursor): {name}",
                ledger,
                params,
                NEXT,
                next_page=True,
                check=count_rows,
            )
        )
    out.append(
        Read(
            "ledger lookup by request_id",
            ledger,
            {"request_id": ctx["request_id"]},
            LOOKUP,
            check=count_rows,
        )
    )
    usage = "/api/v1/usage/"
    out += [
        Read("usage: big client", usage, {}, LIST, auth="big_key", check=count_rows),
        Read("usage: big client, next page", usage, {}, NEXT, auth="big_key", next_page=True),
        Read("usage: big client, method", usage, method, LIST, auth="big_key", check=count_rows),
        Read("usage: tiny client", usage, {}, LIST, auth="tiny_key", check=count_rows),
    ]
    off = {"created_after": f"{month}-03T06:00:00Z", "created_before": f"{month}-20T18:30:00Z"}
    whole = {"created_after": after, "created_before": before}
    summary = "/api/v1/ledger/summary/"
    for name, params in {
        "month by provider,day (whole days)": {**whole, "group_by": "provider,day"},
        "month by client": {**whole, "group_by": "client"},
        "off day boundaries by provider": {**off, "group_by": "provider"},
        "off day boundaries + status=failed": {**off, **failed, "group_by": "provider"},
        "off day boundaries + channel=mq": {**off, **mq, "group_by": "provider"},
        "whole days + status=failed": {**whole, **failed, "group_by": "provider,day"},
        "whole days + channel=webhook": {**whole, **webhook, "group_by": "provider"},
        "all time, off boundaries, by client": {
            "created_after": "2020-01-01T05:00:00Z",
            "created_before": "2030-01-01T05:00:00Z",
            "group_by": "client",
        },
    }.items():
        out.append(Read(f"summary: {name}", summary, params, SUMMARY))
    export = "/api/v1/ledger/export.csv"
    out += [
        Read("export first row: tiny client", export, tiny, FIRST_BYTE, export=True),
        Read(
            f"export first row + throughput: {month}",
            export,
            whole,
            FIRST_BYTE,
            export=True,
            throughput=True,
        ),
    ]
    admin = "/admin/ledger/ledgerentry/"
    for name, params in {
        "unfiltered": {},
        "status=failed": {"status__exact": "failed"},
        "kind=topup": {"kind__exact": "topup"},
        "provider": {"provider": ctx["provider"]},
        # The created filter's links (the admin has no date hierarchy: its EXTRACT reads
        # every row), for a whole month.
        f"month {month} (created filter)": {
            "created_at__gte": after,
            "created_at__lt": before,
        },
        "search: tiny client slug": {"q": ctx["tiny"]},
        "search: big client slug": {"q": ctx["big"]},
        "search: request_id": {"q": ctx["request_id"]},
    }.items():
        out.append(Read(f"admin changelist: {name}", admin, params, ADMIN, auth="session"))
    return out
