"""The rollup's monthly level (apps.ledger.months): closed months are summed once more, and a
summary that reads them answers exactly what a sum over the rows answers, for any range,
group and filter (on PostgreSQL and on SQLite)."""

import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection
from django.db.models import Sum
from django.test.utils import CaptureQueriesContext

from apps.accounts.models import Client
from apps.ledger.models import LedgerDay, LedgerEntry, LedgerMonth, LedgerMonthClosed
from apps.ledger.months import first_open_month, grain_for, ledger_months_close, month_after
from apps.ledger.rollup import ledger_rollup_rebuild
from apps.ledger.selectors import LedgerFilters
from apps.ledger.services import ledger_reverse
from apps.ledger.summary import SUMMARY_GROUPS, SummaryLine, ledger_summary
from apps.ledger.tasks import close_months
from tests import factories
from tests.factories import call_row
from tests.ledger.finance import expected_summary

pytestmark = pytest.mark.django_db

JUL = datetime(2026, 7, 1, tzinfo=UTC)
DEC = datetime(2026, 12, 1, tzinfo=UTC)
AFTER_NOVEMBER = datetime(2026, 12, 2, 1, tzinfo=UTC)  # November has closed (a day's grace)


def as_expected(lines: list[SummaryLine], group_by: list[str]) -> dict[tuple[str, ...], Any]:
    """ledger_summary's lines in expected_summary's shape."""
    return {
        tuple(line.group[name] for name in group_by): {
            "calls": line.calls,
            "cost": f"{line.cost:.4f}",
            "revenue": f"{line.revenue:.4f}",
            "margin": f"{line.margin:.4f}",
        }
        for line in lines
        if group_by or line.calls or line.cost or line.revenue  # totals of nothing: zeros
    }


@pytest.fixture
def five_months() -> list[Client]:
    """Calls from July to early December at random times, over clients, providers, methods,
    statuses, channels and countries, and refunds of some (booked now, as staff book them)."""
    rng = random.Random(18)
    clients = [
        factories.ClientFactory(slug=slug, country=country, credit_limit=Decimal("1000"))
        for slug, country in (("acme", "DE"), ("globex", "FR"), ("initech", "US"))
    ]
    span = (DEC + timedelta(days=4) - JUL).total_seconds()
    calls = []
    for _ in range(240):
        status = rng.choice(["succeeded"] * 6 + ["failed", "unknown"])
        calls.append(
            call_row(
                rng.choice(clients),
                JUL + timedelta(seconds=rng.uniform(0, span)),
                method=rng.choice(["latest_rates", "convert"]),
                provider=rng.choice(["fixer", "openexchangerates", "currencylayer"]),
                status=status,
                channel=rng.choice(["http", "http", "mq", "webhook"]),
                country=rng.choice(["DE", "FR", "US"]),
                cost=Decimal(rng.randint(1, 40)) / 10000,
                price=Decimal(rng.randint(10, 90)) / 10000 if status == "succeeded" else Decimal(0),
            )
        )
    for refunded in rng.sample([c for c in calls if c.price], 12):
        ledger_reverse(entry=refunded, reason="credit", staff_user=None)
    return clients


def random_moment(rng: random.Random) -> datetime | None:
    """A range's bound: none, a month's first midnight, a midnight, or any instant."""
    month = JUL.replace(month=rng.randint(6, 12))
    return rng.choice(
        [
            None,
            month,
            month + timedelta(days=rng.randint(1, 27)),
            month + timedelta(days=rng.randint(0, 27), seconds=rng.randint(1, 86399)),
        ]
    )


def test_summaries_over_built_months_equal_sums_over_the_rows(five_months):
    # given the months up to November built
    assert ledger_months_close(now=AFTER_NOVEMBER)
    rng = random.Random(2026)
    acme = five_months[0]
    through_months = 0

    for _ in range(80):
        # when any range, groups and filters are summed
        after, before = random_moment(rng), random_moment(rng)
        if after and before and after > before:
            after, before = before, after
        group_by = rng.sample([g for g in SUMMARY_GROUPS if g != "day"], rng.randint(0, 2))
        if rng.random() < 0.15:
            group_by.append("day")
        chosen = {
            name: value
            for name, value in (
                ("client", "acme"),
                ("provider", "fixer"),
                ("status", "succeeded"),
                ("channel", "mq"),
                ("method", "currency.convert"),
            )
            if rng.random() < 0.2
        }
        filters = LedgerFilters(created_after=after, created_before=before, **chosen)
        with CaptureQueriesContext(connection) as queries:
            lines = ledger_summary(group_by=group_by, filters=filters)

        # then they are what the rows add up to
        where = {name: value for name, value in chosen.items() if name != "method"}
        if "client" in where:
            where["client_id"] = acme.pk
            del where["client"]
        if "method" in chosen:
            where |= {"service": "currency", "method": "convert"}
        expected = expected_summary(group_by, after=after, before=before, **where)
        assert as_expected(lines, group_by) == expected, (after, before, group_by, chosen)
        through_months += any('"ledger_ledgermonth"' in q["sql"] for q in queries)

    assert through_months >= 20  # the monthly level was read, not only the days


def test_a_month_closes_a_day_after_it_ends():
    assert first_open_month(datetime(2026, 12, 1, 23, 59, tzinfo=UTC)).month == 11
    assert first_open_month(datetime(2026, 12, 2, tzinfo=UTC)).month == 12


def test_closing_builds_each_closed_month_once(five_months):
    # when
    first = ledger_months_close(now=AFTER_NOVEMBER)
    again = ledger_months_close(now=AFTER_NOVEMBER)

    # then July to November, each with its buckets; December is still open
    assert [f"{month:%Y-%m}" for month in first] == [f"2026-{m:02d}" for m in range(7, 12)]
    assert again == []
    closed = LedgerMonthClosed.objects.all()
    assert [c.buckets for c in closed] == [
        LedgerMonth.objects.filter(month=c.month).count() for c in closed
    ]
    assert not LedgerMonth.objects.filter(month__gte=DEC.date()).exists()


def assert_every_grain_sums_to_the_days() -> None:
    def totals(buckets: Any) -> tuple[int, str, str]:
        # to the cent's hundredth: SQLite sums decimals as floats
        row = buckets.aggregate(
            calls=Sum("calls", default=0),
            cost=Sum("cost", default=Decimal(0)),
            revenue=Sum("revenue", default=Decimal(0)),
        )
        return row["calls"], f"{row['cost']:.4f}", f"{row['revenue']:.4f}"

    closed = LedgerMonthClosed.objects.values_list("month", flat=True)
    assert closed
    for month in closed:
        expected = totals(LedgerDay.objects.filter(day__gte=month, day__lt=month_after(month)))
        for grain in LedgerMonth.Grain:
            buckets = LedgerMonth.objects.filter(month=month, grain=grain)
            assert totals(buckets) == expected, (month, grain)


def test_every_grain_of_a_month_sums_to_its_days(five_months):
    ledger_months_close(now=AFTER_NOVEMBER)

    assert_every_grain_sums_to_the_days()


def test_generating_rows_into_built_months_sums_them_again():
    # given a generated ledger whose closed months are built
    options = {"rows": 3000, "months": 3, "big": 1, "mid": 2, "tiny": 2, "no_vacuum": True}
    with time_machine.travel(datetime(2026, 12, 6, 8, 30, tzinfo=UTC), tick=False):
        call_command("ledger_generate", stdout=_Lines(), **options)
        before = LedgerMonthClosed.objects.get(month=date(2026, 11, 1)).buckets

        # when more rows are generated into the same months
        call_command("ledger_generate", stdout=_Lines(), prefix="more", **options)

    # then the months hold the new rows too
    assert LedgerMonthClosed.objects.get(month=date(2026, 11, 1)).buckets > before
    assert_every_grain_sums_to_the_days()


def test_a_late_refund_lands_in_todays_bucket_and_leaves_a_closed_month_alone(five_months):
    # given November built, and a call of November
    ledger_months_close(now=AFTER_NOVEMBER)
    november = datetime(2026, 11, 1, tzinfo=UTC)
    call = (
        LedgerEntry.objects.filter(created_at__gte=november, created_at__lt=DEC, price__gt=0)
        .exclude(reversed_by__isnull=False)
        .first()
    )
    assert call is not None
    month_before = list(LedgerMonth.objects.filter(month=november.date()).values_list())

    # when it is refunded today
    refund = ledger_reverse(entry=call, reason="late credit", staff_user=None)

    # then the refund is in today's bucket; November's days and months are as they were
    assert refund.created_at >= DEC
    assert list(LedgerMonth.objects.filter(month=november.date()).values_list()) == month_before
    november_and_later = LedgerFilters(created_after=november, client=call.client.slug)
    lines = ledger_summary(group_by=["client"], filters=november_and_later)
    expected = expected_summary(["client"], after=november, client_id=call.client_id)
    assert as_expected(lines, ["client"]) == expected


def test_the_rebuild_sums_the_months_again_from_the_days(five_months):
    # given the monthly level built, then spoiled
    ledger_months_close(now=AFTER_NOVEMBER)
    LedgerMonth.objects.filter(grain=LedgerMonth.Grain.CLIENT).update(calls=0)

    # when
    call_command("ledger_rollup_rebuild", stdout=(out := _Lines()))

    # then the months agree with the rows again (whatever the day of the run)
    assert LedgerMonthClosed.objects.filter(month=JUL.date()).exists()
    lines = ledger_summary(group_by=["client"], filters=LedgerFilters(created_before=DEC))
    assert as_expected(lines, ["client"]) == expected_summary(["client"], before=DEC)
    assert "monthly bucket(s)" in out.text


def test_the_rebuild_keeps_the_days_before_the_first_row(five_months):
    # given a day with buckets but no rows any more (an archived month keeps its rollup)
    acme = five_months[0]
    june = JUL.date().replace(month=6)
    LedgerDay.objects.create(
        day=june + timedelta(days=14), client=acme, calls=7, revenue=Decimal("0.7000")
    )

    # when
    rebuilt = ledger_rollup_rebuild()

    # then
    assert rebuilt.days and LedgerDay.objects.filter(calls=7).count() == 1
    buckets = LedgerMonth.objects.filter(month=june, grain=LedgerMonth.Grain.CLIENT)
    assert list(buckets.values_list("calls", flat=True)) == [7]


def test_the_beat_task_closes_the_months(five_months):
    # when
    closed = close_months()

    # then every month from July to the one before today's open month
    months = [JUL.date()]
    while month_after(months[-1]) < first_open_month():
        months.append(month_after(months[-1]))
    assert closed == [f"{month:%Y-%m}" for month in months]
    assert close_months() == []


def test_a_summary_reads_the_smallest_grain_holding_its_groups_and_filters():
    assert grain_for(set()) == grain_for({"client_id"}) == LedgerMonth.Grain.CLIENT
    assert grain_for({"provider", "status"}) == LedgerMonth.Grain.ALL_BUT_CLIENT
    assert grain_for({"client_id", "channel"}) == LedgerMonth.Grain.ALL


def test_an_all_time_summary_reads_months_and_days_in_one_statement(
    five_months, django_assert_num_queries
):
    # given built months, and a range of all time off midnight
    ledger_months_close(now=AFTER_NOVEMBER)
    filters = LedgerFilters(
        created_after=datetime(2020, 1, 1, 5, tzinfo=UTC),
        created_before=datetime(2030, 1, 1, 5, tzinfo=UTC),
    )

    # when
    with django_assert_num_queries(4) as queries:
        lines = ledger_summary(group_by=["client"], filters=filters)

    # then: each partial edge from the rows; the built months; the whole days, months and
    # days in one statement
    statements = [q["sql"] for q in queries.captured_queries]
    edges = [sql for sql in statements if '"ledger_ledgerentry"' in sql]
    built = [sql for sql in statements if '"ledger_ledgermonthclosed"' in sql]
    rollup = [sql for sql in statements if '"ledger_ledgermonth"' in sql]
    assert len(edges) == 2 and len(built) == 1 and len(rollup) == 1
    assert '"ledger_ledgerday"' in rollup[0]
    assert "'client'" in rollup[0]  # the grain of clients alone
    assert as_expected(lines, ["client"]) == expected_summary(["client"])


def test_a_summary_by_day_or_within_a_month_does_not_look_for_months(
    five_months, django_assert_num_queries
):
    ledger_months_close(now=AFTER_NOVEMBER)
    by_day = LedgerFilters(created_after=JUL, created_before=DEC)
    in_a_month = LedgerFilters(
        created_after=datetime(2026, 9, 3, 6, tzinfo=UTC),
        created_before=datetime(2026, 9, 20, 18, tzinfo=UTC),
    )

    with django_assert_num_queries(1):
        ledger_summary(group_by=["day"], filters=by_day)
    with django_assert_num_queries(3):
        ledger_summary(group_by=["provider"], filters=in_a_month)


class _Lines:
    def __init__(self) -> None:
        self.text = ""

    def write(self, text: str) -> None:
        self.text += text

    def flush(self) -> None:
        pass
