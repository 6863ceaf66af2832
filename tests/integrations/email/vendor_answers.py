"""Email vendors' documented answers, verbatim in shape."""

# SendGrid v3 Mail Send: 202 Accepted, empty body, the id in a header.
SENDGRID_ACCEPTED_HEADERS = {"X-Message-Id": "HsJwG8EbRTaCRpyC0PDHKQ"}


def sendgrid_errors(*errors: tuple[str | None, str]) -> dict:
    return {
        "errors": [
            {
                "message": message,
                "field": field,
                "help": "http://sendgrid.com/docs/API_Reference/Web_API_v3/Mail/errors.html",
            }
            for field, message in errors
        ]
    }


POSTMARK_OK = {
    "To": "Ann Lee <ann@example.org>",
    "SubmittedAt": "2026-11-29T07:25:01.4178645-05:00",
    "MessageID": "0a129aee-e1cd-480d-b08d-4f48548ff48d",
    "ErrorCode": 0,
    "Message": "OK",
}


def postmark_error(code: int, message: str) -> dict:
    return {"ErrorCode": code, "Message": message}


MAILGUN_QUEUED = {
    "id": "<20261129072501.1.4A2D@mg.example.com>",
    "message": "Queued. Thank you.",
}
