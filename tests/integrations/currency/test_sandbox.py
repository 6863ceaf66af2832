"""The offline sandbox adapter: fixed EUR rates, cross rates, conversions."""

import pytest

from apps.catalog.providers import InvalidInput
from apps.integrations.currency.providers.sandbox import SandboxRates


@pytest.fixture
def sandbox(adapter):
    return adapter(SandboxRates)


async def test_latest_rates_in_euro_are_the_fixed_table_without_the_euro(sandbox, call):
    # when
    answer = await call(sandbox, "latest_rates", {"base": "EUR"})

    # then
    assert answer["base"] == "EUR"
    assert answer["rates"]["USD"] == 1.0823
    assert "EUR" not in answer["rates"]
    assert len(answer["rates"]) == 22


async def test_the_default_base_is_usd_with_cross_rates(sandbox, call):
    # when
    answer = await call(sandbox, "latest_rates", {"symbols": ["EUR", "GBP", "USD"]})

    # then one USD in EUR is 1/1.0823, and the base itself is 1 when asked for
    assert answer["base"] == "USD"
    assert answer["rates"] == {"EUR": 0.923958, "GBP": 0.781207, "USD": 1.0}


async def test_an_unknown_symbol_is_the_clients_input(sandbox, call):
    # when
    with pytest.raises(InvalidInput) as raised:
        await call(sandbox, "latest_rates", {"base": "EUR", "symbols": ["USD", "ARS"]})

    # then
    assert raised.value.errors == {"symbols": ["Unknown: ARS"]}


async def test_convert_rounds_to_the_minor_unit_of_the_target(sandbox, call):
    # when
    answer = await call(sandbox, "convert", {"from": "EUR", "to": "JPY", "amount": "10.50"})

    # then 10.50 x 161.84 = 1699.32, in whole yen
    assert (answer["amount"], answer["rate"], answer["result"]) == ("10.50", 161.84, "1699")


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"from": "ARS", "to": "EUR", "amount": "1"}, "from"),
        ({"from": "EUR", "to": "ARS", "amount": "1"}, "to"),
    ],
)
async def test_convert_names_the_unknown_currency(sandbox, call, payload, field):
    # when
    with pytest.raises(InvalidInput) as raised:
        await call(sandbox, "convert", payload)

    # then
    assert list(raised.value.errors or {}) == [field]


async def test_an_amount_in_exponent_notation_is_echoed_as_a_plain_decimal(sandbox, call):
    # when
    answer = await call(sandbox, "convert", {"from": "EUR", "to": "USD", "amount": "1e3"})

    # then
    assert (answer["amount"], answer["result"]) == ("1000", "1082.30")
