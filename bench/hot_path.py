"""A call's worker CPU, measured in-process: the production ASGI application
(gateway_project.asgi:application) driven the way uvicorn drives it, with no server and no
load generator sharing the process, so time.process_time() per call is the gateway's own CPU
(the upstream, PostgreSQL and Redis run in other processes).

    .venv/bin/python bench/hot_path.py --setup            # once: fresh database, catalog, key
    .venv/bin/python bench/hot_path.py --rounds 3         # CPU per call, three rounds
    .venv/bin/python bench/hot_path.py --profile /tmp/hot.prof   # the same under cProfile
    .venv/bin/python bench/hot_path.py --upstream-delay-ms 200 --concurrency 128   # slow

It starts bench/upstream.py (fixer's format, --upstream-port, 19181 by default) for the run,
and uses its own database and Redis db (--db, default gw_hot_3; --redis-db, default 3: take
your own N on a shared machine). --setup recreates that database and configures it as
bench/run.sh does: bench/bench.yaml through gateway_apply, then create_api_key (the key is
kept in /tmp/<db>.key). Each round sends --calls calls (3000) of currency.latest_rates with
--concurrency of them in flight at once (64, as the benchmark's connections), after a
warm-up, and prints the CPU per call in ms, the worker's and that of the PostgreSQL sessions of the
database (DB_GROUP_COMMIT=false in the environment compares without group commit). Every
answer must be a 200 through fixer.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import cProfile
import os
import pstats
import secrets
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PATH = "/api/v1/services/currency/latest_rates/"
BODY = b'{"base":"EUR"}'


def environment(args: argparse.Namespace) -> dict[str, str]:
    """As bench/run.sh has it: DEBUG off, production settings, a fresh secret per run."""
    return {
        **os.environ,
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{args.db}",
        "REDIS_URL": f"redis://127.0.0.1:6379/{args.redis_db}",
        **_keys(args),
        "DEBUG": "false",
        "LOG_LEVEL": "WARNING",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "GATEWAY_ENV_FILE": "",
        "GATEWAY_EGRESS_ALLOW_PRIVATE": "true",
        "DJANGO_SETTINGS_MODULE": "gateway_project.settings",
    }


def _keys(args: argparse.Namespace) -> dict[str, str]:
    """SECRET_KEY and FIELD_ENCRYPTION_KEY: made once by --setup (the provider's credentials
    are encrypted with the second), kept beside the API key in /tmp."""
    kept = Path(f"/tmp/{args.db}.secrets")
    if args.setup or not kept.exists():
        fernet = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
        kept.write_text(f"{secrets.token_urlsafe(50)}\n{fernet}\n")
        kept.chmod(0o600)
    secret_key, fernet = kept.read_text().split()
    return {"SECRET_KEY": secret_key, "FIELD_ENCRYPTION_KEY": fernet}


def setup(args: argparse.Namespace, env: dict[str, str]) -> None:
    """A fresh database with the benchmark's catalog, plan, client and API key."""
    psql = ["psql", "-q", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres"]
    drop = f"DROP DATABASE IF EXISTS {args.db} WITH (FORCE)"
    subprocess.run([*psql, "-c", drop, "-c", f"CREATE DATABASE {args.db}"], check=True)
    subprocess.run(["redis-cli", "-n", str(args.redis_db), "FLUSHDB"], check=True)
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "--noinput", "-v", "0"], check=True, env=env)
    upstream = f"http://127.0.0.1:{args.upstream_port}"
    catalog = Path(f"/tmp/{args.db}.yaml")
    catalog.write_text((ROOT / "bench/bench.yaml").read_text().replace("@UPSTREAM@", upstream))
    subprocess.run([*manage, "gateway_apply", str(catalog)], check=True, env=env)
    made = subprocess.run(
        [*manage, "create_api_key", "bench", "--name", "bench"],
        check=True, env=env, capture_output=True, text=True,
    )  # fmt: skip
    Path(f"/tmp/{args.db}.key").write_text(made.stdout.strip().splitlines()[-1])


async def one_call(app: Any, key: str) -> tuple[int, dict[bytes, bytes]]:
    """One call as uvicorn hands it over; the status and the answer's header fields."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": PATH,
        "raw_path": PATH.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"127.0.0.1:18083"),
            (b"authorization", f"Api-Key {key}".encode()),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(BODY)).encode()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 18083),
    }
    answered = asyncio.Event()
    pending = [{"type": "http.request", "body": BODY, "more_body": False}]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        if pending:
            return pending.pop()
        await answered.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    answered.set()
    return sent[0]["status"], dict(sent[0]["headers"])


async def calls(app: Any, key: str, count: int, concurrency: int) -> None:
    """`count` calls, `concurrency` at a time; each must be a 200 through fixer."""
    left = iter(range(count))

    async def caller() -> None:
        for _ in left:
            status, headers = await one_call(app, key)
            if status != 200 or headers.get(b"x-provider") != b"fixer":
                raise SystemExit(f"call answered {status}: {headers}")

    await asyncio.gather(*(caller() for _ in range(concurrency)))


async def measure(args: argparse.Namespace, key: str) -> None:
    from gateway_project.asgi import application

    try:
        await rounds(application, args, key)
    finally:
        from apps.core.asyncdb import close_db_pool
        from apps.routing.http import close_http_client

        await close_http_client()
        await close_db_pool()


def postgres_cpu_s(db: str) -> float:
    """CPU seconds so far of the PostgreSQL sessions connected to `db` (from /proc)."""
    found = subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", db, "-tAc",
         "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
         "AND pid <> pg_backend_pid()"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    ticks = 0
    for pid in found.stdout.split():
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue  # the session ended meanwhile
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


async def rounds(application: Any, args: argparse.Namespace, key: str) -> None:
    await calls(application, key, args.warmup, args.concurrency)
    for round_ in range(1, args.rounds + 1):
        profile = cProfile.Profile() if args.profile else None
        postgres = postgres_cpu_s(args.db)
        cpu, wall = time.process_time(), time.perf_counter()
        if profile:
            profile.enable()
        await calls(application, key, args.calls, args.concurrency)
        if profile:
            profile.disable()
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        postgres = postgres_cpu_s(args.db) - postgres
        print(
            f"round {round_}: {args.calls} calls, CPU {1000 * cpu / args.calls:.3f} ms/call, "
            f"PostgreSQL {1000 * postgres / args.calls:.3f} ms/call, "
            f"wall {1000 * wall / args.calls:.3f} ms/call",
            flush=True,
        )
        if profile:
            profile.dump_stats(args.profile)
            pstats.Stats(profile).sort_stats("cumulative").print_stats(40)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--setup", action="store_true")
    parser.add_argument("--db", default="gw_hot_3")
    parser.add_argument("--redis-db", type=int, default=3)
    parser.add_argument("--upstream-port", type=int, default=19181)
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--warmup", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", help="cProfile the rounds into this file")
    parser.add_argument("--upstream-delay-ms", type=int, default=0, help="a slow upstream")
    args = parser.parse_args()
    env = environment(args)
    if args.setup:
        setup(args, env)
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    key = Path(f"/tmp/{args.db}.key").read_text().strip()
    upstream = subprocess.Popen(
        [
            *(sys.executable, str(ROOT / "bench/upstream.py")),
            *("--port", str(args.upstream_port), "--delay-ms", str(args.upstream_delay_ms)),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        time.sleep(1.5)  # uvicorn's start
        asyncio.run(measure(args, key))
    finally:
        upstream.terminate()
        upstream.wait(timeout=10)


if __name__ == "__main__":
    main()
