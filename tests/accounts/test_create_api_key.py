"""create_api_key: a new key is printed once; only its hash is stored."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import ManagementUtility, call_command
from django.core.management.base import CommandError
from django.utils import timezone

from apps.accounts.models import ClientApiKey
from tests import factories

pytestmark = pytest.mark.django_db


def create_key(*args: str) -> str:
    out = StringIO()
    call_command("create_api_key", *args, stdout=out, stderr=StringIO())
    return out.getvalue().strip()


def test_the_printed_key_authenticates_and_only_its_hash_is_stored():
    # given
    factories.ClientFactory(slug="acme")

    # when
    key = create_key("acme", "--name", "ci")

    # then
    api_key = ClientApiKey.objects.get_from_key(key)
    assert ClientApiKey.objects.filter(pk=api_key.pk, client__slug="acme").exists()
    assert (api_key.name, api_key.expiry_date, api_key.revoked) == ("ci", None, False)
    stored = ClientApiKey.objects.filter(pk=api_key.pk).values().get()
    assert key not in {str(value) for value in stored.values()}
    assert stored["hashed_key"] != key.partition(".")[2]


def test_each_run_prints_a_new_key():
    # given
    factories.ClientFactory(slug="acme")

    # when
    first, second = create_key("acme"), create_key("acme")

    # then
    assert first != second
    assert ClientApiKey.objects.filter(client__slug="acme").count() == 2


def test_expires_days_sets_the_expiry():
    # given
    factories.ClientFactory(slug="acme")

    # when
    key = create_key("acme", "--expires-days", "30")

    # then
    expiry = ClientApiKey.objects.get_from_key(key).expiry_date
    assert expiry is not None
    assert abs(expiry - (timezone.now() + timedelta(days=30))) < timedelta(minutes=1)


def test_an_unknown_client_is_an_error():
    # when
    with pytest.raises(CommandError, match="unknown client 'nobody'"):
        create_key("nobody")

    # then
    assert not ClientApiKey.objects.exists()


def test_an_unknown_client_exits_with_status_1(capsys):
    # when
    with pytest.raises(SystemExit) as exit_:
        ManagementUtility(["manage.py", "create_api_key", "nobody"]).execute()

    # then
    assert exit_.value.code == 1
    assert "unknown client 'nobody'" in capsys.readouterr().err
