"""Log filters and formats: the request id of the call being served on every line, no
credential on any, and one JSON object per line when LOG_FORMAT=json."""

import logging
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.orjson import OrjsonFormatter

from apps.core.redaction import known_secrets, mask

# Outside a call (startup, beat, a task sent by no call) the request id is unset: "-" in the
# plain format, null in JSON.
NO_REQUEST_ID = "-"
request_id_var: ContextVar[str] = ContextVar("request_id", default=NO_REQUEST_ID)

# What every record has; anything else on a record is an extra field (logger.info(extra=...)).
_STANDARD = frozenset(RESERVED_ATTRS) | {"message", "asctime", "request_id"}


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


class SecretMaskFilter(logging.Filter):
    """Masks every configured provider's credential values in a record, wherever they are.

    Installed on every handler: the record is rewritten in place (message merged with its
    args, exception and stack text formatted and masked, extra fields masked), so that each
    handler after it, and anything that keeps records, sees the masked text only.
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
        for name in record.__dict__.keys() - _STANDARD:  # the extra fields
            record.__dict__[name] = _masked(record.__dict__[name], secrets)
        return True


def _masked(value: Any, secrets: tuple[str, ...]) -> Any:
    if isinstance(value, str):
        return mask(value, secrets)
    if isinstance(value, dict):
        return {key: _masked(item, secrets) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_masked(item, secrets) for item in value]
    return value


_formatter = logging.Formatter()


class JsonFormatter(OrjsonFormatter):
    """One JSON object per line: time, level, logger, message, request_id (null outside a
    call), the record's extra fields, and `exc_info` (the traceback's text) when there is one.

    The line is masked once more as a whole: a server's own handlers (uvicorn, gunicorn) get
    this formatter too, and whatever reached a record past the filters does not get out.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("reserved_attrs", [*RESERVED_ATTRS, "request_id", "color_message"])
        super().__init__(*args, **kwargs)

    def add_fields(
        self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]
    ) -> None:
        log_data["time"] = datetime.fromtimestamp(record.created, tz=UTC).isoformat()
        log_data["level"] = record.levelname
        log_data["logger"] = record.name
        log_data["message"] = record.message
        request_id = getattr(record, "request_id", None) or request_id_var.get()
        log_data["request_id"] = None if request_id == NO_REQUEST_ID else request_id
        super().add_fields(log_data, record, message_dict)
        if record.exc_text:  # the traceback as SecretMaskFilter left it (masked)
            log_data["exc_info"] = record.exc_text

    def serialize_log_record(self, log_data: dict[str, Any]) -> str:
        return mask(super().serialize_log_record(log_data))
