"""factory-boy factories, one module per app (tests/factories/<app>.py).

`from tests import factories` then `factories.ClientFactory(...)` reads every app's
factories from here; a test about one app may import from its module directly.
"""

from tests.factories.accounts import ClientFactory, api_key_for, staff_user
from tests.factories.billing import PlanFactory, PriceFactory
from tests.factories.catalog import (
    OfferingCountryCostFactory,
    OfferingFactory,
    ProviderFactory,
    method,
)
from tests.factories.ledger import LedgerEntryFactory, call_row
from tests.factories.realtime import AsyncCallFactory

__all__ = [
    "AsyncCallFactory",
    "ClientFactory",
    "LedgerEntryFactory",
    "OfferingCountryCostFactory",
    "OfferingFactory",
    "PlanFactory",
    "PriceFactory",
    "ProviderFactory",
    "api_key_for",
    "call_row",
    "method",
    "staff_user",
]
