"""Counting SMS parts the way the networks do."""

import pytest

from apps.integrations.sms.segments import segment_count


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 306, 2),
        ("a" * 307, 3),
        ("€" * 80, 1),  # an extension character takes two septets
        ("€" * 81, 2),
        ("й" * 70, 1),  # one character outside GSM makes the text UCS-2
        ("й" * 71, 2),
        ("a" * 100 + "😀", 2),  # an emoji is two UTF-16 units
    ],
)
def test_segment_count(text, parts):
    assert segment_count(text) == parts
