"""Money is Decimal everywhere, stored and rendered with one precision."""

from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

MONEY_MAX_DIGITS = 14
MONEY_DECIMAL_PLACES = 4
MONEY_QUANTUM = Decimal(1).scaleb(-MONEY_DECIMAL_PLACES)
ZERO = Decimal("0").quantize(MONEY_QUANTUM)


def to_money(value: Decimal | str | int) -> Decimal:
    """Parse a price or cost ("0.0100", Decimal, int) into the house precision.

    Floats are refused: a float has already lost the cents it was meant to carry.
    """
    if isinstance(value, float):
        raise TypeError("money must not be a float")
    try:
        amount = Decimal(value)
    except (InvalidOperation, ValueError) as exc:
        raise ValueError(f"not a decimal amount: {value!r}") from exc
    if not amount.is_finite():
        raise ValueError(f"not a finite amount: {value!r}")
    return amount.quantize(MONEY_QUANTUM, rounding=ROUND_HALF_EVEN)


def money_str(value: Decimal) -> str:
    """The JSON form of an amount: a decimal string with the house precision."""
    return str(value.quantize(MONEY_QUANTUM, rounding=ROUND_HALF_EVEN))
