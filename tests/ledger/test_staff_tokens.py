"""Finance staff's ledger API tokens: printed once, stored as a digest, expiring."""

import importlib
from datetime import timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client as HttpClient
from django.utils import timezone
from knox.models import AuthToken

from tests.factories import staff_user

pytestmark = pytest.mark.django_db

LEDGER = "/api/v1/ledger/"


def create_token(username: str, *args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("create_staff_token", username, *args, stdout=out, stderr=err)
    return out.getvalue().strip(), err.getvalue()


def test_a_finance_user_gets_a_token_that_reads_the_ledger():
    # given a finance staff user
    staff_user("fiona", "finance")

    # when ops create a token for her
    token, notice = create_token("fiona")

    # then the printed token reads the ledger with the usual header
    response = HttpClient().get(LEDGER, HTTP_AUTHORIZATION=f"Token {token}")
    assert response.status_code == 200
    assert "shown only this once" in notice


def test_only_a_digest_of_the_token_is_stored():
    # given a token made for a finance user
    staff_user("fiona", "finance")
    token, _ = create_token("fiona")

    # when the database row is read
    stored = AuthToken.objects.get()

    # then no column holds the token itself
    row = [str(value) for value in AuthToken.objects.values_list().get()]
    assert token not in row
    assert len(stored.digest) == 128  # SHA-512, hex
    assert token.startswith(stored.token_key)  # the lookup prefix, useless on its own


def test_a_token_expires_after_its_days():
    # given a token valid for 7 days
    staff_user("fiona", "finance")
    token, _ = create_token("fiona", "--days", "7")
    assert AuthToken.objects.get().expiry == pytest.approx(
        timezone.now() + timedelta(days=7), abs=timedelta(minutes=1)
    )

    # when it is used 8 days later
    with time_machine.travel(timezone.now() + timedelta(days=8), tick=False):
        response = HttpClient().get(LEDGER, HTTP_AUTHORIZATION=f"Token {token}")

    # then it is refused as a problem document
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"


def test_by_default_a_token_lives_for_the_configured_days(settings):
    staff_user("fiona", "finance")

    create_token("fiona")

    expected = timezone.now() + timedelta(days=settings.GATEWAY_STAFF_TOKEN_TTL_DAYS)
    assert AuthToken.objects.get().expiry == pytest.approx(expected, abs=timedelta(minutes=1))


@pytest.mark.parametrize("groups", [(), ("ops",)])
def test_staff_who_may_not_read_the_ledger_get_no_token(groups):
    # given a staff user outside the finance group
    staff_user("olga", *groups)

    # when a token is asked for her, then none is made
    with pytest.raises(CommandError, match=r"ledger\.view_ledgerentry"):
        create_token("olga")
    assert not AuthToken.objects.exists()


def test_the_old_plaintext_token_table_is_gone_after_migrate():
    # given the migrated database (DRF authtoken kept tokens in plaintext in authtoken_token)
    tables = connection.introspection.table_names()

    # then no table of plaintext tokens is left, and knox's digests are there instead
    assert "authtoken_token" not in tables
    assert AuthToken._meta.db_table in tables


def test_the_migration_drops_an_existing_plaintext_token_table():
    # given a database upgraded from DRF authtoken, with a plaintext token in it
    migration = importlib.import_module("apps.accounts.migrations.0004_drop_plaintext_staff_tokens")
    with connection.cursor() as cursor:
        cursor.execute('CREATE TABLE "authtoken_token" ("key" varchar(40) PRIMARY KEY)')
        cursor.execute("INSERT INTO authtoken_token VALUES ('plaintext-token')")

    # when the migration runs
    with connection.schema_editor() as schema_editor:
        migration.drop_plaintext_tokens(apps=None, schema_editor=schema_editor)

    # then the table and its tokens are gone
    assert "authtoken_token" not in connection.introspection.table_names()
