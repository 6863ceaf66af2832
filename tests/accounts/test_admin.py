"""The client admin: pages render, keys are shown once, suspension and revocation work."""

import re
from decimal import Decimal

import pytest
from django.contrib import admin
from django.test import Client as HttpClient
from django.urls import reverse
from rest_framework_api_key.models import APIKey

from apps.accounts import admin as accounts_admin
from apps.accounts.models import Client, ClientApiKey
from apps.billing.models import ClientPrice, ClientRateLimit
from apps.billing.services import credit_hold
from apps.ledger.services import ledger_topup
from tests import factories
from tests.support.admin import admin_form_data

pytestmark = pytest.mark.django_db


def test_client_pages_render(admin_client: HttpClient) -> None:
    # given
    client = factories.ClientFactory()
    factories.api_key_for(client, name="production")

    # when
    listing = admin_client.get(reverse("admin:accounts_client_changelist"))
    detail = admin_client.get(reverse("admin:accounts_client_change", args=[client.pk]))
    add = admin_client.get(reverse("admin:accounts_client_add"))

    # then
    assert (listing.status_code, detail.status_code, add.status_code) == (200, 200, 200)
    assert "production" in detail.content.decode()


def test_api_key_pages_render(admin_client: HttpClient) -> None:
    # given
    client = factories.ClientFactory()
    factories.api_key_for(client)
    key = ClientApiKey.objects.get(client=client)

    # when
    listing = admin_client.get(reverse("admin:accounts_clientapikey_changelist"))
    detail = admin_client.get(reverse("admin:accounts_clientapikey_change", args=[key.pk]))
    add = admin_client.get(reverse("admin:accounts_clientapikey_add"))

    # then
    assert (listing.status_code, detail.status_code, add.status_code) == (200, 200, 200)
    assert client.slug in listing.content.decode()


def test_client_search_by_slug(admin_client: HttpClient) -> None:
    # given
    factories.ClientFactory(slug="acme-corp", name="Acme")
    factories.ClientFactory(slug="globex", name="Globex")

    # when
    response = admin_client.get(reverse("admin:accounts_client_changelist") + "?q=acme")

    # then
    assert [c.slug for c in response.context["cl"].result_list] == ["acme-corp"]


def test_creating_a_key_shows_it_once(admin_client: HttpClient) -> None:
    # given
    client = factories.ClientFactory()

    # when
    response = admin_client.post(
        reverse("admin:accounts_clientapikey_add"),
        {"client": client.pk, "name": "backend", "expiry_date_0": "", "expiry_date_1": ""},
        follow=True,
    )
    again = admin_client.get(response.request["PATH_INFO"])

    # then
    key = ClientApiKey.objects.get(client=client, name="backend")
    shown = re.search(r"is: (\S+)\. Please store it", response.content.decode())
    assert shown is not None
    assert key.is_valid(shown[1])
    assert shown[1] not in again.content.decode()


@pytest.fixture
def invalidations(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Records the principals cache drops of bulk actions (update() sends no post_save)."""
    calls: list[str] = []
    monkeypatch.setattr(
        accounts_admin, "principals_cache_invalidate", lambda: calls.append("principals")
    )
    return calls


def test_revoke_action_revokes_keys_and_drops_cached_principals(
    admin_client: HttpClient, invalidations: list[str]
) -> None:
    # given
    client = factories.ClientFactory()
    factories.api_key_for(client, name="a")
    factories.api_key_for(client, name="b")
    keys = list(ClientApiKey.objects.filter(client=client))

    # when
    admin_client.post(
        reverse("admin:accounts_clientapikey_changelist"),
        {"action": "revoke_keys", "_selected_action": [k.pk for k in keys]},
    )

    # then
    assert set(ClientApiKey.objects.filter(client=client).values_list("revoked", flat=True)) == {
        True
    }
    assert invalidations == ["principals"]


def test_suspend_and_reactivate_actions(admin_client: HttpClient, invalidations: list[str]) -> None:
    # given
    client = factories.ClientFactory()
    url = reverse("admin:accounts_client_changelist")

    # when
    admin_client.post(url, {"action": "suspend_clients", "_selected_action": [client.pk]})
    suspended = Client.objects.get(pk=client.pk).is_active
    admin_client.post(url, {"action": "reactivate_clients", "_selected_action": [client.pk]})

    # then
    assert suspended is False
    assert Client.objects.get(pk=client.pk).is_active is True
    assert invalidations == ["principals", "principals"]


def test_saving_a_client_never_writes_back_a_stale_balance(admin_client: HttpClient) -> None:
    # given: the form was loaded, then a top-up was booked and a call took a hold
    client = factories.ClientFactory(credit_limit=Decimal("10.0000"))
    url = reverse("admin:accounts_client_change", args=[client.pk])
    data = admin_form_data(admin_client.get(url))
    data["credit_limit"] = "20.0000"
    ledger_topup(client=client, amount=Decimal("5.0000"), reason="wire", staff_user=None)
    assert credit_hold(
        client_id=client.pk, amount=Decimal("1.5000"), request_id="r1", method="currency.convert"
    )

    # when
    response = admin_client.post(url, data)

    # then
    assert response.status_code == 302
    client.refresh_from_db()
    assert client.credit_limit == Decimal("20.0000")
    assert (client.balance, client.held) == (Decimal("5.0000"), Decimal("1.5000"))


def test_balance_is_read_only(admin_client: HttpClient) -> None:
    # given
    client = factories.ClientFactory()
    url = reverse("admin:accounts_client_change", args=[client.pk])
    data = admin_form_data(admin_client.get(url))
    data["balance"] = "1000000"

    # when
    admin_client.post(url, data)

    # then
    client.refresh_from_db()
    assert client.balance == Decimal("0")


def test_library_api_key_model_is_not_offered() -> None:
    # then: only ClientApiKey authenticates callers here
    assert not admin.site.is_registered(APIKey)
    assert admin.site.is_registered(ClientApiKey)


def test_api_key_change_form_saves_as_rendered(admin_client: HttpClient) -> None:
    # given
    client = factories.ClientFactory()
    factories.api_key_for(client, name="old name")
    key = ClientApiKey.objects.get(client=client)
    url = reverse("admin:accounts_clientapikey_change", args=[key.pk])
    data = admin_form_data(admin_client.get(url))
    data["name"] = "new name"

    # when
    response = admin_client.post(url, data)

    # then
    assert response.status_code == 302
    key.refresh_from_db()
    assert (key.name, key.client_id) == ("new name", client.pk)


def test_negotiated_prices_and_limit_overrides_are_edited_on_the_client_page(
    admin_client: HttpClient,
) -> None:
    # given
    client = factories.ClientFactory()
    url = reverse("admin:accounts_client_change", args=[client.pk])
    data = admin_form_data(admin_client.get(url))
    data.update(
        {
            "client_prices-0-method": factories.method("currency.convert").pk,
            "client_prices-0-price": "0.0030",
            "client_prices-TOTAL_FORMS": "1",
            "rate_limits-0-scope": "total",
            "rate_limits-0-limit": "20000",
            "rate_limits-0-window": "hour",
            "rate_limits-TOTAL_FORMS": "1",
        }
    )

    # when
    response = admin_client.post(url, data)

    # then
    assert response.status_code == 302
    deal = ClientPrice.objects.get(client=client)
    assert (deal.method.key, deal.price) == ("currency.convert", Decimal("0.0030"))
    override = ClientRateLimit.objects.get(client=client)
    assert (override.scope, override.limit, override.window) == ("total", 20000, "hour")


def test_the_client_page_shows_what_is_held_and_available(admin_client: HttpClient) -> None:
    # given a client with 2.00 of credit and a call in flight
    client = factories.ClientFactory(credit_limit=Decimal("2.0000"))
    credit_hold(
        client_id=client.pk, amount=Decimal("0.5000"), request_id="r1", method="currency.convert"
    )

    # when
    page = admin_client.get(reverse("admin:accounts_client_change", args=[client.pk]))

    # then
    html = page.content.decode()
    assert "0.5000" in html
    assert "1.5000 (balance - held + credit limit)" in html


def test_rotating_a_webhook_secret_shows_it_once_and_callbacks_use_it(admin_client):
    from apps.realtime.services import client_webhook_secret

    # given a client whose callbacks are signed with a secret nobody has seen
    client = factories.ClientFactory(slug="hooked")
    first = client_webhook_secret(client_id=client.pk)

    # when ops rotate it in the admin
    response = admin_client.post(
        reverse("admin:accounts_client_changelist"),
        {"action": "rotate_webhook_secret", "_selected_action": [client.pk]},
        follow=True,
    )

    # then the new secret is shown in the message, and it is what callbacks are signed with
    shown = [m.message for m in response.context["messages"]]
    secret = client_webhook_secret(client_id=client.pk)
    assert secret != first
    assert any(secret in message for message in shown)
    page = admin_client.get(reverse("admin:accounts_client_change", args=[client.pk]))
    assert secret not in page.content.decode()
