"""GoDaddy's documented answers (https://developer.godaddy.com/doc/endpoint/domains):
prices in micro-units, errors as {"code", "message", "fields": [{"path", "code", "message"}]}."""

GODADDY_URL = "https://godaddy.test"
CREDENTIALS = {"api_key": "gd-key", "api_secret": "gd-secret"}
AUTHORIZATION = "sso-key gd-key:gd-secret"
DOMAIN = "lovelace-engines.com"


def available(price_micro: int = 11990000, *, domain: str = DOMAIN) -> dict:
    return {
        "available": True,
        "domain": domain,
        "definitive": True,
        "price": price_micro,
        "currency": "USD",
        "period": 1,
    }


def taken(domain: str = DOMAIN) -> dict:
    return {"available": False, "domain": domain, "definitive": True}


AGREEMENTS = [
    {
        "agreementKey": "DNRA",
        "title": "Domain Name Registration Agreement",
        "url": "https://www.godaddy.com/agreements/showdoc?pageid=REG_SA",
        "content": "<p>...</p>",
    }
]

SUBACCOUNT_CREATED = {
    "shopperId": "583010277",
    "customerId": "7ad5c7a1-0000-4c8b-9a2f-0e3c1f0d0b11",
}
PURCHASED = {"orderId": 1480923719, "itemCount": 1, "total": 11990000, "currency": "USD"}
RENEWED = {"orderId": 1480923800, "itemCount": 1, "total": 23980000, "currency": "USD"}

DOMAIN_DETAIL = {
    "domain": DOMAIN,
    "domainId": 366712911,
    "status": "ACTIVE",
    "expires": "2027-11-29T16:30:00.000Z",
    "renewAuto": False,
    "nameServers": ["ns61.domaincontrol.com", "ns62.domaincontrol.com"],
    "createdAt": "2026-11-29T16:30:00.000Z",
    "locked": True,
    "privacy": False,
}


def error(code: str, message: str, fields: list[dict] | None = None) -> dict:
    body: dict = {"code": code, "message": message}
    if fields is not None:
        body["fields"] = fields
    return body


UNKNOWN_DOMAIN = error(
    "UNKNOWN_DOMAIN", "The given domain is not registered, or does not have a zone file"
)
INVALID_POSTAL_CODE = error(
    "INVALID_BODY",
    "Request body doesn't fulfill schema, see details in `fields`",
    [
        {
            "code": "INVALID_POSTAL_CODE",
            "message": "postalCode is not valid for country DE",
            "path": "body.contactRegistrant.addressMailing.postalCode",
        }
    ],
)
UNAUTHORIZED = error("UNABLE_TO_AUTHENTICATE", "Unable to authenticate the request")
TOO_MANY = {
    **error("TOO_MANY_REQUESTS", "Too many requests received within interval"),
    "retryAfterSec": 30,
}
