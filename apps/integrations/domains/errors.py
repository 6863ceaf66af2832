"""Faults of the domains service that the rest of it must tell apart."""

from apps.catalog.providers import OUTCOME_OUTAGE, ProviderFault


class DomainNotReady(ProviderFault):
    """The registrar has not finished setting up a domain it just sold (its DNS zone is not
    there yet). Not the registrar's failure: the initial-DNS task waits and tries again."""

    def __init__(self, detail: str) -> None:
        super().__init__(OUTCOME_OUTAGE, detail, sent=True)
