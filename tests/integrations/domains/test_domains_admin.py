"""Ops find a purchase by domain or order id, never see a sub-account's password, and can
send a purchase whose DNS records failed to its registrar again."""

from decimal import Decimal

import pytest

from apps.integrations.domains.models import (
    Domain,
    Purchase,
    RegistrantAccount,
    RegistrationIntention,
)
from apps.integrations.domains.tasks import domains_initial_dns
from tests.integrations.domains.conftest import SHOPPER

pytestmark = pytest.mark.django_db


@pytest.fixture
def failed_purchase(buyer):
    account = RegistrantAccount.objects.create(
        client=buyer.client, provider="godaddy", account=SHOPPER
    )
    intention = RegistrationIntention.objects.create(
        client=buyer.client,
        domain="lovelace-engines.com",
        provider="godaddy",
        price=Decimal("11.99"),
        currency="USD",
        schema={},
        finished=True,
    )
    purchase = Purchase.objects.create(
        intention=intention,
        account=account,
        request_id="req-42",
        order_id="1480923719",
        total=Decimal("11.99"),
        currency="USD",
        dns_records=[{"type": "A", "name": "@", "data": "192.0.2.1"}],
        dns_error="gave up after 6 tries: GoDaddy has no zone yet",
    )
    Domain.objects.create(
        client=buyer.client, name=intention.domain, provider="godaddy", purchase=purchase
    )
    return purchase


def test_ops_find_the_purchase_and_never_see_the_password(admin_client, failed_purchase):
    by_domain = admin_client.get("/admin/domains/purchase/", {"q": "lovelace"})
    by_order = admin_client.get("/admin/domains/purchase/", {"q": "1480923719"})
    accounts = admin_client.get("/admin/domains/registrantaccount/")
    account = admin_client.get(
        f"/admin/domains/registrantaccount/{failed_purchase.account.pk}/change/"
    )
    pages = [
        admin_client.get(f"/admin/domains/{model}/")
        for model in ("registrationintention", "domain")
    ]

    assert b"gave up after 6 tries" in by_domain.content
    assert b"lovelace-engines.com" in by_order.content
    assert b"shopper_id=583010277" in accounts.content
    for page in (accounts, account):
        assert page.status_code == 200 and SHOPPER["password"].encode() not in page.content
    assert all(page.status_code == 200 for page in pages)
    assert admin_client.get("/admin/domains/purchase/add/").status_code == 403


def test_ops_send_the_dns_records_again(
    admin_client, failed_purchase, monkeypatch, django_capture_on_commit_callbacks
):
    sent: list[int] = []
    monkeypatch.setattr(
        domains_initial_dns, "apply_async", lambda args, kwargs, **options: sent.extend(args)
    )

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            "/admin/domains/purchase/",
            {"action": "set_dns_again", "_selected_action": [failed_purchase.pk]},
        )

    assert response.status_code == 302
    assert sent == [failed_purchase.pk]
    failed_purchase.refresh_from_db()
    assert failed_purchase.dns_error == ""
