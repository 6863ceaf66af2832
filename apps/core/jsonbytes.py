"""JSON to and from bytes on the call path, with orjson (a call's answer and a vendor's body
are the largest things a call encodes and decodes: ~15x and ~3x faster than json here).

What goes out is what json.dumps with Django's encoder would say, save whitespace: Decimal as
a string, datetimes as Django writes them, lazy strings as text. What comes in must be
strict JSON in UTF-8: NaN and Infinity are refused, as json.loads(parse_constant=...) did.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import orjson
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder

_django = DjangoJSONEncoder()
_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_NON_STR_KEYS


def dumps(value: Any) -> bytes:
    try:
        return orjson.dumps(value, default=_django.default, option=_OPTIONS)
    except orjson.JSONEncodeError:
        # What orjson refuses and json takes (an integer past 64 bits).
        return json.dumps(value, cls=DjangoJSONEncoder).encode()


def loads(data: bytes | str) -> Any:
    """Raises ValueError (orjson.JSONDecodeError) on anything but strict JSON."""
    return orjson.loads(data)


# --- JSON a client sent ------------------------------------------------------------------------

_NOT_BRACKET = bytes(b for b in range(256) if b not in b"[]{}")
# Objects count as arrays: only the depth matters here (the parser checks the pairing).
_ONE_KIND = bytes.maketrans(b"{}", b"[]")


class JSONTooDeep(ValueError):
    """The JSON nests arrays and objects deeper than GATEWAY_MAX_JSON_DEPTH."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"it nests arrays and objects deeper than {limit} levels")


def depth_check(data: bytes | str, limit: int | None = None) -> None:
    """Raise JSONTooDeep when the text nests deeper than `limit` (GATEWAY_MAX_JSON_DEPTH).

    Run before parsing: json's parser recurses once per level (100,000 levels are a
    RecursionError, not a ValueError), and so do serializers and deep copies of what it
    returns. Every step here is a C-speed pass over the bytes, with no recursion.
    """
    limit = settings.GATEWAY_MAX_JSON_DEPTH if limit is None else limit
    raw = data.encode("utf-8", "replace") if isinstance(data, str) else data
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return  # cannot nest deeper than it has brackets
    # Brackets inside strings do not nest: drop escapes (pairs of backslashes first, so that
    # \\" ends a string), then everything between quotes.
    unescaped = raw.replace(b"\\\\", b"").replace(b'\\"', b"")
    outside = b"".join(unescaped.split(b'"')[::2])
    brackets = outside.translate(_ONE_KIND, _NOT_BRACKET)
    # Each pass drops the innermost pairs: text nested N deep is empty after N passes. A run
    # of more opening brackets than the limit is too deep at once (the usual attack).
    too_many = b"[" * (limit + 1)
    for _ in range(limit):
        if too_many in brackets:
            raise JSONTooDeep(limit)
        inner = brackets.replace(b"[]", b"")
        if len(inner) == len(brackets):
            return  # unbalanced: not JSON, which the parser will say
        brackets = inner
    if b"[]" in brackets:
        raise JSONTooDeep(limit)


def loads_untrusted(data: bytes | str, *, parse_float: Callable[[str], Any] = float) -> Any:
    """A client's (or a message's) JSON, nesting checked first; ValueError when it is not
    JSON or nests too deep. `parse_float=Decimal` keeps numbers exact, as json.loads does."""
    depth_check(data)
    return json.loads(data, parse_float=parse_float)
