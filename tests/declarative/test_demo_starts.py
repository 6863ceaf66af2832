"""make run's gateway_demo: the demo is applied on the first start only, later starts keep
what ops changed and print the same key; `--reset` (make demo-reset) applies it again."""

import json
import stat
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from apps.accounts.models import ClientApiKey
from apps.billing.models import Price
from apps.catalog.models import Offering
from apps.catalog.services import catalog_cache_invalidate, offering_update

pytestmark = pytest.mark.django_db

LATEST_RATES = "/api/v1/services/currency/latest_rates/"


@pytest.fixture
def key_file(settings, tmp_path: Path) -> Path:
    path = tmp_path / ".demo-key"
    settings.GATEWAY_DEMO_KEY_FILE = str(path)
    return path


def start(*args: str) -> str:
    out = StringIO()
    call_command("gateway_demo", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def printed_key(output: str) -> str:
    return output.split("API key for client 'demo': ")[1].split()[0]


def sandbox_rates() -> Offering:
    return Offering.objects.get(provider__slug="sandbox", method__slug="latest_rates")


def standard_rates_price() -> Price:
    return Price.objects.get(
        plan__slug="standard", method__service__slug="currency", method__slug="latest_rates"
    )


def ops_edit() -> None:
    """What ops do in the admin: another priority for the sandbox, a new price."""
    offering = sandbox_rates()
    offering_update(offering=offering, priority=7, weight=offering.weight, enabled=True)
    price = standard_rates_price()
    price.price = Decimal("0.0150")
    price.save(update_fields=["price"])
    catalog_cache_invalidate()


def call(api, key: str):
    return api.post(
        LATEST_RATES,
        json.dumps({"base": "EUR", "symbols": ["USD"]}),
        content_type="application/json",
        headers={"Authorization": f"Api-Key {key}"},
    )


def test_a_second_start_keeps_an_admin_edit_and_prints_the_same_key(api, key_file):
    # given a first start, then an edit in the admin
    first = start()
    key = printed_key(first)
    assert "fixtures/demo.yaml applied (this database's first start;" in first
    assert "Admin login: admin / " in first
    ops_edit()

    # when the gateway starts again
    second = start()

    # then the edit stays, no key was minted, and the first key still works at the new price
    assert "fixtures/demo.yaml was applied on this database's first start" in second
    assert "make demo-reset" in second
    assert (sandbox_rates().priority, standard_rates_price().price) == (7, Decimal("0.0150"))
    assert printed_key(second) == key
    assert ClientApiKey.objects.filter(client__slug="demo").count() == 1
    assert f'-H "Authorization: Api-Key {key}"' in second
    response = call(api, key)
    assert (response.status_code, response["X-Price"]) == (200, "0.0150")
    # and the password is not shown again, but how to set a new one is
    assert "Admin login: admin / " not in second
    assert "manage.py changepassword admin" in second


def test_demo_reset_puts_the_demo_values_back_and_keeps_the_key(api, key_file):
    # given a first start and an edit
    key = printed_key(start())
    ops_edit()

    # when
    output = start("--reset")

    # then
    assert "fixtures/demo.yaml applied again" in output
    assert "the demo key and the admin login are kept" in output
    assert "offerings: 0 created, 1 updated," in output
    assert (sandbox_rates().priority, standard_rates_price().price) == (1, Decimal("0.0100"))
    assert printed_key(output) == key
    response = call(api, key)
    assert (response.status_code, response["X-Price"]) == (200, "0.0100")


def test_the_key_is_kept_readable_by_its_owner_only(key_file):
    # when
    key = printed_key(start())

    # then
    assert key_file.read_text().strip() == key
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert f"(kept in {key_file}, readable by you only;" in start()


def test_a_revoked_or_unknown_kept_key_is_replaced_by_a_new_one(api, key_file):
    # given the kept key was revoked in the admin
    old = printed_key(start())
    ClientApiKey.objects.filter(client__slug="demo").update(revoked=True)

    # when
    output = start()

    # then a new key is printed and kept, and it works
    new = printed_key(output)
    assert new != old
    assert key_file.read_text().strip() == new
    assert call(api, new).status_code == 200

    # and a kept key from another database (a new db.sqlite3) is replaced too
    key_file.write_text("AbCdEfGh.not-a-key-of-this-database\n")
    assert printed_key(start()) not in (new, "AbCdEfGh.not-a-key-of-this-database")


def test_an_expired_kept_key_is_replaced_by_a_new_one(api, key_file):
    # given the kept key expired (ops set an expiry in the admin)
    from datetime import timedelta

    from django.utils import timezone

    old = printed_key(start())
    ClientApiKey.objects.filter(client__slug="demo").update(
        expiry_date=timezone.now() - timedelta(minutes=1)
    )

    # when
    new = printed_key(start())

    # then the printed key is a new one, and it works
    assert new != old
    assert call(api, new).status_code == 200


def test_without_a_key_file_each_start_shows_a_new_key_once(settings):
    settings.GATEWAY_DEMO_KEY_FILE = ""

    first, second = start(), start()

    keys = [out.split("(shown only once): ")[1].split()[0] for out in (first, second)]
    assert keys[0] != keys[1]
    assert ClientApiKey.objects.filter(client__slug="demo").count() == 2
