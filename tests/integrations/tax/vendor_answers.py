"""Tax vendors' documented answers, verbatim in shape (AvaTax REST v2, TaxJar API v2)."""

from typing import Any

# AvaTax CreateTransaction, a SalesOrder to Seattle (WA): one line, four jurisdictions.
AVATAX_TRANSACTION: dict[str, Any] = {
    "id": 0,
    "code": "c4b6ea7e-6f1b-4a30-a7b6-0b3c1f6a3d9e",
    "companyId": 123456,
    "date": "2026-11-29",
    "status": "Temporary",
    "type": "SalesOrder",
    "currencyCode": "USD",
    "customerCode": "CUST-42",
    "totalAmount": 100.0,
    "totalExempt": 0.0,
    "totalDiscount": 0.0,
    "totalTax": 10.25,
    "totalTaxable": 100.0,
    "totalTaxCalculated": 10.25,
    "lines": [
        {
            "id": 0,
            "transactionId": 0,
            "lineNumber": "1",
            "description": "Yarn",
            "itemCode": "Y0001",
            "lineAmount": 100.0,
            "quantity": 2.0,
            "tax": 10.25,
            "taxableAmount": 100.0,
            "taxCalculated": 10.25,
            "taxCode": "PS081282",
            "details": [
                {
                    "country": "US",
                    "region": "WA",
                    "exemptAmount": 0.0,
                    "jurisCode": "53",
                    "jurisName": "WASHINGTON",
                    "stateAssignedNo": "",
                    "jurisType": "State",
                    "jurisdictionType": "State",
                    "nonTaxableAmount": 0.0,
                    "rate": 0.065,
                    "tax": 6.5,
                    "taxableAmount": 100.0,
                    "taxType": "Sales",
                    "taxSubTypeId": "S",
                    "taxName": "WA STATE TAX",
                    "taxAuthorityTypeId": 45,
                    "taxCalculated": 6.5,
                    "rateType": "General",
                },
                {
                    "country": "US",
                    "region": "WA",
                    "jurisCode": "033",
                    "jurisName": "KING",
                    "jurisType": "County",
                    "rate": 0.0,
                    "tax": 0.0,
                    "taxableAmount": 100.0,
                    "taxType": "Sales",
                    "taxName": "WA COUNTY TAX",
                    "rateType": "General",
                },
                {
                    "country": "US",
                    "region": "WA",
                    "jurisCode": "63000",
                    "jurisName": "SEATTLE",
                    "jurisType": "City",
                    "rate": 0.0215,
                    "tax": 2.15,
                    "taxableAmount": 100.0,
                    "taxType": "Sales",
                    "taxName": "WA CITY TAX",
                    "rateType": "General",
                },
                {
                    "country": "US",
                    "region": "WA",
                    "jurisCode": "EMTN0",
                    "jurisName": "KING COUNTY RTA",
                    "jurisType": "Special",
                    "rate": 0.016,
                    "tax": 1.6,
                    "taxableAmount": 100.0,
                    "taxType": "Sales",
                    "taxName": "WA SPECIAL TAX",
                    "rateType": "General",
                },
            ],
        }
    ],
    "addresses": [],
    "summary": [],
}

AVATAX_RATES_BY_ADDRESS = {
    "totalRate": 0.1025,
    "rates": [
        {"rate": 0.065, "name": "WASHINGTON", "type": "State"},
        {"rate": 0.0, "name": "KING", "type": "County"},
        {"rate": 0.0215, "name": "SEATTLE", "type": "City"},
        {"rate": 0.016, "name": "KING COUNTY RTA", "type": "Special"},
    ],
}

AVATAX_PING = {
    "version": "26.11.0",
    "authenticated": True,
    "authenticationType": "UsernamePassword",
    "authenticatedUserName": "acme-tax",
    "authenticatedUserId": 98765,
    "authenticatedAccountId": 1100012345,
    "crmid": "1111",
}


def avatax_error(
    code: str, message: str, *, target: str, fault: str = "Client", refers_to: str | None = None
) -> dict[str, Any]:
    """AvaTax's ErrorResult."""
    return {
        "error": {
            "code": code,
            "message": message,
            "target": target,
            "details": [
                {
                    "code": code,
                    "number": 309,
                    "message": message,
                    "description": f"{message} (detail)",
                    "faultCode": fault,
                    "helpLink": f"https://developer.avalara.com/avatax/errors/{code}",
                    "refersTo": refers_to,
                    "severity": "Error",
                }
            ],
        }
    }


# TaxJar POST /v2/taxes to Los Angeles, CA: one line item with state, county and district tax.
TAXJAR_TAX_US: dict[str, Any] = {
    "tax": {
        "order_total_amount": 100.0,
        "shipping": 0.0,
        "taxable_amount": 100.0,
        "amount_to_collect": 9.5,
        "rate": 0.095,
        "has_nexus": True,
        "freight_taxable": False,
        "tax_source": "destination",
        "exemption_type": None,
        "jurisdictions": {
            "country": "US",
            "state": "CA",
            "county": "LOS ANGELES",
            "city": "LOS ANGELES",
        },
        "breakdown": {
            "taxable_amount": 100.0,
            "tax_collectable": 9.5,
            "combined_tax_rate": 0.095,
            "state_taxable_amount": 100.0,
            "state_tax_rate": 0.0625,
            "state_tax_collectable": 6.25,
            "county_taxable_amount": 100.0,
            "county_tax_rate": 0.01,
            "county_tax_collectable": 1.0,
            "city_taxable_amount": 0.0,
            "city_tax_rate": 0.0,
            "city_tax_collectable": 0.0,
            "special_district_taxable_amount": 100.0,
            "special_tax_rate": 0.0225,
            "special_district_tax_collectable": 2.25,
            "line_items": [
                {
                    "id": "1",
                    "taxable_amount": 100.0,
                    "tax_collectable": 9.5,
                    "combined_tax_rate": 0.095,
                    "state_taxable_amount": 100.0,
                    "state_sales_tax_rate": 0.0625,
                    "state_amount": 6.25,
                    "county_taxable_amount": 100.0,
                    "county_tax_rate": 0.01,
                    "county_amount": 1.0,
                    "city_taxable_amount": 0.0,
                    "city_tax_rate": 0.0,
                    "city_amount": 0.0,
                    "special_district_taxable_amount": 100.0,
                    "special_tax_rate": 0.0225,
                    "special_district_amount": 2.25,
                }
            ],
        },
    }
}

# TaxJar POST /v2/taxes to Toronto, ON: GST and PST (HST split as TaxJar reports it).
TAXJAR_TAX_CA: dict[str, Any] = {
    "tax": {
        "order_total_amount": 100.0,
        "shipping": 0.0,
        "taxable_amount": 100.0,
        "amount_to_collect": 13.0,
        "rate": 0.13,
        "has_nexus": True,
        "freight_taxable": True,
        "tax_source": "destination",
        "jurisdictions": {"country": "CA", "state": "ON", "city": "TORONTO"},
        "breakdown": {
            "taxable_amount": 100.0,
            "tax_collectable": 13.0,
            "combined_tax_rate": 0.13,
            "gst_taxable_amount": 100.0,
            "gst_tax_rate": 0.05,
            "gst": 5.0,
            "pst_taxable_amount": 100.0,
            "pst_tax_rate": 0.08,
            "pst": 8.0,
            "qst_taxable_amount": 0.0,
            "qst_tax_rate": 0.0,
            "qst": 0.0,
            "line_items": [
                {
                    "id": "1",
                    "taxable_amount": 100.0,
                    "tax_collectable": 13.0,
                    "combined_tax_rate": 0.13,
                    "gst_taxable_amount": 100.0,
                    "gst_tax_rate": 0.05,
                    "gst": 5.0,
                    "pst_taxable_amount": 100.0,
                    "pst_tax_rate": 0.08,
                    "pst": 8.0,
                    "qst_taxable_amount": 0.0,
                    "qst_tax_rate": 0.0,
                    "qst": 0.0,
                }
            ],
        },
    }
}

# No nexus in the destination: nothing to collect, and TaxJar sends no breakdown.
TAXJAR_TAX_NO_NEXUS: dict[str, Any] = {
    "tax": {
        "order_total_amount": 100.0,
        "shipping": 0.0,
        "taxable_amount": 0.0,
        "amount_to_collect": 0.0,
        "rate": 0.0,
        "has_nexus": False,
        "freight_taxable": False,
        "tax_source": None,
        "exemption_type": None,
    }
}

TAXJAR_RATE_US = {
    "rate": {
        "zip": "90002",
        "country": "US",
        "country_rate": "0.0",
        "state": "CA",
        "state_rate": "0.0625",
        "county": "LOS ANGELES",
        "county_rate": "0.01",
        "city": "WATTS",
        "city_rate": "0.0",
        "combined_district_rate": "0.025",
        "combined_rate": "0.0975",
        "freight_taxable": False,
    }
}

TAXJAR_RATE_CA = {
    "rate": {
        "zip": "V5K0A1",
        "city": "Vancouver",
        "state": "BC",
        "country": "CA",
        "combined_rate": "0.12",
    }
}

TAXJAR_RATE_EU = {
    "rate": {
        "country": "FI",
        "name": "Finland",
        "standard_rate": "0.24",
        "reduced_rate": "0.0",
        "super_reduced_rate": "0.0",
        "parking_rate": "0.0",
        "distance_sale_threshold": "0.0",
        "freight_taxable": True,
    }
}

TAXJAR_CATEGORIES = {
    "categories": [
        {
            "name": "Clothing",
            "product_tax_code": "20010",
            "description": "All human wearing apparel suitable for general use",
        }
    ]
}


def taxjar_error(status: int, error: str, detail: str) -> dict[str, Any]:
    return {"error": error, "detail": detail, "status": status}
