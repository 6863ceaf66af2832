"""The call path's JSON: what goes out reads as Django's encoder wrote it; what comes in
from a vendor must be strict JSON."""

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from uuid import UUID

import pytest
from django.utils.translation import gettext_lazy

from apps.core import jsonbytes


def test_an_answer_reads_as_djangos_encoder_wrote_it():
    value = {
        "price": Decimal("0.0100"),
        "at": datetime(2026, 11, 29, 18, 5, 7, 123456, tzinfo=UTC),
        "day": date(2026, 11, 29),
        "id": UUID("12345678-1234-5678-1234-567812345678"),
        "label": gettext_lazy("Succeeded"),
        "rates": {"USD": 1.0842, "JPY": 162.5},
        7: "a key that is not text",
    }

    out = jsonbytes.dumps(value)

    assert json.loads(out) == {
        "price": "0.0100",
        "at": "2026-11-29T18:05:07.123Z",
        "day": "2026-11-29",
        "id": "12345678-1234-5678-1234-567812345678",
        "label": "Succeeded",
        "rates": {"USD": 1.0842, "JPY": 162.5},
        "7": "a key that is not text",
    }


def test_an_integer_past_64_bits_is_still_written():
    assert json.loads(jsonbytes.dumps({"n": 2**70})) == {"n": 2**70}


@pytest.mark.parametrize(
    "body",
    [b'{"rate": NaN}', b'{"rate": Infinity}', b'{"rate": -Infinity}', b'{"a": "\xff"}', b"", b"{"],
)
def test_anything_but_strict_json_from_a_vendor_is_a_value_error(body):
    with pytest.raises(ValueError):
        jsonbytes.loads(body)


def test_a_vendors_body_reads_as_json_reads_it():
    body = b'{"success": true, "rates": {"USD": 1.0842}, "n": null, "list": [1, 2.5, "x"]}'
    assert jsonbytes.loads(body) == json.loads(body)


@pytest.mark.parametrize(
    ("text", "too_deep"),
    [
        (b"[" * 4 + b"]" * 4, False),
        (b"[" * 5 + b"]" * 5, True),
        (b'{"a": [{"b": [1]}]}', False),  # 4 levels, objects and arrays alike
        (b'{"a": [{"b": [[1]]}]}', True),
        (b'["[[[[[[", "]]]]]]"]', False),  # brackets inside strings do not nest
        (b'["\\"[[[[[["]', False),  # nor after an escaped quote
        (b'["\\\\", [[[[1]]]]]', True),  # an escaped backslash ends the string
        (b"[[[[[[", True),  # unclosed, but five levels open already
        (b"[[[}]]][[[}]]]", False),  # unbalanced: left to the parser to refuse
    ],
)
def test_the_depth_check_counts_only_real_nesting(text, too_deep):
    try:
        jsonbytes.depth_check(text, limit=4)
    except jsonbytes.JSONTooDeep:
        refused = True
    else:
        refused = False

    assert refused is too_deep


def test_a_client_body_100000_deep_is_a_value_error_not_a_recursion_error(settings):
    with pytest.raises(ValueError, match="deeper than 64 levels"):
        jsonbytes.loads_untrusted(b"[" * 100_000 + b"]" * 100_000)
