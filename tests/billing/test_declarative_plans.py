"""gateway_apply / gateway_dump, the plans section: prices by country, free calls, limits."""

from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from apps.billing.models import CountryPrice, Plan, PlanRateLimit, Price

pytestmark = pytest.mark.django_db

FILE = """\
plans:
  - slug: standard
    name: Standard
    prices: {currency.latest_rates: "0.0100", currency.convert: "0.0050"}
    prices_by_country:
      DE: {currency.latest_rates: "0.0080", currency.convert: "0.0040"}
      NO: {currency.latest_rates: "0.0150"}
    free_calls: {currency.latest_rates: 1000}
    rate_limits:
      total: 5000/hour
      currency: 100/minute
      currency.convert: 10/second
"""


def apply(tmp_path: Path, text: str) -> str:
    path = tmp_path / "plans.yaml"
    path.write_text(text)
    out = StringIO()
    call_command("gateway_apply", str(path), stdout=out, stderr=StringIO())
    return out.getvalue()


def dump() -> str:
    out = StringIO()
    call_command("gateway_dump", stdout=out)
    return out.getvalue()


def plan_state() -> dict:
    plan = Plan.objects.get(slug="standard")
    return {
        "prices": {
            p.method.key: (p.price, p.free_calls)
            for p in Price.objects.filter(plan=plan).select_related("method__service")
        },
        "countries": {
            (c.country, c.base.method.key): c.price
            for c in CountryPrice.objects.select_related("base__method__service")
        },
        "limits": {r.scope: (r.limit, r.window) for r in PlanRateLimit.objects.filter(plan=plan)},
    }


def test_apply_sets_country_prices_free_calls_and_rate_limits(tmp_path):
    # when
    output = apply(tmp_path, FILE)

    # then
    assert "plans: 1 created, 0 updated, 0 unchanged" in output
    assert plan_state() == {
        "prices": {
            "currency.latest_rates": (Decimal("0.0100"), 1000),
            "currency.convert": (Decimal("0.0050"), 0),
        },
        "countries": {
            ("DE", "currency.latest_rates"): Decimal("0.0080"),
            ("DE", "currency.convert"): Decimal("0.0040"),
            ("NO", "currency.latest_rates"): Decimal("0.0150"),
        },
        "limits": {
            "total": (5000, "hour"),
            "currency": (100, "minute"),
            "currency.convert": (10, "second"),
        },
    }


def test_a_second_apply_and_the_dump_change_nothing(tmp_path):
    # given
    apply(tmp_path, FILE)
    before = plan_state()

    # when
    again = apply(tmp_path, FILE)
    dumped = dump()
    from_dump = apply(tmp_path, dumped)

    # then
    assert "plans: 0 created, 0 updated, 1 unchanged" in again
    assert "plans: 0 created, 0 updated, 1 unchanged" in from_dump
    assert plan_state() == before
    assert "    free_calls: {currency.latest_rates: 1000}" in dumped
    assert '      DE: {currency.convert: "0.0040", currency.latest_rates: "0.0080"}' in dumped
    assert "      currency: 100/minute" in dumped


def test_what_the_file_leaves_out_is_removed(tmp_path):
    # given
    apply(tmp_path, FILE)
    smaller = FILE.replace('      NO: {currency.latest_rates: "0.0150"}\n', "").replace(
        "      currency.convert: 10/second\n", ""
    )
    smaller = smaller.replace("    free_calls: {currency.latest_rates: 1000}\n", "")
    smaller = smaller.replace("total: 5000/hour", "total: 4000/hour")

    # when
    output = apply(tmp_path, smaller)

    # then
    assert "plans: 0 created, 1 updated, 0 unchanged" in output
    state = plan_state()
    assert state["prices"]["currency.latest_rates"] == (Decimal("0.0100"), 0)
    assert ("NO", "currency.latest_rates") not in state["countries"]
    assert state["limits"] == {"total": (4000, "hour"), "currency": (100, "minute")}


def test_a_plan_without_rate_limits_is_unlimited(tmp_path):
    apply(tmp_path, FILE)

    apply(tmp_path, FILE[: FILE.index("    rate_limits:")])

    assert not PlanRateLimit.objects.exists()


@pytest.mark.parametrize(
    "old, new, message",
    [
        ("currency: 100/minute", "weather: 100/minute", "rate_limits[weather]: 'weather' is not"),
        ("currency: 100/minute", "currency.rates: 1/day", "unknown method 'currency.rates'"),
        ("currency: 100/minute", "currency: 100 per minute", "expected calls per window"),
        ("currency: 100/minute", "currency: 0/minute", "expected calls per window"),
        ("NO: {", "Norway: {", "'Norway' is not an ISO 3166-1 alpha-2 country code"),
        (
            'NO: {currency.latest_rates: "0.0150"}',
            "NO: {currency.latest_rates: 0.015}",
            "money must be a quoted decimal string",
        ),
        (
            'currency.latest_rates: "0.0080", currency.convert: "0.0040"',
            'currency.latest_rates: "0.0080", currency.latest_rate: "0.0040"',
            "unknown method 'currency.latest_rate'",
        ),
        (
            "free_calls: {currency.latest_rates: 1000}",
            "free_calls: {currency.convert: 5, email.send: 1000}",
            "free_calls[email.send]: email.send has no price in this plan's `prices`",
        ),
        (
            "free_calls: {currency.latest_rates: 1000}",
            "free_calls: {currency.latest_rates: -1}",
            "expected a whole number of calls",
        ),
        ("free_calls: {currency.latest_rates: 1000}", "free_calls: [1000]", "expected a mapping"),
    ],
)
def test_a_wrong_plan_names_its_line_and_changes_nothing(tmp_path, old, new, message):
    # given
    text = FILE.replace(old, new)
    assert text != FILE

    # when
    with pytest.raises(CommandError) as error:
        apply(tmp_path, text)

    # then
    line = text[: text.index(new)].count("\n") + 1
    assert f"plans.yaml:{line}: " in str(error.value)
    assert message in str(error.value)
    assert not Plan.objects.filter(slug="standard").exists()


def test_the_demo_plan_carries_the_original_systems_limits(tmp_path):
    from django.conf import settings

    demo = (Path(settings.BASE_DIR) / "fixtures" / "demo.yaml").read_text()

    apply(tmp_path, demo)

    limits = {
        r.scope: (r.limit, r.window) for r in PlanRateLimit.objects.filter(plan__slug="standard")
    }
    assert limits == {"total": (5000, "hour"), "email": (100, "hour"), "currency": (100, "minute")}
