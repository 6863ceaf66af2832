"""Tax adapters called as the executor calls them; sales and addresses used across tests."""

SALE = "/api/v1/services/tax/taxes_for_sale/"
AVATAX_URL = "https://avatax.test"
TAXJAR_URL = "https://taxjar.test"

SEATTLE = {
    "line1": "400 Broad St",
    "city": "Seattle",
    "region": "WA",
    "postal_code": "98109",
    "country": "US",
}
IRVINE = {
    "line1": "100 Spectrum Center Dr",
    "line2": "Suite 900",
    "city": "Irvine",
    "region": "CA",
    "postal_code": "92618",
    "country": "US",
}
TORONTO = {
    "line1": "301 Front St W",
    "city": "Toronto",
    "region": "ON",
    "postal_code": "M5V 2T6",
    "country": "CA",
}
VANCOUVER = {
    "line1": "845 Avison Way",
    "city": "Vancouver",
    "region": "BC",
    "postal_code": "V6G 3E2",
    "country": "CA",
}
BERLIN = {
    "line1": "Unter den Linden 77",
    "city": "Berlin",
    "postal_code": "10117",
    "country": "DE",
}
TOKYO = {
    "line1": "1-1 Chiyoda",
    "city": "Tokyo",
    "postal_code": "100-8111",
    "country": "JP",
}


def sale(ship_to: dict, ship_from: dict = IRVINE, **changes: object) -> dict:
    """A one-line sale of two items for 100.00 in total."""
    return {
        "customer_id": "CUST-42",
        "date": "2026-11-29",
        "currency": "USD",
        "ship_from_address": ship_from,
        "ship_to_address": ship_to,
        "lines": [
            {
                "line_number": 1,
                "quantity": 2,
                "amount_total": "100.00",
                "item_code": "Y0001",
                "tax_code": "PS081282",
                "description": "Yarn",
            }
        ],
        **changes,
    }
