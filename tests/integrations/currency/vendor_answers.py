"""Answers in each vendor's documented format, as respx returns them in the tests."""

from typing import Any

FIXER_LATEST = {
    "success": True,
    "timestamp": 1519296206,
    "base": "EUR",
    "date": "2026-11-29",
    "rates": {"EUR": 1, "USD": 1.23396, "GBP": 0.88245, "JPY": 133.4821, "CHF": 1.1525},
}
FIXER_CONVERT = {
    "success": True,
    "query": {"from": "GBP", "to": "JPY", "amount": 25},
    "info": {"timestamp": 1519328414, "rate": 148.972231},
    "historical": "",
    "date": "2026-11-29",
    "result": 3724.305775,
}

CURRENCYLAYER_LIVE = {
    "success": True,
    "terms": "https://currencylayer.com/terms",
    "privacy": "https://currencylayer.com/privacy",
    "timestamp": 1432400348,  # 2015-05-23 16:59:08 UTC
    "source": "USD",
    "quotes": {"USDUSD": 1, "USDAUD": 1.278342, "USDEUR": 0.908, "USDGBP": 0.645702},
}
CURRENCYLAYER_CONVERT = {
    "success": True,
    "terms": "https://currencylayer.com/terms",
    "privacy": "https://currencylayer.com/privacy",
    "query": {"from": "USD", "to": "GBP", "amount": 10},
    "info": {"timestamp": 1430068515, "quote": 0.658443},  # 2015-04-26 17:15:15 UTC
    "result": 6.58443,
}

OXR_LATEST = {
    "disclaimer": "Usage subject to terms: https://openexchangerates.org/terms",
    "license": "https://openexchangerates.org/license",
    "timestamp": 1449877801,  # 2015-12-11 23:50:01 UTC
    "base": "USD",
    "rates": {"AED": 3.672538, "EUR": 0.913492, "GBP": 0.66005, "JPY": 121.5005, "USD": 1},
}

ECB_DAILY = b"""<?xml version="1.0" encoding="UTF-8"?>
<gesmes:Envelope xmlns:gesmes="http://www.gesmes.org/xml/2002-08-01"
    xmlns="http://www.ecb.int/vocabulary/2002-08-01/eurofxref">
  <gesmes:subject>Reference rates</gesmes:subject>
  <gesmes:Sender>
    <gesmes:name>European Central Bank</gesmes:name>
  </gesmes:Sender>
  <Cube>
    <Cube time='2026-11-27'>
      <Cube currency='USD' rate='1.0823'/>
      <Cube currency='JPY' rate='161.84'/>
      <Cube currency='GBP' rate='0.8455'/>
      <Cube currency='CHF' rate='0.9412'/>
    </Cube>
  </Cube>
</gesmes:Envelope>
"""


def apilayer_error(code: int, type_: str, info: str = "") -> dict[str, Any]:
    """fixer's and currencylayer's error body, sent with HTTP 200."""
    return {"success": False, "error": {"code": code, "type": type_, "info": info}}


def oxr_error(status: int, message: str, description: str = "") -> dict[str, Any]:
    return {"error": True, "status": status, "message": message, "description": description}
