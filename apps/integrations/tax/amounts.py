"""Amounts and rates between the vendors' JSON numbers and our decimal strings.

Vendors write amounts as JSON numbers. Reading: a JSON number goes through Python's float,
whose repr is the shortest text that reads back to it, so Decimal(repr) gives back the digits
the vendor wrote (up to 15 significant ones, more than any tax amount has). Writing: a JSON
number is produced from the Decimal's own digits, never through a float.
"""

from __future__ import annotations

import json
import re
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

CENT = Decimal("0.01")
_MARK = "\x00decimal:"
_MARKED = re.compile(r'"\\u0000decimal:(-?[0-9]+(?:\.[0-9]+)?)"')


def decimal_of(value: Any) -> Decimal:
    """A vendor's number (or numeric string) as a Decimal; anything else is malformed."""
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise ValueError(f"not a number: {value!r}")
    number = Decimal(str(value))
    if not number.is_finite():
        raise ValueError(f"not a finite number: {value!r}")
    return number


def rate_str(value: Decimal) -> str:
    """A rate as a plain decimal string ("0.0625"), never in exponent form."""
    return format(value.normalize(), "f") if value else "0"


def amount_str(value: Decimal) -> str:
    """An amount with at least two decimals ("8.60"), keeping any finer digits it has."""
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent > -2:
        value = value.quantize(CENT)
    return format(value, "f")


def tax_on(amount: Decimal, rate: Decimal) -> Decimal:
    return (amount * rate).quantize(CENT, rounding=ROUND_HALF_UP)


def json_body(body: Any) -> bytes:
    """JSON with every Decimal written as a JSON number from its own digits."""

    def mark(value: Any) -> str:
        if isinstance(value, Decimal):
            return _MARK + format(value, "f")
        raise TypeError(f"{type(value).__name__} is not JSON serializable")

    text = json.dumps(body, default=mark, separators=(",", ":"))
    return _MARKED.sub(r"\1", text).encode()
