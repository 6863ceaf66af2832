"""SMS vendors' documented answers, verbatim in shape."""

TWILIO_SID = "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
TWILIO_MESSAGE_SID = "SMbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

TWILIO_CREATED = {
    "account_sid": TWILIO_SID,
    "api_version": "2010-04-01",
    "body": "Your code is 123456",
    "date_created": "Sun, 29 Nov 2026 07:25:01 +0000",
    "date_sent": None,
    "date_updated": "Sun, 29 Nov 2026 07:25:01 +0000",
    "direction": "outbound-api",
    "error_code": None,
    "error_message": None,
    "from": "+14155550100",
    "messaging_service_sid": None,
    "num_media": "0",
    "num_segments": "1",
    "price": None,
    "price_unit": "USD",
    "sid": TWILIO_MESSAGE_SID,
    "status": "queued",
    "subresource_uris": {
        "media": f"/2010-04-01/Accounts/{TWILIO_SID}/Messages/{TWILIO_MESSAGE_SID}/Media.json"
    },
    "to": "+447700900123",
    "uri": f"/2010-04-01/Accounts/{TWILIO_SID}/Messages/{TWILIO_MESSAGE_SID}.json",
}


def twilio_error(code: int, message: str, status: int = 400) -> dict:
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


VONAGE_SENT = {
    "message-count": "2",
    "messages": [
        {
            "to": "447700900123",
            "message-id": "0A0000000123ABCD1",
            "status": "0",
            "remaining-balance": "3.14159265",
            "message-price": "0.03330000",
            "network": "23410",
        },
        {
            "to": "447700900123",
            "message-id": "0A0000000123ABCD2",
            "status": "0",
            "remaining-balance": "3.10829265",
            "message-price": "0.03330000",
            "network": "23410",
        },
    ],
}


def vonage_error(status: str, text: str) -> dict:
    return {"message-count": "1", "messages": [{"status": status, "error-text": text}]}
