"""gunicorn's settings for the web process (Procfile: `gunicorn -c deploy/gunicorn.conf.py`).

Metrics across workers: every worker counts into files in PROMETHEUS_MULTIPROC_DIR, and
`GET /metrics`, whichever worker answers it, adds them all up (prometheus_client's
multiprocess mode). The directory must be set before a worker makes its instruments and
must start empty, so this file, which the master reads before it forks any worker:

- uses PROMETHEUS_MULTIPROC_DIR when it is set (a directory of this server's own: two
  servers must not share one), removing what a previous run left there;
- otherwise makes a private temporary directory and removes it when the server stops.

A worker that exits (a crash, max_requests, a reload) is marked dead: its live gauges go,
its counters stay in the sums, so totals never fall when a worker is replaced.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from prometheus_client import multiprocess

# Set once per master: a reload (SIGHUP) reads this file again and must keep the counts.
_MARK = "GATEWAY_METRICS_DIR_OF"
_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")
if os.environ.get(_MARK, "").split(":")[0] != str(os.getpid()):
    if _dir:
        Path(_dir).mkdir(parents=True, exist_ok=True)
        for _stale in Path(_dir).glob("*.db"):
            _stale.unlink()
        os.environ[_MARK] = f"{os.getpid()}:kept"
    else:
        _dir = tempfile.mkdtemp(prefix="gateway-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = _dir
        os.environ[_MARK] = f"{os.getpid()}:made"


def child_exit(server: Any, worker: Any) -> None:
    multiprocess.mark_process_dead(worker.pid, _dir)


def on_exit(server: Any) -> None:
    if os.environ.get(_MARK, "").endswith(":made"):
        shutil.rmtree(_dir, ignore_errors=True)
