"""How many SMS parts a text takes (3GPP TS 23.038 / 23.040).

A text in the GSM 7-bit alphabet fits 160 characters in one message, 153 in each part of a
longer one (the rest holds the concatenation header); characters of the extension table
(€ [ ] { } ...) count twice. Any other character makes the whole text UCS-2: 70 in one, 67
per part.
"""

import math

import gsm0338  # noqa: F401  registers the "gsm03.38" codec


def is_gsm7(text: str) -> bool:
    try:
        text.encode("gsm03.38")
    except UnicodeEncodeError:
        return False
    return True


def segment_count(text: str) -> int:
    if is_gsm7(text):
        units, single, part = len(text.encode("gsm03.38")), 160, 153
    else:
        units, single, part = len(text.encode("utf-16-le")) // 2, 70, 67
    return 1 if units <= single else math.ceil(units / part)
