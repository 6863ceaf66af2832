"""Database connections on the async call path."""

import time
from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, TypeVar

from django.db import connection

from apps.core.errors import DatabaseUnavailable, database_unavailable

P = ParamSpec("P")
R = TypeVar("R")


def connection_release() -> None:
    """Give this thread's connection back to the pool, unless a transaction is using it.

    An async view's ORM work runs on a thread of the request's own, and Django keeps that
    thread's connection until the response has been sent. A call that then waits seconds for
    a provider would keep a pooled connection idle all that time, so a process could have no
    more calls in flight than its pool has connections.
    """
    if connection.connection is not None and not connection.in_atomic_block:
        connection.close()


def then_release_connection(work: Callable[P, R]) -> Callable[P, R]:
    """`work`, followed by connection_release(): for sync steps run before a provider call.

    A database that cannot be reached raises DatabaseUnavailable, which the call pipeline
    answers as 503 problem+json like every GatewayError (not as the gateway's own bug).
    """

    @wraps(work)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        global _unavailable_at
        if time.monotonic() - _unavailable_at < UNAVAILABLE_HOLD_S:
            raise DatabaseUnavailable()
        try:
            return work(*args, **kwargs)
        except Exception as exc:
            if (unavailable := database_unavailable(exc)) is None:
                raise
            _unavailable_at = time.monotonic()
            if unavailable is exc:
                raise
            raise unavailable from exc
        finally:
            connection_release()

    return run


# After Django's pool found the database away, the sync steps of the next UNAVAILABLE_HOLD_S
# answer 503 at once instead of each waiting DB_POOL_TIMEOUT_S in turn: an ASGI worker runs
# them one after another on its one thread-sensitive thread, so under load the waits added up
# past the calls' deadlines (bench/faults.sh: up to 9.6 s). The first step after the hold
# asks the database again, so service resumes by itself.
UNAVAILABLE_HOLD_S = 1.0
_unavailable_at = -UNAVAILABLE_HOLD_S


def database_unavailable_forget() -> None:
    """Ask the database again at the next step (tests: one test's outage is not the next's)."""
    global _unavailable_at
    _unavailable_at = -UNAVAILABLE_HOLD_S
