"""Database connections on the async call path."""

from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, TypeVar

from django.db import connection

from apps.core.errors import database_unavailable

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
        try:
            return work(*args, **kwargs)
        except Exception as exc:
            if (unavailable := database_unavailable(exc)) is None or unavailable is exc:
                raise
            raise unavailable from exc
        finally:
            connection_release()

    return run
