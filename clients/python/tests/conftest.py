"""The client's tests: the repository's fixtures (a live gateway on the real PostgreSQL and
Redis, started by the test) and a paying client of the offline providers."""

from collections.abc import Iterator

import pytest
from tests.support.calls import Caller, configure, only_providers, paying_client

from gateway_client import Gateway
from tests.conftest import *  # noqa: F403 - the repository's fixtures, live_gateway among them

PRICES = {
    "currency.latest_rates": "0.0100",
    "currency.convert": "0.0050",
    "docs.html_to_pdf": "0.0200",
}


@pytest.fixture
def live_gateway_env() -> dict[str, str]:
    """The embedded run's eager Celery: a background call runs in the server, before its 202
    (the gateway's own tests cover the worker path)."""
    return {"CELERY_BROKER_URL": ""}


@pytest.fixture
def user(transactional_db: None) -> Caller:
    """A client whose plan prices the currency methods and docs.html_to_pdf, served by the
    offline sandbox and WeasyPrint (in process): committed, so the live gateway sees it."""
    only_providers("sandbox", "weasyprint")
    configure("sandbox", base_url="sandbox://rates", credentials={})
    configure("weasyprint", base_url="weasyprint://local", credentials={}, timeout_ms=30000)
    return paying_client(*PRICES.items())


@pytest.fixture
def gw(live_gateway: str, user: Caller) -> Iterator[Gateway]:
    with Gateway(base_url=live_gateway, api_key=user.key) as gateway:
        yield gateway
