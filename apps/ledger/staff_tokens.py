"""Finance staff's API tokens for the ledger API (django-rest-knox).

A token is shown once, when it is made; the database keeps only its SHA-512 digest and its
expiry, so neither a database dump nor the admin reveals a usable token.
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth.models import User
from knox.models import AuthToken

from apps.core.errors import InvalidRequest

LEDGER_PERMISSION = "ledger.view_ledgerentry"


def staff_token_create(*, user: User, ttl: timedelta) -> tuple[AuthToken, str]:
    """A new token for `user`, valid for `ttl`: (its stored row, the token, shown once).

    Only an active staff user who may read the ledger gets one: a token that every request
    would refuse is a secret to leak for nothing.
    """
    if not (user.is_active and user.is_staff and user.has_perm(LEDGER_PERMISSION)):
        raise InvalidRequest(
            f"{user.get_username()} is not active staff with {LEDGER_PERMISSION} "
            "(the finance group has it)."
        )
    if ttl <= timedelta(0):
        raise InvalidRequest("A token's lifetime must be positive.")
    return AuthToken.objects.create(user=user, expiry=ttl)
