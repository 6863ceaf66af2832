"""What a call's request must be before anything is counted or held: slugs for names, a JSON
object its method's serializer accepts, an ISO country from a trusted internal caller."""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from functools import cache
from typing import Any

from rest_framework import serializers

from apps.accounts.authentication import Principal
from apps.core import jsonbytes
from apps.core.errors import InvalidRequest, ValidationFailed
from apps.core.jsonbytes import JSONTooDeep
from apps.core.problems import flatten_validation_errors
from apps.routing.routes import MethodRoute

_COUNTRY = re.compile(r"^[A-Z]{2}$")
# What a service or method name can be (the URL's slugs; the ledger's columns hold 50).
_NAME = re.compile(r"[-a-zA-Z0-9_]{1,50}")


def names_check(service: str, method: str) -> None:
    """InvalidRequest (naming the field) unless both are slugs: the websocket and the queue
    pass names as sent, and an unknown method's names would go into its ledger row."""
    errors = {
        field: ["Must be a slug: 1 to 50 letters, digits, hyphens or underscores."]
        for field, name in (("service", service), ("method", method))
        if not (isinstance(name, str) and _NAME.fullmatch(name))
    }
    if errors:
        raise InvalidRequest("The service or method is not a valid name.", errors=errors)


def validate(route: MethodRoute, body: bytes) -> dict[str, Any]:
    try:
        # Decimals stay exact: a JSON number like 10.50 never passes through a float.
        payload = jsonbytes.loads_untrusted(body or b"{}", parse_float=Decimal)
    except JSONTooDeep as exc:
        raise InvalidRequest(f"The body is refused: {exc}.") from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidRequest(f"The body is not valid JSON: {exc}.") from exc
    if not isinstance(payload, dict):
        raise ValidationFailed(errors={"non_field_errors": ["The payload must be a JSON object."]})
    serializer = _request_serializer(route.spec.request, payload)
    valid = serializer.is_valid()
    # A misspelt optional field would otherwise be ignored without a word.
    unknown = {name: ["Unknown field."] for name in payload if name not in serializer.fields}
    if not valid or unknown:
        errors = flatten_validation_errors(serializer.errors) if not valid else {}
        raise ValidationFailed(errors={**errors, **unknown})
    return dict(serializer.validated_data)


def _request_serializer(
    serializer_class: type[serializers.Serializer], payload: dict[str, Any]
) -> serializers.Serializer:
    """The method's request serializer for `payload`, with its fields bound once.

    DRF deep-copies every declared field (and a nested serializer's) for each serializer it
    makes: most of validate's CPU (latest_rates 262 -> 64 us). The request serializers'
    fields keep no state of a validation (none reads its parent's data, context or
    instance), so one bound set serves every call.
    """
    serializer = serializer_class(data=payload)
    serializer.__dict__["fields"] = _bound_fields(serializer_class)  # what `fields` caches
    return serializer


@cache
def _bound_fields(serializer_class: type[serializers.Serializer]) -> Any:
    """The method's request fields, bound once to a throwaway parent and shared by every
    call: right while no request field reads `context`, `parent` or `root` as it validates
    (none does; a field that did would see the throwaway serializer, not the call's)."""
    return serializer_class().fields


def requester_country(principal: Principal, headers: Mapping[str, str]) -> str:
    """The client's country, or X-Requester-Country from a trusted internal caller."""
    if principal.is_internal:
        sent = headers.get("X-Requester-Country", "").strip().upper()
        if sent:
            if not _COUNTRY.match(sent):
                raise InvalidRequest("X-Requester-Country must be an ISO 3166-1 alpha-2 code.")
            return sent
    return principal.country
