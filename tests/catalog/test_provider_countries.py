"""Ops narrowing the countries a provider serves: admin, gateway_apply/dump, the snapshot."""

from pathlib import Path

import pytest
from django.test import Client as HttpClient

from apps.catalog.countries import served_countries
from apps.catalog.models import Provider
from apps.declarative.services import config_dump
from apps.gateway.snapshot import current_snapshot_sync
from apps.integrations.tax.providers.taxjar import TAXJAR_COUNTRIES
from tests.declarative.config_files import apply, apply_error, line_of, state
from tests.support.admin import change_url, changelist_url, provider_form_data

pytestmark = pytest.mark.django_db

TAXJAR_US = """\
providers:
  - slug: taxjar
    adapter: tax.taxjar
    base_url: https://api.taxjar.com
    enabled: true
    countries: [US]
"""


def taxjar_routes() -> set[frozenset[str] | None]:
    """The countries the current snapshot routes TaxJar's offerings by."""
    return {
        offering.countries
        for route in current_snapshot_sync().methods.values()
        for offering in route.offerings
        if offering.provider.slug == "taxjar"
    }


def enable(slug: str) -> Provider:
    provider = Provider.objects.get(slug=slug)
    provider.enabled = True
    provider.save()
    return provider


# --- admin ----------------------------------------------------------------------------------


def test_the_admin_narrows_a_provider_and_the_list_shows_it(admin_client: HttpClient) -> None:
    # given
    taxjar = Provider.objects.get(slug="taxjar")
    page = admin_client.get(change_url(taxjar))

    # when
    response = admin_client.post(change_url(taxjar), provider_form_data(taxjar, countries="us, ca"))

    # then
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert Provider.objects.get(slug="taxjar").countries == ["CA", "US"]
    help_text = page.context["adminform"].form.fields["countries"].help_text
    assert "tax.taxjar serves AT, AU, BE" in help_text
    listing = admin_client.get(changelist_url(Provider)).content.decode()
    assert "CA, US" in listing
    assert "all its adapter serves" in listing  # AvaTax, not narrowed


@pytest.mark.parametrize(
    ("typed", "named"),
    [
        ("US, JP", "tax.taxjar does not serve JP"),
        ("UK", "'UK' is not an ISO 3166-1 alpha-2 country code; did you mean GB?"),
    ],
)
def test_the_admin_refuses_a_country_the_adapter_does_not_serve(
    admin_client: HttpClient, typed: str, named: str
) -> None:
    # given
    taxjar = Provider.objects.get(slug="taxjar")

    # when
    response = admin_client.post(change_url(taxjar), provider_form_data(taxjar, countries=typed))

    # then
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors["countries"]
    assert any(named in error for error in errors), errors
    assert Provider.objects.get(slug="taxjar").countries == []


def test_the_snapshot_picks_up_an_admin_change_at_once(admin_client: HttpClient) -> None:
    # given
    taxjar = enable("taxjar")
    assert taxjar_routes() == {TAXJAR_COUNTRIES}

    # when
    admin_client.post(change_url(taxjar), provider_form_data(taxjar, countries="CA"))

    # then
    assert taxjar_routes() == {frozenset({"CA"})}


# --- gateway_apply / gateway_dump -----------------------------------------------------------


def test_apply_narrows_idempotently_and_leaving_the_key_out_restores_the_adapters(
    tmp_path: Path,
) -> None:
    # given
    apply(tmp_path, TAXJAR_US)
    assert Provider.objects.get(slug="taxjar").countries == ["US"]
    assert taxjar_routes() == {frozenset({"US"})}

    # when
    second = apply(tmp_path, TAXJAR_US)
    widened = apply(tmp_path, TAXJAR_US.replace("    countries: [US]\n", ""))

    # then
    assert "providers: 0 created, 0 updated, 1 unchanged" in second
    assert "providers: 0 created, 1 updated" in widened
    assert Provider.objects.get(slug="taxjar").countries == []
    assert taxjar_routes() == {TAXJAR_COUNTRIES}


def test_the_dump_writes_the_countries_and_applies_as_a_no_op(tmp_path: Path) -> None:
    # given: Norway too, the code YAML 1.1 would read as false
    apply(
        tmp_path,
        "providers:\n  - {slug: sandbox, adapter: currency.sandbox, countries: [NO, DE]}\n",
    )
    apply(tmp_path, TAXJAR_US, name="taxjar.yaml")
    dumped = config_dump()
    before = state()

    # when
    output = apply(tmp_path, dumped, name="dump.yaml")

    # then
    assert 'countries: [DE, "NO"]' in dumped
    assert "countries: [US]" in dumped
    assert "providers: 0 created, 0 updated" in output
    assert state() == before


@pytest.mark.parametrize(
    ("countries", "message"),
    [
        ("[US, JP, FR]", "providers[1].countries: tax.taxjar does not serve JP: a provider's"),
        ("[US, UK]", "providers[1].countries[1]: 'UK' is not an ISO 3166-1 alpha-2 country code"),
        ("[us]", "providers[1].countries[0]: 'us' is not an ISO 3166-1 alpha-2 country code; "),
        ("US", "providers[1].countries: expected a list like [US, CA], got 'US'"),
    ],
)
def test_apply_refuses_a_wrong_country_and_changes_nothing(
    tmp_path: Path, countries: str, message: str
) -> None:
    # given: a valid first entry, which must not be applied either
    first = "  - {slug: sandbox-new, adapter: currency.sandbox}\n"
    text = TAXJAR_US.replace("providers:\n", "providers:\n" + first).replace("[US]", countries)

    # when
    error = apply_error(tmp_path, text)

    # then
    assert f"config.yaml:{line_of(text, 'countries:')}: {message}" in error
    assert not Provider.objects.filter(slug="sandbox-new").exists()
    assert Provider.objects.get(slug="taxjar").countries == []


# --- the rule itself ------------------------------------------------------------------------


def test_an_override_never_routes_beyond_what_the_adapter_still_declares() -> None:
    assert served_countries([], frozenset({"US", "CA"})) == {"US", "CA"}
    assert served_countries(["CA"], frozenset({"US", "CA"})) == {"CA"}
    # the adapter dropped GB in a later release: the stored override cannot bring it back
    assert served_countries(["GB", "US"], frozenset({"US", "CA"})) == {"US"}
    assert served_countries(["DE"], None) == {"DE"}
    assert served_countries([], None) is None
