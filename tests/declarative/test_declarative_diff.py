"""gateway_apply --diff, --check and --prune."""

from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from apps.billing.models import Plan
from apps.catalog.models import Offering, Provider, RoutingPolicy
from apps.catalog.registry import registry
from apps.ledger.models import LedgerEntry
from tests import factories
from tests.declarative.config_files import FILE, SECRET, VAULT, VaultRates, apply, dump, state

pytestmark = pytest.mark.django_db


@pytest.fixture
def vault_adapter(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(registry.adapters, VaultRates.key, VaultRates)


def run(tmp_path: Path, text: str, *args: str) -> str:
    """gateway_apply with these options; its output (CommandError's message appended)."""
    path = tmp_path / "gateway.yaml"
    path.write_text(text)
    out = StringIO()
    call_command("gateway_apply", str(path), *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def check(tmp_path: Path, text: str, *args: str) -> tuple[int, str]:
    """gateway_apply --check: (exit status, output)."""
    path = tmp_path / "gateway.yaml"
    path.write_text(text)
    out = StringIO()
    try:
        call_command("gateway_apply", str(path), "--check", *args, stdout=out, stderr=StringIO())
    except CommandError as drift:
        return drift.returncode, out.getvalue()
    return 0, out.getvalue()


CHANGED = (
    FILE.replace("timeout_ms: 800", "timeout_ms: 900")
    .replace('cost_by_country: {DE: "0.0008", NO: "0.0009"}', 'cost_by_country: {DE: "0.0007"}')
    .replace('currency.convert: "0.0050"', 'currency.convert: "0.0060"')
    .replace('credit_limit: "100.00"', 'credit_limit: "250.00"\n    active: false')
    + '  - {slug: beta, name: Beta, country: FR, plan: standard, credit_limit: "5.00"}\n'
)


def test_diff_prints_each_change_field_by_field_and_saves_nothing(tmp_path):
    # given
    apply(tmp_path, FILE)
    before = state()

    # when
    output = run(tmp_path, CHANGED, "--diff")

    # then
    assert state() == before
    lines = output.splitlines()
    assert lines[lines.index("update provider sandbox") + 1] == "    timeout_ms: 800 -> 900"
    assert "update offering sandbox currency.latest_rates" in lines
    assert "    cost_by_country[DE]: 0.0008 -> 0.0007" in lines
    assert "    cost_by_country[NO]: 0.0009 -> (none)" in lines
    assert "update plan standard" in lines
    assert "    prices[currency.convert]: 0.0050 -> 0.0060" in lines
    assert "update client acme" in lines
    assert "    credit_limit: 100.0000 -> 250.0000" in lines
    assert "    active: true -> false" in lines
    assert "create client beta" in lines
    assert "    country: (none) -> FR" in lines
    assert "update provider sandbox-b" not in lines  # unchanged rows are not listed
    assert lines[-1] == "1 to create, 4 to update"


def test_diff_of_an_applied_file_is_empty(tmp_path, vault_adapter):
    # given
    apply(tmp_path, FILE)
    apply(tmp_path, CHANGED)

    # then
    assert run(tmp_path, CHANGED, "--diff").splitlines() == [
        "no changes: the database matches " + str(tmp_path / "gateway.yaml")
    ]


def test_diff_of_a_dump_is_empty(tmp_path, vault_adapter):
    # given every kind of entry, with free calls, country prices, limits and credentials
    apply(tmp_path, FILE)
    apply(tmp_path, VAULT, name="vault.yaml")
    plan = FILE.replace(
        '    prices: {currency.latest_rates: "0.0100", currency.convert: "0.0050"}\n',
        '    prices: {currency.latest_rates: "0.0100", currency.convert: "0.0050"}\n'
        "    free_calls: {currency.latest_rates: 10}\n"
        '    prices_by_country: {DE: {currency.convert: "0.0040"}}\n'
        "    rate_limits: {total: 100/minute}\n",
    )
    apply(tmp_path, plan)

    # then the dump, compared with the database, is in sync
    assert check(tmp_path, dump())[0] == 0
    assert check(tmp_path, dump("--with-secrets"))[0] == 0


def test_a_provider_whose_adapter_left_the_code_is_still_compared(tmp_path):
    apply(tmp_path, FILE)
    factories.ProviderFactory.create(slug="ghost", adapter="currency.removed", enabled=True)

    lines = run(tmp_path, FILE, "--diff", "--prune").splitlines()

    assert "disable provider ghost: not in the file" in lines


def test_diff_masks_every_secret(tmp_path, vault_adapter):
    # given stored credentials
    apply(tmp_path, VAULT)
    other = "an0ther-s3cret-value-9876543210"

    # when the file changes them, and another diff creates a provider with its own
    changed = run(tmp_path, VAULT.replace(SECRET, other), "--diff")
    created = run(tmp_path, VAULT.replace("slug: vault", "slug: vault-2"), "--diff")

    # then the diff says what changes, never a value
    assert "    credentials[access_key]: **** -> **** (changed)" in changed.splitlines()
    assert "    credentials[access_key]: (none) -> ****" in created.splitlines()
    for output in (changed, created):
        assert SECRET not in output
        assert other not in output
        assert "s3cr" not in output


def test_diff_says_when_a_moved_provider_loses_its_stored_secrets(tmp_path, vault_adapter):
    apply(tmp_path, VAULT)
    without = VAULT.replace(f'    credentials: {{access_key: "{SECRET}"}}\n', "")

    moved = run(tmp_path, without.replace("vault.example", "elsewhere.example"), "--diff")

    assert "    credentials: **** -> (none): entered for another host" in moved.splitlines()
    assert SECRET not in moved


def test_check_exits_2_when_the_database_drifted_and_0_when_in_sync(tmp_path):
    # given a database in sync with the file
    apply(tmp_path, FILE)
    assert check(tmp_path, FILE)[0] == 0

    # when someone changes a provider in the admin
    Provider.objects.filter(slug="sandbox").update(timeout_ms=1234)

    # then CI fails, saying what drifted
    status, output = check(tmp_path, FILE)
    assert status == 2
    assert "update provider sandbox\n    timeout_ms: 1234 -> 800\n" in output

    # and once the file is applied again, it passes
    apply(tmp_path, FILE)
    assert check(tmp_path, FILE) == (
        0,
        f"no changes: the database matches {tmp_path}/gateway.yaml\n",
    )


def test_check_with_prune_also_counts_what_the_file_no_longer_lists(tmp_path):
    apply(tmp_path, FILE)
    extra = factories.ClientFactory.create(slug="ghost", plan=Plan.objects.get(slug="standard"))

    # without --prune, a row the file does not list is no drift; with it, it is
    assert check(tmp_path, FILE)[0] == 0
    status, output = check(tmp_path, FILE, "--prune")
    assert status == 2
    assert "disable client ghost: not in the file\n    active: true -> false\n" in output

    run(tmp_path, FILE, "--prune")
    extra.refresh_from_db()
    assert extra.is_active is False
    assert check(tmp_path, FILE, "--prune")[0] == 0


def test_prune_disables_or_deletes_what_the_file_no_longer_lists(tmp_path):
    # given a database with rows the file does not list; the ledger names an old provider
    # and refers to an old client
    apply(tmp_path, FILE)
    old = factories.ProviderFactory.create(
        slug="old-rates", adapter="currency.sandbox", enabled=True
    )
    factories.OfferingFactory.create(provider=old, method=factories.method("currency.latest_rates"))
    RoutingPolicy.objects.filter(method__slug="convert").update(max_attempts=1, failover=False)
    unused = factories.PlanFactory.create(slug="unused")
    legacy = factories.PlanFactory.create(slug="legacy")
    gone = factories.ClientFactory.create(slug="gone", plan=legacy)
    served = LedgerEntry.objects.create(
        request_id="req-old",
        client=gone,
        service="currency",
        method="latest_rates",
        provider="old-rates",
        status=LedgerEntry.Status.SUCCEEDED,
        price=Decimal("0.0100"),
        currency="EUR",
    )
    ledger_before = list(LedgerEntry.objects.values())
    unlisted_offerings = Offering.objects.filter(enabled=True).count() - 2  # the registry's

    # when
    output = run(tmp_path, FILE, "--prune")

    # then the provider, its offering and the client are disabled, not deleted
    old.refresh_from_db()
    assert old.enabled is False
    assert Offering.objects.get(provider=old).enabled is False
    gone.refresh_from_db()
    assert gone.is_active is False
    # the routing policy is back to the defaults, the unused plan deleted, the used one kept
    policy = RoutingPolicy.objects.get(method__slug="convert")
    assert (policy.max_attempts, policy.failover) == (3, True)
    assert not Plan.objects.filter(pk=unused.pk).exists()
    assert Plan.objects.filter(pk=legacy.pk).exists()
    # the ledger is untouched
    assert list(LedgerEntry.objects.values()) == ledger_before
    assert LedgerEntry.objects.get(pk=served.pk).provider == "old-rates"
    # and the listed rows are as the file says
    assert Provider.objects.get(slug="sandbox").enabled is True
    assert "providers: 0 created, 0 updated, 2 unchanged, 1 disabled" in output
    assert f"offerings: 0 created, 0 updated, 2 unchanged, {unlisted_offerings} disabled" in output
    assert Offering.objects.filter(enabled=True).count() == 2
    assert "routing: 0 created, 0 updated, 1 unchanged, 1 reset" in output
    assert "plans: 0 created, 0 updated, 1 unchanged, 1 deleted, 1 kept (in use)" in output
    assert "clients: 0 created, 0 updated, 1 unchanged, 1 disabled" in output


def test_diff_with_prune_lists_what_prune_would_do(tmp_path):
    apply(tmp_path, FILE)
    factories.ProviderFactory.create(slug="old-rates", adapter="currency.sandbox", enabled=True)
    legacy = factories.PlanFactory.create(slug="legacy")
    factories.ClientFactory.create(slug="gone", plan=legacy, is_active=False)
    RoutingPolicy.objects.filter(method__slug="convert").update(max_attempts=2)

    lines = run(tmp_path, FILE, "--diff", "--prune").splitlines()

    assert "disable provider old-rates: not in the file" in lines
    assert (
        "reset routing policy currency.convert: not in the file: back to the default policy"
        in lines
    )
    assert "    max_attempts: 2 -> 3" in lines
    assert "keep plan legacy: not in the file, but kept: clients are on it (gone)" in lines
    assert not any("client gone" in line for line in lines)  # already suspended
    assert Provider.objects.get(slug="old-rates").enabled is True


def test_prune_leaves_alone_the_sections_the_file_does_not_have(tmp_path):
    apply(tmp_path, FILE)
    other = factories.ClientFactory.create(slug="other")
    providers_only = FILE.split("offerings:")[0]

    output = run(tmp_path, providers_only, "--prune")

    other.refresh_from_db()
    assert other.is_active is True
    assert Offering.objects.filter(enabled=True).exists()
    assert "clients: 0 created, 0 updated, 0 unchanged\n" in output
