"""gateway_apply / gateway_dump: the catalog, plans and clients as one YAML file."""

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection

from apps.accounts.models import Client, ClientApiKey
from apps.billing.models import Plan, Price
from apps.catalog.models import Offering, Provider, RoutingPolicy
from tests import factories
from tests.declarative.config_files import (
    FILE,
    SECRET,
    VAULT,
    apply,
    apply_error,
    dump,
    line_of,
    state,
)

pytestmark = pytest.mark.django_db


def test_apply_creates_everything_with_the_values_in_the_file(tmp_path):
    # when
    output = apply(tmp_path, FILE)

    # then
    sandbox = Provider.objects.get(slug="sandbox")
    assert (sandbox.adapter, sandbox.base_url, sandbox.timeout_ms, sandbox.enabled) == (
        "currency.sandbox",
        "sandbox://rates",
        800,
        True,
    )
    second = Provider.objects.get(slug="sandbox-b")
    assert (second.name, second.base_url, second.timeout_ms, second.enabled) == (
        "Second sandbox",
        "sandbox://backup",
        500,  # the adapter's default
        False,
    )
    offering = Offering.objects.get(provider=sandbox, method__slug="latest_rates")
    assert (offering.priority, offering.weight, offering.cost) == (1, 3, Decimal("0.0010"))
    assert {c.country: c.cost for c in offering.country_costs.all()} == {
        "DE": Decimal("0.0008"),
        "NO": Decimal("0.0009"),
    }
    backup = Offering.objects.get(provider=second, method__slug="latest_rates")
    assert (backup.priority, backup.weight, backup.cost, backup.enabled) == (
        2,
        1,
        Decimal("0.0020"),
        True,
    )
    policy = RoutingPolicy.objects.get(method=factories.method("currency.latest_rates"))
    assert (policy.strategy, policy.failover, policy.max_attempts, policy.deadline_ms) == (
        "priority",
        False,
        2,
        4000,
    )
    assert policy.cache_ttl_s == 60
    plan = Plan.objects.get(slug="standard")
    assert (plan.name, plan.charge_failed_calls) == ("Standard", True)
    assert {p.method.key: p.price for p in plan.prices.select_related("method__service")} == {
        "currency.latest_rates": Decimal("0.0100"),
        "currency.convert": Decimal("0.0050"),
    }
    client = Client.objects.get(slug="acme")
    assert (client.name, client.country, client.plan, client.credit_limit, client.is_active) == (
        "ACME Ltd",
        "DE",
        plan,
        Decimal("100.00"),
        True,
    )
    assert "plans: 1 created, 0 updated, 0 unchanged" in output
    assert "clients: 1 created, 0 updated, 0 unchanged" in output


def test_a_second_apply_changes_nothing(tmp_path):
    # given
    apply(tmp_path, FILE)
    before = state()

    # when
    output = apply(tmp_path, FILE)

    # then
    assert state() == before
    for kind in ("providers", "offerings", "routing", "plans", "clients"):
        assert f"{kind}: 0 created, 0 updated" in output


def test_a_changed_file_updates_only_what_changed(tmp_path):
    # given
    apply(tmp_path, FILE)
    acme_stamp = Client.objects.get(slug="acme").updated_at
    changed = FILE.replace(
        'cost_by_country: {DE: "0.0008", NO: "0.0009"}', 'cost_by_country: {DE: "0.0007"}'
    )
    changed = changed.replace('currency.convert: "0.0050"', 'currency.convert: "0.0060"')

    # when
    output = apply(tmp_path, changed)

    # then the country costs and prices are the file's sets, the client is untouched
    offering = Offering.objects.get(provider__slug="sandbox", method__slug="latest_rates")
    assert {c.country: c.cost for c in offering.country_costs.all()} == {"DE": Decimal("0.0007")}
    assert Price.objects.get(plan__slug="standard", method__slug="convert").price == Decimal(
        "0.0060"
    )
    assert "offerings: 0 created, 1 updated, 1 unchanged" in output
    assert "plans: 0 created, 1 updated, 0 unchanged" in output
    assert Client.objects.get(slug="acme").updated_at == acme_stamp


INVALID = [
    pytest.param(
        FILE.replace("    weight: 3\n", "    weight: 3\n    wieght: 3\n"),
        "    wieght: 3",
        "unknown key 'wieght'",
        id="unknown-key",
    ),
    pytest.param(
        FILE.replace(
            "method: currency.latest_rates\n    priority: 2",
            "method: currency.rates\n    priority: 2",
        ),
        "method: currency.rates",
        "offerings[1].method: unknown method 'currency.rates'",
        id="unknown-method",
    ),
    pytest.param(
        FILE.replace('cost: "0.0020"', "cost: 0.002"),
        "cost: 0.002",
        'offerings[1].cost: money must be a quoted decimal string, not a number: write "0.002"',
        id="float-money",
    ),
    pytest.param(
        FILE.replace("strategy: priority", "strategy: fastest-ever"),
        "strategy: fastest-ever",
        "unknown strategy 'fastest-ever'",
        id="unknown-strategy",
    ),
    pytest.param(
        FILE.replace("country: DE", "country: Germany"),
        "country: Germany",
        "clients[0].country: 'Germany' is not an ISO 3166-1 alpha-2 country code",
        id="bad-country",
    ),
    pytest.param(
        FILE.replace("{DE: ", "{UK: "),
        "cost_by_country",
        "'UK' is not an ISO 3166-1 alpha-2 country code; did you mean GB?",
        id="bad-country-key",
    ),
    pytest.param(
        FILE.replace("provider: sandbox-b", "provider: nowhere"),
        "provider: nowhere",
        "offerings[1].provider: unknown provider 'nowhere'",
        id="unknown-provider",
    ),
    pytest.param(
        FILE.replace("plan: standard", "plan: gold"),
        "plan: gold",
        "clients[0].plan: unknown plan 'gold'",
        id="unknown-plan",
    ),
    pytest.param(
        FILE.replace(
            "adapter: currency.sandbox\n    base_url: sandbox://backup",
            "adapter: currency.nope\n    base_url: sandbox://backup",
        ),
        "adapter: currency.nope",
        "providers[1]: unknown adapter 'currency.nope'",
        id="unknown-adapter",
    ),
    pytest.param(
        FILE.replace(
            "    charge_failed_calls: true\n",
            "    charge_failed_calls: true\n    rate_limits: {total: 5000/fortnight}\n",
        ),
        "rate_limits:",
        "plans[0].rate_limits[total]: expected calls per window, e.g. 100/minute",
        id="rate-limit-window",
    ),
    pytest.param(
        FILE.replace(
            "    charge_failed_calls: true\n",
            "    charge_failed_calls: true\n    free_calls: {currency.latest_rates: many}\n",
        ),
        "free_calls:",
        "plans[0].free_calls[currency.latest_rates]: expected a whole number of calls",
        id="free-calls-not-a-number",
    ),
    pytest.param(
        FILE.replace("timeout_ms: 800", "timeout_ms: 10"),
        "timeout_ms: 10",
        "providers[0].timeout_ms: Ensure this value is greater than or equal to 50.",
        id="out-of-range",
    ),
    pytest.param(
        FILE.replace("    enabled: false\n", "    enabled: no\n"),
        "enabled: no",
        "providers[1].enabled: expected true or false, got 'no'",
        id="yes-no-is-not-a-boolean",
    ),
    pytest.param(
        FILE.replace("  - slug: sandbox-b\n", "  - slug: sandbox\n"),
        "  - slug: sandbox\n    name: Second",
        "provider 'sandbox' is already defined on line 2",
        id="duplicate-entry",
    ),
    pytest.param(
        FILE.replace("    country: DE\n", "    country: DE\n    country: FR\n"),
        "country: FR",
        "duplicate key 'country'",
        id="duplicate-key",
    ),
    pytest.param(
        FILE.replace('credit_limit: "100.00"', 'credit_limit: "100.00001"'),
        "credit_limit",
        "Ensure that there are no more than 4 decimal places.",
        id="too-precise-money",
    ),
]


@pytest.mark.parametrize(("text", "line_with", "message"), INVALID)
def test_an_invalid_file_changes_nothing_and_names_the_line(tmp_path, text, line_with, message):
    # given a database that differs from the file
    factories.PlanFactory(slug="basic")
    before = state()

    # when
    error = apply_error(tmp_path, text)

    # then
    line = text[: text.index(line_with)].count("\n") + 1
    assert f"{tmp_path / 'config.yaml'}:{line}: " in error
    assert message in error
    assert "nothing was applied" in error
    assert state() == before
    assert not Client.objects.filter(slug="acme").exists()


def test_every_error_of_a_file_is_listed(tmp_path):
    # given
    text = FILE.replace("country: DE", "country: de").replace('cost: "0.0010"', "cost: 0.001")

    # when
    error = apply_error(tmp_path, text)

    # then
    assert f":{line_of(text, 'cost: 0.001')}: offerings[0].cost: money must be" in error
    assert f":{line_of(text, 'country: de')}: clients[0].country: 'de' is not an ISO" in error
    assert "write it in capitals: DE" in error
    assert "2 errors; nothing was applied." in error


def test_cache_ttl_is_refused_for_a_method_that_is_not_cacheable(tmp_path, test_registry):
    # given
    text = "routing:\n  toy.ping: {strategy: priority, cache_ttl_s: 30}\n"

    # when
    error = apply_error(tmp_path, text)

    # then
    assert ":2: routing[toy.ping].cache_ttl_s: toy.ping is not cacheable" in error


def test_an_adapter_must_implement_the_offered_method(tmp_path, test_registry):
    # given
    text = (
        "providers:\n  - {slug: vault, adapter: currency.vault}\n"
        'offerings:\n  - {provider: vault, method: currency.convert, cost: "0.0010"}\n'
    )

    # when
    error = apply_error(tmp_path, text)

    # then
    assert ":4: offerings[0].method: adapter currency.vault (provider 'vault') does not " in error


def test_credential_keys_must_be_among_the_adapters_fields(tmp_path, test_registry):
    # given
    text = (
        'providers:\n  - slug: vault\n    adapter: currency.vault\n    credentials: {token: "x"}\n'
    )

    # when
    error = apply_error(tmp_path, text)

    # then
    assert (
        ":4: providers[0].credentials: unknown credential 'token': currency.vault takes " in error
    )


def test_credentials_are_stored_encrypted(tmp_path, test_registry):
    # when
    apply(tmp_path, VAULT)

    # then the adapter sees the secret, the database column holds only ciphertext
    assert Provider.objects.get(slug="vault").credentials == {"access_key": SECRET}
    with connection.cursor() as cursor:
        cursor.execute("SELECT credentials FROM catalog_provider WHERE slug = %s", ["vault"])
        (raw,) = cursor.fetchone()
    assert raw
    assert SECRET not in raw
    assert "access_key" not in raw


def test_an_entry_without_credentials_keeps_the_stored_ones(tmp_path, test_registry):
    # given
    apply(tmp_path, VAULT)
    without = VAULT.replace(f'    credentials: {{access_key: "{SECRET}"}}\n', "")

    # when
    output = apply(tmp_path, without)

    # then
    assert Provider.objects.get(slug="vault").credentials == {"access_key": SECRET}
    assert "providers: 0 created, 0 updated, 1 unchanged" in output


def test_enabling_a_provider_without_its_credentials_warns(tmp_path, test_registry):
    # given
    text = "providers:\n  - {slug: vault, adapter: currency.vault, enabled: true}\n"
    path = tmp_path / "vault.yaml"
    path.write_text(text)
    err = StringIO()

    # when
    call_command("gateway_apply", str(path), stdout=StringIO(), stderr=err)

    # then
    assert "providers[0]: enabled without credentials access_key" in err.getvalue()


def test_dump_without_secrets_shows_which_are_set_but_not_their_values(tmp_path, test_registry):
    # given
    apply(tmp_path, VAULT)

    # when
    text = dump()

    # then
    assert SECRET not in text
    assert "# credentials set: access_key (values only with --with-secrets)" in text
    assert SECRET in dump("--with-secrets")


@pytest.mark.parametrize("secrets", [[], ["--with-secrets"]], ids=["plain", "with-secrets"])
def test_applying_a_dump_changes_nothing(tmp_path, test_registry, secrets):
    # given a database with every kind of entry, credentials and a suspended client
    apply(tmp_path, FILE)
    apply(tmp_path, VAULT, name="vault.yaml")
    factories.ClientFactory(slug="odd", name='Odd: "quoted" #1', is_active=False)
    first = dump(*secrets)
    before = state()

    # when
    output = apply(tmp_path, first, name="dump.yaml")

    # then
    assert state() == before
    for kind in ("providers", "offerings", "routing", "plans", "clients"):
        assert f"{kind}: 0 created, 0 updated" in output
    assert dump(*secrets) == first
    assert Provider.objects.get(slug="vault").credentials == {"access_key": SECRET}
    assert Client.objects.get(slug="odd").is_active is False


def test_dump_writes_money_as_quoted_decimal_strings(tmp_path):
    # given
    apply(tmp_path, FILE)

    # when
    text = dump()

    # then
    assert 'cost_by_country: {DE: "0.0008", "NO": "0.0009"}' in text
    assert '    currency.convert: "0.0050"' in text
    assert 'credit_limit: "100.0000"' in text
    assert "currency.latest_rates: {strategy: priority, failover: false, max_attempts: 2, " in text


def test_a_dry_run_reports_but_saves_nothing(tmp_path):
    # given
    before = state()

    # when
    output = apply(tmp_path, FILE, "--dry-run")

    # then
    assert "clients: 1 created" in output
    assert "dry run: nothing was saved" in output
    assert state() == before


def test_the_demo_file_applies_and_gateway_demo_prints_a_working_key(api):
    # The demo lists every currency adapter; they live in apps/integrations/currency.
    # when
    out = StringIO()
    call_command("gateway_demo", stdout=out, stderr=StringIO())

    # then
    output = out.getvalue()
    assert Provider.objects.get(slug="sandbox").enabled is True
    for slug in ("fixer", "currencylayer", "openexchangerates", "ecb"):
        provider = Provider.objects.get(slug=slug)
        assert (provider.enabled, provider.credentials) == (False, {})
    assert Price.objects.get(plan__slug="standard", method__slug="convert").price == Decimal(
        "0.0050"
    )
    demo = Client.objects.get(slug="demo")
    assert (demo.name, demo.country, demo.credit_limit) == ("Demo Ltd", "DE", Decimal("100"))
    key = output.split("(shown only once): ")[1].split()[0]
    assert demo.api_keys.filter(pk=ClientApiKey.objects.get_from_key(key).pk).exists()
    assert f'-H "Authorization: Api-Key {key}"' in output
    assert "Admin login: admin / " in output

    # and the printed call works offline, served by the sandbox at the plan's price
    response = api.post(
        "/api/v1/services/currency/latest_rates/",
        '{"base": "EUR", "symbols": ["USD", "GBP"]}',
        content_type="application/json",
        headers={"Authorization": f"Api-Key {key}"},
    )
    assert response.status_code == 200
    assert (response["X-Provider"], response["X-Price"]) == ("sandbox", "0.0100")
