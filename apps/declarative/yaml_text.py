"""YAML text as gateway_dump writes it: one scalar, or a flow mapping on one line.

Money is always a quoted decimal string; text is plain only where YAML reads it back as the
same string.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import yaml

from apps.core.money import money_str

_PLAIN = re.compile(r"^[A-Za-z0-9_/][A-Za-z0-9 _./:@+\-]*$")


def flow(values: Mapping[str, Any]) -> str:
    return "{" + ", ".join(f"{scalar(k)}: {scalar(v)}" for k, v in values.items()) + "}"


def scalar(value: Any) -> str:
    """One YAML scalar: money always as a quoted decimal string, text plain when unambiguous."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return f'"{money_str(value)}"'
    if isinstance(value, int):
        return str(value)
    text = str(value)
    plain = (
        _PLAIN.match(text)
        and ": " not in text
        and " #" not in text
        and not text.endswith((" ", ":"))
        and yaml.safe_load(text) == text
    )
    return text if plain else json.dumps(text, ensure_ascii=False)
