"""Log filters: the request id of the call being served on every line, and no credential
on any."""

import logging
from contextvars import ContextVar

from apps.core.redaction import known_secrets, mask

request_id_var: ContextVar[str] = ContextVar("request_id", default="-")


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


class SecretMaskFilter(logging.Filter):
    """Masks every configured provider's credential values in a record, wherever they are.

    Installed on every handler: the record is rewritten in place (message merged with its
    args, exception and stack text formatted and masked), so that each handler after it,
    and anything that keeps records, sees the masked text only.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        secrets = known_secrets()
        if not secrets:
            return True
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: leave it to the handler to report
            return True
        masked = mask(message, secrets)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            record.exc_text = _formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask(record.exc_text, secrets)
        if record.stack_info:
            record.stack_info = mask(record.stack_info, secrets)
        return True


_formatter = logging.Formatter()
