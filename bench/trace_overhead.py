"""What tracing costs a call, in one run: the code before tracing, tracing off, tracing on.

    .venv/bin/python bench/trace_overhead.py BEFORE_COMMIT [AFTER_COMMIT]

A short run of bench/run.sh's setup (fixer-format upstream, gunicorn with uvicorn workers,
DEBUG off, PostgreSQL ledger, Redis), with three gateways side by side, each from a clean
`git archive` of its commit: `before` (BEFORE_COMMIT), `off` (AFTER_COMMIT, default HEAD, no
OTEL_* variable) and `on` (the same code with OTEL_EXPORTER_OTLP_ENDPOINT pointing at a local
OTLP/HTTP sink that answers 200 and drops the spans). Each is loaded with wrk in turns, the
order rotating each round; reported per target: medians of requests/s, p50/p99 and the
gateway processes' CPU milliseconds per call (from /proc: the figure least moved by other
work on a shared machine).

Knobs (environment): TRACE_BENCH_ROUNDS (3), TRACE_BENCH_DURATION (10), TRACE_BENCH_CONNS
(32), TRACE_BENCH_WORKERS (2), TRACE_BENCH_DB (gateway_trace_bench), TRACE_BENCH_REDIS_DB (12),
TRACE_BENCH_PORT (18381: the upstream; gateways and sink on the next ports).
"""

from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PY = str(ROOT / ".venv" / "bin" / "python")
GUNICORN = str(ROOT / ".venv" / "bin" / "gunicorn")
CALL = "/api/v1/services/currency/latest_rates/"
BODY = '{"base":"EUR"}'
ROUNDS = int(os.environ.get("TRACE_BENCH_ROUNDS", "3"))
DURATION = int(os.environ.get("TRACE_BENCH_DURATION", "10"))
CONNS = int(os.environ.get("TRACE_BENCH_CONNS", "32"))
WORKERS = os.environ.get("TRACE_BENCH_WORKERS", "2")
DB = os.environ.get("TRACE_BENCH_DB", "gateway_trace_bench")
REDIS_DB = os.environ.get("TRACE_BENCH_REDIS_DB", "12")
PORT = int(os.environ.get("TRACE_BENCH_PORT", "18381"))
TICK = os.sysconf("SC_CLK_TCK")


class _Sink(BaseHTTPRequestHandler):
    """An OTLP/HTTP collector that takes every export and keeps nothing."""

    exports = 0

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        type(self).exports += 1
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def tree(commit: str, into: Path) -> Path:
    into.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "archive", commit], cwd=ROOT, check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def cpu_ticks(master: int) -> int:
    """utime + stime of a gunicorn master and its workers."""
    pids = [master] + [
        int(p) for p in Path(f"/proc/{master}/task/{master}/children").read_text().split()
    ]
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total


def ready(port: int, key: str, within_s: float = 300) -> None:
    """Wait until the gateway on `port` serves a call (workers boot slowly on a busy box)."""
    deadline = time.monotonic() + within_s
    while True:
        answer = subprocess.run(
            ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST",
             "-H", f"Authorization: Api-Key {key}", "-H", "Content-Type: application/json",
             "--data", BODY, f"http://127.0.0.1:{port}{CALL}"],
            capture_output=True, text=True,
        ).stdout  # fmt: skip
        if answer == "200":
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"the gateway on port {port} answers {answer!r}")
        time.sleep(1)


def wrk(port: int, conns: int, seconds: int, key: str) -> dict[str, float]:
    env = {**os.environ, "BENCH_BODY": BODY, "BENCH_AUTH": f"Api-Key {key}"}
    out = subprocess.run(
        ["wrk", "-t1", f"-c{conns}", f"-d{seconds}s", "--timeout", "5s", "-s",
         str(ROOT / "bench/wrk/report.lua"), f"http://127.0.0.1:{port}{CALL}"],
        env=env, check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    line = next(x for x in out.splitlines() if x.startswith("BENCH "))
    return json.loads(line[6:])


def main(before: str, after: str) -> None:
    work = Path(tempfile.mkdtemp(prefix="trace-bench."))
    trees = {"before": tree(before, work / "before"), "after": tree(after, work / "after")}
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{DB}",
        "REDIS_URL": f"redis://127.0.0.1:6379/{REDIS_DB}",
        "SECRET_KEY": "bench-only-secret-key-not-for-production-" + "x" * 20,
        "DEBUG": "false",
        "LOG_LEVEL": "WARNING",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "GATEWAY_ENV_FILE": "",
        "GATEWAY_EGRESS_ALLOW_PRIVATE": "true",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    for name in [k for k in env if k.startswith("OTEL_") or k == "DJANGO_SETTINGS_MODULE"]:
        del env[name]
    env["FIELD_ENCRYPTION_KEY"] = subprocess.run(
        [PY, "-c", "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    psql = ["psql", "-q", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres"]
    subprocess.run([*psql, "-c", f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)"], check=True)
    subprocess.run([*psql, "-c", f"CREATE DATABASE {DB}"], check=True)
    subprocess.run(["redis-cli", "-n", REDIS_DB, "FLUSHDB"], check=True, capture_output=True)
    after_dir = trees["after"]
    manage = [PY, "manage.py"]
    subprocess.run([*manage, "migrate", "--noinput", "-v", "0"], cwd=after_dir, env=env, check=True)

    procs: list[subprocess.Popen[bytes]] = []
    upstream = f"http://127.0.0.1:{PORT}"
    procs.append(subprocess.Popen([PY, "bench/upstream.py", "--port", str(PORT)], cwd=after_dir))
    config = (after_dir / "bench/bench.yaml").read_text().replace("@UPSTREAM@", upstream)
    (work / "bench.yaml").write_text(config)
    subprocess.run(
        [*manage, "gateway_apply", str(work / "bench.yaml")],
        cwd=after_dir, env=env, check=True, capture_output=True,
    )  # fmt: skip
    key = subprocess.run(
        [*manage, "create_api_key", "bench", "--name", "bench"],
        cwd=after_dir, env=env, check=True, capture_output=True, text=True,
    ).stdout.strip().splitlines()[-1]  # fmt: skip

    sink = ThreadingHTTPServer(("127.0.0.1", PORT + 4), _Sink)
    threading.Thread(target=sink.serve_forever, daemon=True).start()
    otel = {"OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{PORT + 4}"}
    targets = {
        "before": (trees["before"], PORT + 1, {}),
        "off": (after_dir, PORT + 2, {}),
        "on": (after_dir, PORT + 3, otel),
    }
    masters: dict[str, int] = {}
    logs = [(work / f"{name}.log").open("w") for name in targets]
    try:
        for (name, (cwd, port, extra)), log in zip(targets.items(), logs, strict=True):
            server = subprocess.Popen(
                [GUNICORN, "gateway_project.asgi:application", "-k",
                 "uvicorn_worker.UvicornWorker", "-w", WORKERS, "--bind", f"127.0.0.1:{port}"],
                cwd=cwd, env={**env, **extra}, stderr=log,
            )  # fmt: skip
            procs.append(server)
            masters[name] = server.pid
        for _, port, _ in targets.values():
            ready(port, key)
            wrk(port, CONNS, 5, key)  # warm-up
        results: dict[str, list[dict[str, float]]] = {name: [] for name in targets}
        order = list(targets)
        for round_ in range(ROUNDS):
            for name in order[round_ % 3 :] + order[: round_ % 3]:
                port = targets[name][1]
                ticks = cpu_ticks(masters[name])
                run = wrk(port, CONNS, DURATION, key)
                used_ms = (cpu_ticks(masters[name]) - ticks) * 1000 / TICK
                run["cpu_ms_per_call"] = used_ms / max(run["requests"], 1)
                one = wrk(port, 1, max(DURATION // 2, 3), key)
                run["one_p50_ms"] = one["p50_ms"]
                if run["non2xx"] + run["socket_errors"] + one["non2xx"] + one["socket_errors"]:
                    raise RuntimeError(f"{name}: calls failed; see {work}")
                results[name].append(run)
                print(
                    f"round {round_ + 1} {name:6} {run['rps']:7.1f} req/s  p50 {run['p50_ms']:6.2f}"
                    f"  p99 {run['p99_ms']:6.2f} ms  cpu {run['cpu_ms_per_call']:.2f} ms/call"
                    f"  c=1 p50 {one['p50_ms']:.2f} ms"
                    f"  errors {run['non2xx'] + run['socket_errors']}",
                    flush=True,
                )
        print(f"\nOTLP exports received by the sink: {_Sink.exports}")
        print(f"\n| target | req/s (c={CONNS}) | p50 ms | p99 ms | CPU ms/call | p50 ms (c=1) |")
        print("| --- | --- | --- | --- | --- | --- |")
        for name, runs in results.items():
            med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
            print(
                f"| {name} | {med['rps']:.0f} | {med['p50_ms']:.2f} | {med['p99_ms']:.2f} "
                f"| {med['cpu_ms_per_call']:.2f} | {med['one_p50_ms']:.2f} |"
            )
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
        sink.shutdown()
        for log in logs:
            log.close()


if __name__ == "__main__":
    # Stopped with a signal (as a background job ignores SIGINT): still stop the servers.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "HEAD")
