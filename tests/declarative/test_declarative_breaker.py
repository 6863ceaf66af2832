"""A provider's circuit breaker thresholds in gateway_apply and gateway_dump."""

from pathlib import Path

import pytest

from apps.catalog.models import Provider
from apps.declarative.services import config_dump
from tests.declarative.config_files import apply, apply_error

pytestmark = pytest.mark.django_db

FILE = """\
providers:
  - slug: sandbox
    adapter: currency.sandbox
    enabled: true
    breaker: {failures: 3, fault_rate: 40, window_s: 120, min_calls: 10, cooldown_s: 45}
"""


def thresholds(slug: str = "sandbox") -> tuple[int, ...]:
    p = Provider.objects.get(slug=slug)
    return (
        p.breaker_failures,
        p.breaker_fault_rate,
        p.breaker_window_s,
        p.breaker_min_calls,
        p.breaker_cooldown_s,
    )


def test_apply_sets_the_breaker_thresholds_and_a_second_apply_changes_nothing(tmp_path: Path):
    apply(tmp_path, FILE)
    assert thresholds() == (3, 40, 120, 10, 45)

    second = apply(tmp_path, FILE)

    assert "providers: 0 created, 0 updated, 1 unchanged" in second


def test_keys_left_out_take_the_defaults(tmp_path: Path):
    apply(tmp_path, FILE)

    apply(
        tmp_path,
        "providers:\n  - slug: sandbox\n    adapter: currency.sandbox\n"
        "    breaker: {cooldown_s: 10}\n",
    )

    assert thresholds() == (5, 50, 60, 20, 10)


def test_the_dump_writes_the_thresholds_and_applies_as_a_no_op(tmp_path: Path):
    apply(tmp_path, FILE)

    dumped = config_dump()

    assert (
        "breaker: {failures: 3, fault_rate: 40, window_s: 120, min_calls: 10, cooldown_s: 45}"
        in dumped
    )
    before = {p.slug: thresholds(p.slug) for p in Provider.objects.all()}
    apply(tmp_path, dumped, name="dump.yaml")
    assert {p.slug: thresholds(p.slug) for p in Provider.objects.all()} == before


@pytest.mark.parametrize(
    "breaker, message",
    [
        ("{failures: 0}", "failures"),
        ("{fault_rate: 150}", "fault_rate"),
        ("{cooldown_s: soon}", "expected a whole number"),
        ("{retries: 3}", "unknown key 'retries'"),
        ("5", "expected a mapping"),
    ],
)
def test_a_wrong_threshold_is_refused_with_its_line(tmp_path: Path, breaker: str, message: str):
    text = f"providers:\n  - slug: sandbox\n    adapter: currency.sandbox\n    breaker: {breaker}\n"

    error = apply_error(tmp_path, text)

    assert "config.yaml:4" in error
    assert message in error
    assert thresholds() == (5, 50, 60, 20, 30)
