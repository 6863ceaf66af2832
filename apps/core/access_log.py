"""Keeps bearer tokens in URLs out of the servers' logs.

A 202's status_url and websocket_url carry a signed `?token=` (apps.realtime.tokens): anyone
holding one may read that call's result until it expires. uvicorn logs every request's path
with its query string (`uvicorn.access`) and every websocket handshake (`uvicorn.error`);
gunicorn does the same in its access log when one is configured. Those lines end up in log
stores many more people read than may read results, so the token's value is replaced there.

The filter sits on the servers' own loggers rather than on our handlers: uvicorn and gunicorn
install their handlers themselves, before Django starts. With LOG_FORMAT=json those handlers
get the JSON formatter too, so a worker's every line is JSON (what a server's supervisor
process logs before it loads the application stays in the server's own format).

The gateway's own access record, one per call with its outcome, is apps.core.log_context's.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

from apps.core.logging import JsonFormatter, SecretMaskFilter
from apps.core.redaction import MASK as REDACTED

# `token=` as a query parameter: after `?` or `&`, up to the next `&`, space or quote.
_QUERY_TOKEN = re.compile(r"(?P<name>[?&]token=)[^&\s\"']*")
SERVER_LOGGERS = ("uvicorn.access", "uvicorn.error", "gunicorn.access", "gunicorn.error")
# uvicorn's own configuration puts its error handler on the parent logger.
SERVER_HANDLER_LOGGERS = ("uvicorn", *SERVER_LOGGERS)


# A client API key ("<8-character prefix>.<32-character secret>", djangorestframework-api-key)
# pasted into a URL, such as the ledger admin's search: the prefix stays, to say which key.
_CLIENT_KEY = re.compile(r"\b(?P<prefix>[A-Za-z0-9]{8})\.[A-Za-z0-9]{32}\b")


def redact_query_tokens(text: str) -> str:
    text = _QUERY_TOKEN.sub(lambda match: match["name"] + REDACTED, text)
    return _CLIENT_KEY.sub(lambda match: match["prefix"] + "." + REDACTED, text)


def _redacted(value: Any) -> Any:
    return redact_query_tokens(value) if isinstance(value, str) else value


class QueryTokenFilter(logging.Filter):
    """Replaces the value of every `token=` query parameter in a record's message and args
    (uvicorn passes the path as a positional arg, gunicorn as a mapping of atoms)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = _redacted(record.msg)
        if isinstance(record.args, Mapping):
            record.args = {key: _redacted(value) for key, value in record.args.items()}
        elif isinstance(record.args, tuple):
            record.args = tuple(_redacted(value) for value in record.args)
        return True


def install_query_token_filter() -> None:
    """Put the filters on the servers' loggers (once each; loggers live for the process):
    tokens out of URLs, and configured credentials out of anything they log (uvicorn's
    "Exception in ASGI application" traceback goes to its own handler, not to LOGGING's)."""
    for name in SERVER_LOGGERS:
        logger = logging.getLogger(name)
        for kind in (QueryTokenFilter, SecretMaskFilter):
            if not any(isinstance(f, kind) for f in logger.filters):
                logger.addFilter(kind())


def install_server_log_format(log_format: str) -> None:
    """With LOG_FORMAT=json, the servers' own handlers write JSON too (same destinations),
    and Python's warnings go through logging (`py.warnings`) rather than raw to stderr."""
    if log_format != "json":
        return
    logging.captureWarnings(True)
    for name in SERVER_HANDLER_LOGGERS:
        for handler in logging.getLogger(name).handlers:
            if not isinstance(handler.formatter, JsonFormatter):
                handler.setFormatter(JsonFormatter())
