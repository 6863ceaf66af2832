"""Arithmetic shared by the currency adapters: cross rates, conversions, minor units."""

import math
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, TypeVar

from apps.catalog.providers import InvalidInput

R = TypeVar("R", Decimal, Decimal | float)

# ISO 4217 minor units that are not 2. Amounts are rounded to the target's minor unit.
_MINOR_UNITS = {
    "BHD": 3, "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "IQD": 3, "ISK": 0, "JOD": 3,
    "JPY": 0, "KMF": 0, "KRW": 0, "KWD": 3, "LYD": 3, "OMR": 3, "PYG": 0, "RWF": 0,
    "TND": 3, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
}  # fmt: skip


def minor_units(currency: str) -> int:
    return _MINOR_UNITS.get(currency, 2)


def to_decimal(value: Any) -> Decimal:
    """A rate as a vendor sent it (a JSON number or a string) -> a positive, finite Decimal.

    Raises ValueError otherwise, which the adapter base class reports as a malformed answer.
    """
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"not a rate: {value!r}")
    # str() first: a float's shortest repr is the number the vendor wrote.
    rate = Decimal(str(value))
    if not rate.is_finite() or rate <= 0:
        raise ValueError(f"not a rate: {value!r}")
    return rate


def decimals(rates: Mapping[str, Any]) -> dict[str, Decimal]:
    return {code: to_decimal(value) for code, value in rates.items()}


def checked(rates: Mapping[str, Any]) -> dict[str, Decimal | float]:
    """A vendor's table to be shown as it is (answered in the base asked for): JSON floats are
    checked (positive, finite) but kept, since they are only rounded for the answer; anything
    else goes through to_decimal. Every latest_rates call of fixer or OXR takes this path,
    and a Decimal per rate cost ~7 % of a call's CPU.
    """
    table: dict[str, Decimal | float] = {}
    for code, value in rates.items():
        if type(value) is float and 0 < value < math.inf:  # NaN fails both comparisons
            table[code] = value
        else:
            table[code] = to_decimal(value)
    return table


def shown_against(
    rates: Mapping[str, Any], source: str, base: str
) -> dict[str, Decimal] | dict[str, Decimal | float]:
    """A vendor's table (against `source`) as latest_rates shows it against `base`."""
    if source == base:
        return checked(rates)
    return rebase(decimals(rates), source, base)


def iso_date(value: Any) -> str:
    """A vendor's "YYYY-MM-DD", checked (a ValueError or TypeError is a malformed answer)."""
    return date.fromisoformat(value).isoformat()


def utc_date(timestamp: Any) -> str:
    """The UTC date of a vendor's Unix timestamp (for vendors that send no date)."""
    if isinstance(timestamp, bool) or not isinstance(timestamp, int):
        raise ValueError(f"not a timestamp: {timestamp!r}")
    try:
        return datetime.fromtimestamp(timestamp, tz=UTC).date().isoformat()
    except (OverflowError, OSError) as exc:
        raise ValueError(f"not a timestamp: {timestamp!r}") from exc


def rebase(
    rates: dict[str, Decimal], source: str, base: str, field: str = "base"
) -> dict[str, Decimal]:
    """Rates quoted against `source` turned into rates against `base`.

    `rates` maps currency -> units per one `source`; `source` itself need not be in it.
    `field` names the input the base came from, for the error when it is unknown.
    """
    table = {**rates, source: Decimal(1)}
    if base not in table:
        raise InvalidInput(
            f"Unknown base currency {base}.", errors={field: [f"Unknown currency: {base}"]}
        )
    if base == source:
        return table  # the vendor answered in the base asked for: nothing to divide
    divisor = table[base]
    return {code: value / divisor for code, value in table.items()}


def pick(rates: dict[str, R], symbols: list[str] | None, field: str = "symbols") -> dict[str, R]:
    if not symbols:
        return rates
    unknown = [s for s in symbols if s not in rates]
    if unknown:
        raise InvalidInput(
            f"Unknown currencies: {', '.join(unknown)}.",
            errors={field: [f"Unknown: {', '.join(unknown)}"]},
        )
    return {s: rates[s] for s in symbols}


def latest_rates(
    *, base: str, date: str, rates: Mapping[str, Decimal | float], symbols: list[str] | None
) -> dict[str, Any]:
    """The normalised latest_rates answer from a table against `base`.

    Without symbols every currency but the base itself; a symbol naming the base gets 1.
    """
    table: dict[str, Decimal | float] = {**rates, base: Decimal(1)}
    if not symbols:
        del table[base]
    return {"base": base, "date": date, "rates": as_floats(pick(table, symbols))}


def as_floats(rates: Mapping[str, Decimal | float]) -> dict[str, float]:
    """Rates are measurements, not money: JSON numbers rounded to 6 significant places.

    A vendor's table changes a few times a minute, and formatting each float to round it
    cost ~80 us a call (4 % of its CPU): a float rounded lately is looked up instead.
    """
    known = _ROUNDED.get
    shown: dict[str, float] = {}
    for code in sorted(rates):  # the codes alone: sorting (code, rate) pairs costs more
        value = rates[code]
        # Floats only: a Decimal equal to a float would find the float's entry.
        shown[code] = (known(value) if type(value) is float else None) or _rounded(value)
    return shown


# Float -> the float rounded to 6 significant places, for the rates seen lately (bounded).
_ROUNDED: dict[float, float] = {}
_ROUNDED_MAX = 20_000


def _rounded(value: Decimal | float) -> float:
    rounded = float(f"{value:.6g}")
    if type(value) is float and value:  # not 0.0, which -0.0 would find
        if len(_ROUNDED) >= _ROUNDED_MAX:
            _ROUNDED.clear()
        _ROUNDED[value] = rounded
    return rounded


def conversion(
    *, source: str, target: str, amount: Decimal, rate: Decimal, date: str
) -> dict[str, Any]:
    result = (amount * rate).quantize(Decimal(1).scaleb(-minor_units(target)), ROUND_HALF_EVEN)
    return {
        "from": source,
        "to": target,
        "amount": f"{amount:f}",  # plain notation: "1e3" is echoed as "1000", not "1E+3"
        "rate": float(f"{rate:.6g}"),
        "result": str(result),
        "date": date,
    }
