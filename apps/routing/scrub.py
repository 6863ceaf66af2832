"""Making text stored before issue #12 safe: provider errors copied from libraries.

Until then an attempt's `error` (ledger rows, background calls), a breaker's last error and
a purchase's DNS error held exception text: `ReadTimeout: ... url='https://…?access_key=…'`.
The data migration ledger 0008 rewrites it with these functions into the reasons new
attempts get (apps.routing.attempts); text that names no known failure is scrubbed (URL
queries dropped, credentials masked, shortened).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from apps.catalog.failures import reason_named, scrub
from apps.core import state
from apps.routing.breaker_rules import breaker_key

# "ReadTimeout: SocketTimeoutError: …", "ConnectError", "RuntimeError('disk on fire')"
_LEADING_CLASS = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(?::\s|\(|$)")
_ANSWER = re.compile(r"^unexpected answer: ([A-Za-z_][A-Za-z0-9_]*)\(")
_STORED_FIELDS = ("last_error", "probe_error")


def stored_reason(text: str, secrets: Sequence[str] = ()) -> str:
    """An error text as it would be written now."""
    if not text:
        return text
    answer = _ANSWER.match(text)
    if answer:
        return f"unexpected answer shape ({answer.group(1)})"
    if text.startswith("the answer is not XML"):
        return "answer not XML"
    leading = _LEADING_CLASS.match(text)
    if leading:
        name = leading.group(1)
        reason = reason_named(name)
        if reason is not None:
            return reason
        if text[len(name) : len(name) + 1] == "(":  # repr() of an adapter's own exception
            return f"raised {name}"
    return scrub(text, secrets)


def stored_attempts(attempts: Any, secrets: Sequence[str] = ()) -> Any:
    """A stored attempts list with every `error` rewritten; anything else kept as it is."""
    if not isinstance(attempts, list):
        return attempts
    return [
        {**a, "error": stored_reason(a["error"], secrets)}
        if isinstance(a, dict) and isinstance(a.get("error"), str)
        else a
        for a in attempts
    ]


def breaker_errors_scrub(offering_ids: Iterable[int], secrets: Sequence[str] = ()) -> int:
    """Rewrite the last errors kept in the breakers' Redis hashes; how many were changed.

    Without Redis there is nothing stored (a process's memory starts empty)."""
    keys = [breaker_key(i) for i in offering_ids]
    if not keys or not state.redis_usable():
        return 0
    changed = 0
    try:
        client = state.sync_client()
        pipe = client.pipeline(transaction=False)
        for key in keys:
            pipe.hmget(key, *_STORED_FIELDS)
        for key, values in zip(keys, pipe.execute(), strict=True):
            update: dict[Any, Any] = {}  # redis-py wants its own key and value types
            for name, raw in zip(_STORED_FIELDS, values, strict=True):
                text = raw.decode() if isinstance(raw, bytes) else raw
                if text and stored_reason(text, secrets) != text:
                    update[name] = stored_reason(text, secrets)
            if update:
                client.hset(key, mapping=update)
                changed += 1
    except state.REDIS_ERRORS:
        state.note_redis_unreachable("breakers and weights")
    return changed
