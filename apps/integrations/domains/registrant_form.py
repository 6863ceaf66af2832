"""The registrant form: a JSON Schema per registrar, and validation of a submitted form.

The base form is what every registrar needs about the registrant; a registrar adds what it
alone asks for (GoDaddy: the keys of the agreements the registrant accepted). The schema is
stored on the intention, so a form is checked against exactly what the client was shown.
"""

from __future__ import annotations

import copy
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError as SchemaError

E164 = r"^\+[1-9][0-9]{6,14}$"

ADDRESS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["line1", "city", "region", "postal_code", "country"],
    "properties": {
        "line1": {"type": "string", "minLength": 1, "maxLength": 41},
        "line2": {"type": "string", "maxLength": 41},
        "city": {"type": "string", "minLength": 1, "maxLength": 30},
        "region": {"type": "string", "minLength": 2, "maxLength": 30},
        "postal_code": {"type": "string", "minLength": 2, "maxLength": 10},
        "country": {
            "type": "string",
            "pattern": "^[A-Z]{2}$",
            "description": "ISO 3166-1 alpha-2, e.g. DE.",
        },
    },
}

CONTACT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["first_name", "last_name", "email", "phone", "address"],
    "properties": {
        "first_name": {"type": "string", "minLength": 1, "maxLength": 30},
        "last_name": {"type": "string", "minLength": 1, "maxLength": 30},
        "organization": {"type": "string", "maxLength": 100},
        "email": {"type": "string", "format": "email", "maxLength": 80},
        "phone": {
            "type": "string",
            "pattern": E164,
            "description": "E.164, e.g. +4930901820.",
        },
        "address": ADDRESS_SCHEMA,
    },
}

BASE_FORM: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["registrant_contact"],
    "properties": {"registrant_contact": CONTACT_SCHEMA},
}


def form_schema(extra: dict[str, Any] | None) -> dict[str, Any]:
    """The base form with a registrar's `schema_extra` ({properties, required}) merged in."""
    schema = copy.deepcopy(BASE_FORM)
    if extra:
        schema["properties"].update(copy.deepcopy(extra.get("properties", {})))
        schema["required"] = [*schema["required"], *extra.get("required", [])]
    return schema


def form_errors(schema: dict[str, Any], form: Any) -> dict[str, list[str]]:
    """Every way `form` breaks `schema`, keyed by the dotted path of the field at fault.

    Formats are checked (an email must look like one): the original system declared them
    and never enforced them.
    """
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    errors: dict[str, list[str]] = {}
    for error in sorted(validator.iter_errors(form), key=lambda e: list(e.absolute_path)):
        errors.setdefault(_field_of(error), []).append(_message_of(error))
    return errors


def _field_of(error: SchemaError) -> str:
    path = [str(part) for part in error.absolute_path]
    if error.validator == "required" and isinstance(error.instance, dict):
        # "'city' is a required property" is about the missing field, not its parent.
        missing = [name for name in error.validator_value if name not in error.instance]
        if missing:
            path.append(missing[0])
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = set(error.schema.get("properties", {}))
        unknown = [name for name in error.instance if name not in allowed]
        if unknown:
            path.append(unknown[0])
    return ".".join(path) or "non_field_errors"


def _message_of(error: SchemaError) -> str:
    if error.validator == "required":
        return "This field is required."
    if error.validator == "additionalProperties":
        return "Unknown field."
    if error.validator == "format":
        return (
            f"Not a valid {error.validator_value} address."
            if error.validator_value == "email"
            else f"Not a valid {error.validator_value}."
        )
    if error.validator == "pattern" and error.schema.get("description"):
        return f"Use the form {error.schema['description']}"
    if error.validator == "enum":
        allowed = ", ".join(map(str, error.validator_value))
        return f"{error.instance!r} is not one of: {allowed}."
    return str(error.message)
