"""Waiting for something another thread or process does: poll a condition until a deadline,
never sleep a fixed time and hope."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(
    condition: Callable[[], T | None],
    *,
    timeout: float = 30.0,
    what: str = "the condition",
    interval: float = 0.05,
    ignoring: tuple[type[BaseException], ...] = (),
    unless: Callable[[], bool] | None = None,
    details: Callable[[], str] | None = None,
) -> T:
    """Call `condition` until it returns something truthy, and return that.

    Fails (AssertionError) once a call begun after `timeout` seconds has not returned it
    (so a slow call that straddles the deadline is never the last word), or at once when
    `unless()` is true (e.g. the process being waited for has exited). Exceptions in
    `ignoring` count as "not yet" (a server still starting). `details()` is added to the
    failure (a server's log).
    """
    deadline = time.monotonic() + timeout
    while True:
        began = time.monotonic()
        try:
            value = condition()
        except ignoring:
            value = None
        if value:
            return value
        gave_up = unless is not None and unless()
        if gave_up or began > deadline:
            why = "gave up" if gave_up else f"timed out after {timeout} s"
            extra = f":\n{details()}" if details is not None else ""
            raise AssertionError(f"{why} waiting for {what}{extra}")
        time.sleep(interval)
