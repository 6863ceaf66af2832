"""The ledger against the answers the load generator got (bench/faults.py).

Each call's request id is its ledger row's `request_id`, so every answer can be matched with
what was recorded for it:

* a 200 has exactly one charge row, `succeeded`, that moved the balance by its price;
* a 5xx answered before any provider was tried (503 database-unavailable, any 5xx problem
  without `attempts`) has no row at all (as issue #13 words it), and at least no charge and
  no provider attempt in a row (the gateway records the failures it can: status failed,
  amount 0, no attempts);
* a 503 outcome-unknown (the provider served, the row could not be written yet) gets its
  row once the database is back: `succeeded`, charged once;
* a 502/504 (providers tried, all failed) has one row, not `succeeded`;
* no call the client did not see succeed (bare answers, no answer, 4xx) is billed;
* no request id has more than one charge row.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from bench.fault_load import Answer

Query = Callable[..., list[tuple[object, ...]]]
SHOWN = 15  # failures listed per check; the rest are counted


@dataclass(frozen=True)
class Row:
    kind: str
    status: str
    amount: Decimal
    price: Decimal
    attempts: int
    http_status: int | None
    error_type: str

    def __str__(self) -> str:
        return (
            f"{self.kind}/{self.status} amount {self.amount} price {self.price} "
            f"attempts {self.attempts} http {self.http_status} {self.error_type}".rstrip()
        )


@dataclass
class Check:
    name: str
    calls: int = 0
    failures: list[str] = field(default_factory=list)

    def fail(self, answer: Answer, why: str, rows: list[Row]) -> None:
        said = "; ".join(map(str, rows)) or "no row"
        self.failures.append(
            f"{answer.request_id} (answered {answer.status} {answer.code or answer.kind}, "
            f"phase {answer.phase!r}, sent at {answer.sent_at} s): {why}; ledger: {said}"
        )


def rows_by_request(query: Query, answers: list[Answer]) -> dict[str, list[Row]]:
    found: dict[str, list[Row]] = defaultdict(list)
    ids = [answer.request_id for answer in answers]
    for start in range(0, len(ids), 5000):
        for request_id, *rest in query(
            "SELECT request_id, kind, status, amount, price, jsonb_array_length(attempts), "
            "http_status, error_type FROM ledger_ledgerentry WHERE request_id = ANY(%s)",
            ids[start : start + 5000],
        ):
            kind, status, amount, price, attempts, http_status, error_type = rest
            found[str(request_id)].append(
                Row(
                    kind=str(kind),
                    status=str(status),
                    amount=Decimal(str(amount)),
                    price=Decimal(str(price)),
                    attempts=int(attempts or 0),  # type: ignore[call-overload]
                    http_status=http_status,  # type: ignore[arg-type]
                    error_type=str(error_type),
                )
            )
    return found


def check_ledger(query: Query, answers: list[Answer]) -> list[Check]:
    """Every check above, each with the calls it looked at and the ones that broke it."""
    rows = rows_by_request(query, answers)
    served = Check("every 200 has exactly one charge row, succeeded, charged its price")
    before = Check("no row for a 5xx answered before any provider was tried (issue #13's words)")
    unbilled_before = Check("a 5xx answered before any provider was tried: no charge, no attempt")
    unknown = Check("503 outcome-unknown: recorded once the database is back, billed once")
    failed = Check("502/504: one row, not succeeded")
    unbilled = Check("no charge for a call the client did not see succeed")
    duplicates = Check("no request id with more than one charge row")
    for answer in answers:
        mine = rows.get(answer.request_id, [])
        charges = [row for row in mine if row.kind == "charge"]
        billed = sum((-row.amount for row in mine), Decimal(0))
        duplicates.calls += 1
        if len(charges) > 1:
            duplicates.fail(answer, f"{len(charges)} charge rows", mine)
        if answer.status == 200 and answer.kind == "ok":
            served.calls += 1
            row = charges[0] if len(charges) == 1 else None
            if row is None or row.status != "succeeded" or row.amount != -row.price:
                served.fail(answer, "a 200 without its one charged row", mine)
        elif answer.code == "outcome-unknown":
            unknown.calls += 1
            if len(charges) != 1 or charges[0].status != "succeeded" or billed <= 0:
                unknown.fail(answer, "not recorded as served and billed once", mine)
        elif answer.status >= 500 and answer.kind == "problem" and answer.attempts == 0:
            before.calls += 1
            unbilled_before.calls += 1
            if mine:
                before.fail(answer, "a row for a call no provider was tried for", mine)
            if billed or any(row.attempts or row.status == "succeeded" for row in mine):
                unbilled_before.fail(answer, "billed, or a provider attempt recorded", mine)
        elif answer.status in (502, 504) and answer.kind == "problem":
            failed.calls += 1
            if len(charges) != 1 or charges[0].status == "succeeded":
                failed.fail(answer, "expected one row, not succeeded", mine)
        else:
            unbilled.calls += 1
            if billed > 0:
                unbilled.fail(answer, f"billed {billed} for it", mine)
    return [served, before, unbilled_before, unknown, failed, unbilled, duplicates]


def verdict_table(checks: list[Check], ledger_check: tuple[bool, str]) -> str:
    lines = ["| check | calls checked | failures | verdict |", "|---|--:|--:|---|"]
    for check in checks:
        verdict = "holds" if not check.failures else "**broken**"
        lines.append(f"| {check.name} | {check.calls} | {len(check.failures)} | {verdict} |")
    ok, output = ledger_check
    last = output.strip().splitlines()[-1] if output.strip() else ""
    lines.append(
        f"| `manage.py ledger_check --hold-age 0`: balance = Σ ledger, held = open holds, "
        f"no hold left | all clients | {'0' if ok else 'see below'} | "
        f"{'holds' if ok else '**broken**'} ({last}) |"
    )
    for check in checks:
        if check.failures:
            lines.append(f"\n**{check.name}**: {len(check.failures)} failure(s)\n")
            lines += [f"- {failure}" for failure in check.failures[:SHOWN]]
            if len(check.failures) > SHOWN:
                lines.append(f"- … and {len(check.failures) - SHOWN} more")
    if not ok:
        lines.append("\n`ledger_check` said:\n\n```\n" + output.strip() + "\n```")
    return "\n".join(lines)
