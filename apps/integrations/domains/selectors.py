"""Reads of the domains service: what a call may act on, for the client making it."""

from __future__ import annotations

import uuid

from apps.core.errors import Conflict, NoProviderAvailable, NotFound
from apps.core.fields import UnreadableSecrets
from apps.integrations.domains.models import Domain, RegistrantAccount, RegistrationIntention
from apps.integrations.domains.secret_mask import registrant_secrets_add


def intention_for_submit(*, intention_id: uuid.UUID | str, client_id: int) -> RegistrationIntention:
    """The client's open intention. Another client's is as unknown as a missing one (404)."""
    intention = (
        RegistrationIntention.objects.filter(pk=intention_id, client_id=client_id)
        .select_related("client")  # its slug goes to the registrar with the purchase
        .first()
    )
    if intention is None:
        raise NotFound(
            f"There is no registration intention {intention_id}.",
            errors={"intention_id": ["No such intention."]},
        )
    if intention.finished:
        raise Conflict(
            f"Intention {intention_id} is finished: {intention.domain} is registered.",
            errors={"intention_id": ["This intention is finished."]},
        )
    return intention


def domain_held(*, client_id: int, name: str) -> Domain:
    """The client's domain; a domain it does not hold here is 404, whoever else holds it."""
    domain = Domain.objects.filter(client_id=client_id, name=name).first()
    if domain is None:
        raise NotFound(
            f"{name} is not a domain registered through this gateway for you.",
            errors={"domain": ["Not one of your domains."]},
        )
    return domain


def registrant_account_data(*, client_id: int, provider: str) -> dict[str, str] | None:
    """The client's sub-account at a registrar, decrypted; None when it has none yet."""
    account = RegistrantAccount.objects.filter(client_id=client_id, provider=provider).first()
    if account is None:
        return None
    if isinstance(account.account, UnreadableSecrets):
        # Creating a second sub-account would orphan the first: ops must restore the key.
        raise NoProviderAvailable(
            f"The account at {provider} cannot be decrypted with the configured keys."
        )
    registrant_secrets_add(account.account)
    return dict(account.account)
