"""SMS adapters called as the executor calls them; a paying client for endpoint tests."""

import pytest

from tests.support.calls import Caller, paying_client


@pytest.fixture
def texter(db: None) -> Caller:
    """A client whose plan prices sms.send at 0.0500."""
    return paying_client(("sms.send", "0.0500"))


SMS = {"sender": "+14155550100", "to_number": "+447700900123", "body": "Your code is 123456"}
