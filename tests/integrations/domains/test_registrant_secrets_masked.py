"""Issue #12 leftovers: a registrar sub-account's secrets are masked in logs, like provider
credentials: loaded with them, refreshed when an account changes, never a query per record."""

from __future__ import annotations

import logging

import pytest

from apps.catalog.secret_mask import provider_secrets_refresh
from apps.core.logging import SecretMaskFilter
from apps.integrations.domains.models import RegistrantAccount
from apps.integrations.domains.secret_mask import registrant_secrets_refresh
from apps.integrations.domains.selectors import registrant_account_data
from tests import factories

pytestmark = pytest.mark.django_db

PASSWORD = "Shopper-pw-7f3a9c2e51"
SHOPPER = "shopper-552913"


def logged(message: str, *args: object) -> str:
    """The line as every handler sees it, once the secrets filter has run."""
    record = logging.LogRecord("apps.test", logging.WARNING, __file__, 1, message, args, None)
    SecretMaskFilter().filter(record)
    return record.getMessage()


def test_a_new_sub_account_is_masked_once_saved():
    # given a client's sub-account created at GoDaddy (in a transaction still open)
    registrant_secrets_refresh()  # what this process knows: no account yet
    client = factories.ClientFactory()
    RegistrantAccount.objects.create(
        client=client, provider="godaddy", account={"shopper_id": SHOPPER, "password": PASSWORD}
    )

    # when a log line quotes it
    line = logged("GoDaddy refused %s with %s", SHOPPER, PASSWORD)

    # then neither value is in it
    assert line == "GoDaddy refused [redacted] with [redacted]"


def test_accounts_are_loaded_with_the_provider_credentials_and_no_query_per_line(
    django_assert_num_queries,
):
    # given an account another process created (this one saw no signal)
    client = factories.ClientFactory()
    RegistrantAccount.objects.bulk_create(
        [RegistrantAccount(client=client, provider="godaddy", account={"password": PASSWORD})]
    )

    # when this process reloads its catalog's secrets (snapshot build, health checks)
    provider_secrets_refresh()

    # then the account's secret is masked, and logging costs no query
    with django_assert_num_queries(0):
        assert logged("login %s", PASSWORD) == "login [redacted]"


def test_an_account_read_for_use_is_masked_at_once():
    # given an account this process has not loaded yet
    registrant_secrets_refresh()  # what this process knows: no account yet
    client = factories.ClientFactory()
    RegistrantAccount.objects.bulk_create(
        [RegistrantAccount(client=client, provider="godaddy", account={"password": PASSWORD})]
    )
    assert PASSWORD in logged("login %s", PASSWORD)

    # when a call reads it to act for the client
    registrant_account_data(client_id=client.pk, provider="godaddy")

    # then
    assert logged("login %s", PASSWORD) == "login [redacted]"
