"""Warnings about a deployment whose processes cannot share state, or whose secrets file
other users can read.

Without REDIS_URL, version counters, rate limits and breakers live in each process's memory:
a key revoked or a client suspended in one process reaches the others through a database row
read at most every GATEWAY_SHARED_VERSIONS_TTL_S, and each process counts its own rate limits
and keeps its own breakers. That
is the embedded run's design (one process); in production with several server workers it is
a mistake worth saying out loud, both as a system check (`manage.py check`, `migrate`) and
in the log of every server worker that starts.
"""

from __future__ import annotations

import logging
import os
import stat
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from django.conf import settings
from django.core import checks

logger = logging.getLogger(__name__)

_WORKER_FLAGS = ("--workers", "-w")


def server_worker_count(argv: Sequence[str], environ: Mapping[str, str]) -> int:
    """How many server processes this one is part of.

    gunicorn (`-w N`, `--workers N`) and uvicorn (`--workers N`) both default to
    WEB_CONCURRENCY. A worker process sees its server's command line: gunicorn forks it, and
    uvicorn's spawned workers get the parent's argv from multiprocessing.
    """
    for index, arg in enumerate(argv):
        for flag in _WORKER_FLAGS:
            value: str | None = None
            if arg == flag and index + 1 < len(argv):
                value = argv[index + 1]
            elif arg.startswith(flag + "="):
                value = arg.partition("=")[2]
            elif flag == "-w" and arg.startswith("-w") and arg[2:].isdigit():
                value = arg[2:]
            if value is not None and value.isdigit():
                return int(value)
    concurrency = environ.get("WEB_CONCURRENCY", "")
    return int(concurrency) if concurrency.isdigit() else 1


def shared_state_problem(argv: Sequence[str], environ: Mapping[str, str]) -> str | None:
    """The warning to give, or None when this deployment shares its state (or needs not)."""
    if settings.DEBUG or settings.REDIS_URL:
        return None
    workers = server_worker_count(argv, environ)
    if workers <= 1:
        return None
    return (
        f"{workers} server workers without REDIS_URL: each keeps its own rate limits, "
        "breakers and caches, and a revoked key or suspended client is still accepted by "
        "the others for up to "
        f"GATEWAY_SHARED_VERSIONS_TTL_S={settings.GATEWAY_SHARED_VERSIONS_TTL_S:g} "
        "seconds. Set REDIS_URL."
    )


@checks.register(checks.Tags.caches)
def check_shared_state(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    problem = shared_state_problem(sys.argv, os.environ)
    return [checks.Warning(problem, id="gateway.W001")] if problem else []


def env_file_problem(path: str) -> str | None:
    """The .env holds SECRET_KEY and FIELD_ENCRYPTION_KEY: other users must not read it."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None
    if stat.S_IMODE(mode) & (stat.S_IRWXG | stat.S_IRWXO):
        return f"{path} holds secrets and other users may read it: chmod 600 {path}"
    return None


@checks.register(checks.Tags.security)
def check_env_file(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    problem = env_file_problem(settings.ENV_FILE) if settings.ENV_FILE else None
    return [checks.Warning(problem, id="gateway.W002")] if problem else []


def warn_at_startup() -> None:
    """Log the deployment's problems once, when a server worker loads the application."""
    problems = [
        shared_state_problem(sys.argv, os.environ),
        env_file_problem(settings.ENV_FILE) if settings.ENV_FILE else None,
    ]
    for problem in filter(None, problems):
        logger.warning("%s", problem)
