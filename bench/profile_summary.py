"""Summarise py-spy `--format raw` profiles (collapsed stacks) of gateway workers.

    python bench/profile_summary.py /tmp/gateway-bench.*/profile-*.txt [--top 30]

Prints, as shares of all samples: the request phases of the gateway's call path (each sample
charged to exactly one), the functions where the time is spent (self), and the functions
whose calls take the most time including callees (inclusive). Record with `--gil` so the
samples are where the worker's Python code holds the interpreter, i.e. its CPU time.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^():]+)(?::(?P<line>\d+))?\)$")
_IDLE = ("select (selectors.py", "run_once (uvloop", "_run_once (asyncio/base_events.py")

# Each sample is charged to one phase. The operations of a call win wherever they are on the
# stack (the ORM and psycopg work inside credit_hold counts as the credit hold); otherwise the
# innermost structural layer wins (a lock handoff inside sync_to_async inside a middleware is
# "sync/async bridging").
OPERATIONS = [
    ("DB: credit hold (ORM, psycopg)", ("credit_hold (apps/billing",)),
    ("DB: ledger row (ORM, psycopg, commit)", ("ledger_record_call (apps/ledger",)),
    ("DB: catalog snapshot rebuild", ("build_snapshot (apps/gateway",)),
    ("fixer body -> normalised rates (Decimal)", ("(apps/integrations/currency/rates.py",)),
    ("httpx/httpcore request to the upstream", ("(httpx/", "(httpcore/", "(h11/")),
    ("Redis: read versions", ("read_versions (apps/core/state.py",)),
    ("authenticate", ("authenticate_headers (apps/accounts",)),
    ("validate payload (DRF)", ("_validate (apps/gateway/pipeline.py",)),
    ("render response JSON", ("GatewayResponse.render",)),
]
LAYERS = [
    (
        "sync/async bridging and thread handoffs",
        ("(asgiref/", "(threading.py", "(concurrent/futures/"),
    ),
    ("pipeline and routing glue", ("(apps/gateway/", "(apps/routing/", "(apps/catalog/")),
    (
        "Django middleware",
        ("(django/middleware/", "(django/contrib/", "(whitenoise/", "(apps/core/middleware.py"),
    ),
    ("Django request handling (handler, URLs, signals)", ("(django/",)),
    ("DB driver and pool (psycopg)", ("(psycopg/", "(psycopg_pool/")),
    ("uvicorn HTTP server", ("(uvicorn/", "(httptools")),
    ("asyncio event loop", ("(asyncio/",)),
]


def _phase(frames: list[str]) -> str:
    for label, markers in OPERATIONS:
        if any(marker in frame for frame in frames for marker in markers):
            return label
    for frame in reversed(frames):
        for label, markers in LAYERS:
            if any(marker in frame for marker in markers):
                return label
    return "other"


def _name(frame: str) -> str:
    match = _FRAME.match(frame)
    if not match:
        return frame
    return f"{match['func']} ({match['file']})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("profiles", nargs="+", type=Path)
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args()

    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    phases: Counter[str] = Counter()
    total = idle = 0
    for path in args.profiles:
        for line in path.read_text().splitlines():
            stack, _, count_text = line.rpartition(" ")
            if not stack or not count_text.isdigit():
                continue
            count = int(count_text)
            frames = stack.split(";")
            total += count
            leaf = frames[-1]
            if any(marker in leaf for marker in _IDLE):
                idle += count
                continue
            own[_name(leaf)] += count
            for name in {_name(frame) for frame in frames}:
                inclusive[name] += count
            phases[_phase(frames)] += count
    if not total:
        print("no samples")
        return

    def share(n: int) -> str:
        return f"{100 * n / total:5.1f}%"

    idle_note = f"; idle (event loop waiting) {share(idle)}" if idle else ""
    print(f"{total} samples from {len(args.profiles)} processes{idle_note}")
    print("\nPhases (each sample charged to its innermost phase; share of all samples):")
    for label, n in phases.most_common():
        print(f"  {share(n)}  {label}")
    print(f"\nTop {args.top} functions by self time:")
    for name, n in own.most_common(args.top):
        print(f"  {share(n)}  {name}")
    print(f"\nTop {args.top} functions by inclusive time:")
    for name, n in inclusive.most_common(args.top):
        print(f"  {share(n)}  {name}")


if __name__ == "__main__":
    main()
