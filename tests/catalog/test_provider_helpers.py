"""The helpers ProviderAdapter gives its subclasses."""

import pytest

from apps.catalog.providers import OUTCOME_AUTH, OUTCOME_HTTP_ERROR, ProviderAdapter


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (401, OUTCOME_AUTH),
        (403, OUTCOME_AUTH),
        (400, OUTCOME_HTTP_ERROR),
        (404, OUTCOME_HTTP_ERROR),
        (409, OUTCOME_HTTP_ERROR),
        (302, OUTCOME_HTTP_ERROR),
    ],
)
def test_refusal_is_an_auth_fault_for_401_and_403_else_an_http_error(
    status: int, outcome: str
) -> None:
    # given / when
    fault = ProviderAdapter.refusal(status, f"HTTP {status}: refused")

    # then
    assert fault.outcome == outcome
    assert fault.detail == f"HTTP {status}: refused"
    assert fault.sent is True
    assert fault.retry_after_s is None
