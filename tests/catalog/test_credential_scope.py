"""Ops write credentials but never read them: stored secrets never follow a provider to
another host or adapter, whichever path the change takes (admin, history revert,
gateway_apply, code)."""

from io import StringIO
from pathlib import Path

import pytest
from django.contrib import messages
from django.core.management import call_command
from django.db import connection
from django.test import Client as HttpClient
from django.urls import reverse

from apps.catalog.credential_scope import CREDENTIALS_DROPPED_REASON, credentials_scope
from apps.catalog.models import Provider
from apps.catalog.registry import registry
from apps.core.fields import UnreadableSecrets
from tests import factories
from tests.declarative.config_files import SECRET as VAULT_SECRET
from tests.declarative.config_files import VAULT, ToyService, VaultRates, apply, dump
from tests.factories import staff_user
from tests.support.adapters import VendorRates
from tests.support.admin import change_url, provider_form_data, unreadable_ciphertext

pytestmark = pytest.mark.django_db

ATTACKER_URL = "https://collector.attacker.example/api"
SECRET = "s3cr3t-access-key-value"


@pytest.fixture
def vendor(monkeypatch: pytest.MonkeyPatch) -> Provider:
    """A provider whose adapter takes two secrets, at https://vendor.test/api."""
    monkeypatch.setitem(registry.adapters, VendorRates.key, VendorRates)
    return factories.ProviderFactory(
        slug="vendor", adapter=VendorRates.key, base_url="https://vendor.test/api"
    )


@pytest.fixture
def vault_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(registry.services, ToyService.slug, ToyService)
    monkeypatch.setitem(registry.adapters, VaultRates.key, VaultRates)


@pytest.fixture
def ops(api: HttpClient) -> HttpClient:
    """Staff in the ops group: may change providers, is no superuser."""
    api.force_login(staff_user("olivia", "ops"))
    return api


def store(provider: Provider, **credentials: str) -> None:
    provider.credentials = credentials
    provider.save()


def stored(provider: Provider) -> dict[str, str]:
    return dict(Provider.objects.get(pk=provider.pk).credentials)


def warnings_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"] if m.level == messages.WARNING]


# --- the admin ------------------------------------------------------------------------------


def test_admin_pointing_base_url_at_another_host_clears_the_stored_credentials(
    admin_client: HttpClient, vendor: Provider
) -> None:
    # given secrets entered for vendor.test (admin_client is a superuser: no exception)
    store(vendor, access_key=SECRET, secret_key="other-secret")

    # when ops point the provider at a host they control
    response = admin_client.post(
        change_url(vendor), provider_form_data(vendor, base_url=ATTACKER_URL), follow=True
    )

    # then the host changed, the secrets did not go with it, and the admin says so
    assert response.status_code == 200
    vendor.refresh_from_db()
    assert vendor.base_url == ATTACKER_URL
    assert vendor.credentials == {}
    (warning,) = warnings_of(response)
    assert "stored credentials were cleared" in warning
    assert SECRET not in response.content.decode()


def test_admin_changing_only_the_path_keeps_the_credentials(
    admin_client: HttpClient, vendor: Provider
) -> None:
    # given
    store(vendor, access_key=SECRET, secret_key="other-secret")

    # when
    response = admin_client.post(
        change_url(vendor),
        provider_form_data(vendor, base_url="https://vendor.test/api/v2"),
        follow=True,
    )

    # then
    assert response.status_code == 200
    assert stored(vendor) == {"access_key": SECRET, "secret_key": "other-secret"}
    assert warnings_of(response) == []


def test_admin_new_host_keeps_only_the_credentials_typed_with_it(
    admin_client: HttpClient, vendor: Provider
) -> None:
    # given two stored secrets
    store(vendor, access_key=SECRET, secret_key="other-secret")

    # when ops move the host and type one credential (leaving the other "kept")
    response = admin_client.post(
        change_url(vendor),
        provider_form_data(vendor, base_url=ATTACKER_URL, credential__access_key="typed-now"),
        follow=True,
    )

    # then the untyped stored secret does not reach the new host
    assert response.status_code == 200
    assert stored(vendor) == {"access_key": "typed-now"}
    (warning,) = warnings_of(response)
    assert "Only what this form entered is stored (access_key)" in warning


def test_admin_changing_the_adapter_clears_the_stored_credentials(
    admin_client: HttpClient, vendor: Provider
) -> None:
    # given
    store(vendor, access_key=SECRET, secret_key="other-secret")

    # when the same host is kept but another adapter (another way of sending them) chosen
    response = admin_client.post(
        change_url(vendor), provider_form_data(vendor, adapter="currency.sandbox")
    )

    # then
    assert response.status_code == 302
    assert stored(vendor) == {}


def test_the_history_records_the_clearing_and_shows_no_secret(
    admin_client: HttpClient, vendor: Provider
) -> None:
    # given
    store(vendor, access_key=SECRET, secret_key="other-secret")
    admin_client.post(change_url(vendor), provider_form_data(vendor, base_url=ATTACKER_URL))

    # when
    page = admin_client.get(reverse("admin:catalog_provider_history", args=[vendor.pk]))
    versions = vendor.history.order_by("-history_id")
    version_page = admin_client.get(
        reverse("admin:catalog_provider_simple_history", args=[vendor.pk, versions[1].pk])
    )

    # then
    latest = versions.first()
    assert (latest.base_url, latest.history_change_reason) == (
        ATTACKER_URL,
        CREDENTIALS_DROPPED_REASON,
    )
    html = page.content.decode()
    assert CREDENTIALS_DROPPED_REASON in html
    for content in (html, version_page.content.decode()):
        assert SECRET not in content
        assert "other-secret" not in content


def test_reverting_to_an_old_host_through_the_history_clears_the_credentials(
    ops: HttpClient, vendor: Provider
) -> None:
    # given the provider once pointed at another host, and now holds secrets for its own
    vendor.base_url = ATTACKER_URL
    vendor.save()
    old_version = vendor.history.latest("history_id")
    vendor.base_url = "https://vendor.test/api"
    vendor.save()
    store(vendor, access_key=SECRET, secret_key="other-secret")

    # when ops revert to the old version from the history page
    response = ops.post(
        reverse("admin:catalog_provider_simple_history", args=[vendor.pk, old_version.pk]),
        provider_form_data(old_version.instance),
    )

    # then the host is reverted, the secrets are not carried to it
    assert response.status_code == 302, response.content
    vendor.refresh_from_db()
    assert (vendor.base_url, vendor.credentials) == (ATTACKER_URL, {})


# --- code and the model -----------------------------------------------------------------------


def test_a_plain_save_to_another_host_drops_the_stored_credentials(vendor: Provider) -> None:
    # given
    store(vendor, access_key=SECRET, secret_key="other-secret")

    # when
    vendor.base_url = "http://vendor.test:8080/api"
    vendor.save(update_fields=["base_url"])

    # then
    assert stored(vendor) == {}


def test_credentials_assigned_with_the_move_are_kept(vendor: Provider) -> None:
    # given
    store(vendor, access_key=SECRET, secret_key="other-secret")
    provider = Provider.objects.get(pk=vendor.pk)

    # when code moves the host and assigns the credentials for it
    provider.base_url = ATTACKER_URL
    provider.credentials = {"access_key": "new-for-new-host", "secret_key": "other-secret"}
    provider.save()

    # then they were supplied with the move, not carried: kept as given
    assert stored(vendor) == {"access_key": "new-for-new-host", "secret_key": "other-secret"}


def test_secrets_edited_in_place_carry_only_the_new_value(vendor: Provider) -> None:
    # given
    store(vendor, access_key=SECRET, secret_key="other-secret")
    provider = Provider.objects.get(pk=vendor.pk)

    # when code edits the secrets it read and moves the host
    provider.credentials["access_key"] = "new-for-new-host"
    provider.base_url = ATTACKER_URL
    provider.save()

    # then the value that was stored stays behind
    assert stored(vendor) == {"access_key": "new-for-new-host"}


def test_a_refreshed_row_moved_drops_its_credentials(vendor: Provider) -> None:
    # given
    store(vendor, access_key=SECRET, secret_key="other-secret")
    vendor.refresh_from_db()

    # when
    vendor.base_url = ATTACKER_URL
    vendor.save()

    # then
    assert stored(vendor) == {}


def test_unreadable_credentials_do_not_follow_a_move(vendor: Provider) -> None:
    # given secrets no configured key decrypts (an old key could come back)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE catalog_provider SET credentials = %s WHERE id = %s",
            [unreadable_ciphertext(), vendor.pk],
        )
    provider = Provider.objects.get(pk=vendor.pk)
    assert isinstance(provider.credentials, UnreadableSecrets)

    # when
    provider.base_url = ATTACKER_URL
    provider.save()

    # then
    reloaded = Provider.objects.get(pk=vendor.pk)
    assert not isinstance(reloaded.credentials, UnreadableSecrets)
    assert reloaded.credentials == {}


@pytest.mark.parametrize(
    ("before", "after", "same"),
    [
        ("https://vendor.test/api", "https://vendor.test/v2?x=1", True),
        ("https://vendor.test/api", "https://VENDOR.test/api", True),
        ("https://vendor.test/api", "http://vendor.test/api", False),
        ("https://vendor.test/api", "https://vendor.test:8443/api", False),
        ("https://vendor.test/api", "https://vendor.test.attacker.example/api", False),
        ("https://vendor.test/api", "https://user@attacker.example/api", False),
        ("vendor.test/api", "attacker.example/api", False),
    ],
)
def test_the_scope_is_scheme_host_and_port(before: str, after: str, same: bool) -> None:
    assert (credentials_scope("a", before) == credentials_scope("a", after)) is same


# --- gateway_apply ----------------------------------------------------------------------------

MOVED = VAULT.replace("https://vault.example/api", "https://collector.attacker.example/api")


def without_credentials(text: str) -> str:
    return "".join(line for line in text.splitlines(True) if "credentials:" not in line)


def test_gateway_apply_moving_the_host_without_credentials_clears_them(
    tmp_path: Path, vault_registry: None
) -> None:
    # given
    apply(tmp_path, VAULT)

    # when a file (a dump without secrets, edited) points the provider elsewhere
    path = tmp_path / "moved.yaml"
    path.write_text(without_credentials(MOVED))
    err = StringIO()
    call_command("gateway_apply", str(path), stdout=StringIO(), stderr=err)

    # then
    provider = Provider.objects.get(slug="vault")
    assert provider.base_url == "https://collector.attacker.example/api"
    assert provider.credentials == {}
    assert "base_url host or adapter changed: the stored credentials were cleared" in (
        err.getvalue()
    )
    assert provider.history.latest("history_id").history_change_reason == (
        CREDENTIALS_DROPPED_REASON
    )


def test_gateway_apply_moving_the_host_with_credentials_stores_the_files_ones(
    tmp_path: Path, vault_registry: None
) -> None:
    # given
    apply(tmp_path, VAULT)

    # when the file gives the credentials with the new host (the same values)
    apply(tmp_path, MOVED, name="moved.yaml")
    output = apply(tmp_path, MOVED, name="moved.yaml")

    # then they are stored for the new host, and a second apply changes nothing
    provider = Provider.objects.get(slug="vault")
    assert provider.credentials == {"access_key": VAULT_SECRET}
    assert "providers: 0 created, 0 updated, 1 unchanged" in output


def test_gateway_apply_changing_only_the_path_keeps_the_credentials(
    tmp_path: Path, vault_registry: None
) -> None:
    # given
    apply(tmp_path, VAULT)

    # when
    apply(tmp_path, without_credentials(VAULT.replace("/api", "/api/v2")), name="v2.yaml")

    # then
    assert Provider.objects.get(slug="vault").credentials == {"access_key": VAULT_SECRET}
    assert VAULT_SECRET not in dump()
