"""Finance at scale (issue #18): every ledger read, timed through the HTTP API of a real server.

    .venv/bin/python bench/ledger_scale.py [--database ledger_scale] [--code DIR]
        [--month 2026-11] [--tries 5] [--out FILE]

Run after `manage.py ledger_generate` filled the database. Starts the gateway in production
mode (gunicorn + uvicorn, DEBUG off; bench/ledger_scale_server.py) from --code (default: this
checkout) on a free port, makes a finance staff user with a token (`Authorization: Token`),
an admin user (session login) and API keys of the big and a tiny client (/api/v1/usage/),
then times each read (median of --tries; reads over 3 s are tried twice) and prints a
table with the issue's targets, PASS or FAIL, the machine's CPU speed check, the export's
throughput and the worker's peak RSS, and the EXPLAIN (ANALYZE, BUFFERS) of the slowest
statement of each read that missed its target.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.ledger_scale_reads import Read, reads
from bench.ledger_scale_server import Server, explain

ROOT = Path(__file__).resolve().parent.parent
SLOW_S = 3.0  # a read slower than this is tried twice, not --tries times


@dataclass
class Result:
    read: Read
    timings: list[float] = field(default_factory=list)
    note: str = ""
    statements: list[tuple[float, str]] = field(default_factory=list)

    @property
    def median_ms(self) -> float:
        return statistics.median(self.timings) * 1000 if self.timings else float("nan")

    @property
    def passed(self) -> bool:
        return (
            bool(self.timings)
            and not self.note.startswith("ERROR")
            and (self.median_ms < self.read.target_ms)
        )


def headers_for(read: Read, ctx: dict[str, Any]) -> dict[str, str]:
    if read.auth == "token":
        return {"Authorization": f"Token {ctx['token']}"}
    if read.auth in ("big_key", "tiny_key"):
        return {"Authorization": f"Api-Key {ctx[read.auth]}"}
    return {}


def timed(http: httpx.Client, read: Read, ctx: dict[str, Any], url: str) -> tuple[float, Any]:
    started = time.perf_counter()
    response = http.get(
        url, params=read.params if "?" not in url else None, headers=headers_for(read, ctx)
    )
    elapsed = time.perf_counter() - started
    return elapsed, response


def run_read(
    http: httpx.Client, server: Server, read: Read, ctx: dict[str, Any], tries: int
) -> Result:
    result = Result(read)
    url = server.url + read.path
    if read.next_page:  # the cursor comes from the first page's `next` link
        first = http.get(url, params=read.params, headers=headers_for(read, ctx))
        url = (first.json() or {}).get("next") or ""
        if not url:
            result.note = "ERROR: no next page"
            return result
    for attempt in range(tries):
        mark = server.sql_mark()
        elapsed, response = timed(http, read, ctx, url)
        if response.status_code != 200:
            result.note = f"ERROR: {response.status_code} {response.text[:120]}"
            return result
        result.timings.append(elapsed)
        result.statements = server.sql_since(mark)
        if attempt == 0 and read.check:
            result.note = read.check(response)
        if elapsed > SLOW_S and len(result.timings) >= 2:
            break
    return result


def run_export(http: httpx.Client, server: Server, read: Read, ctx: dict[str, Any]) -> Result:
    """First byte of the month's export, then the month streamed whole: rows/s and peak RSS."""
    result = Result(read)
    rss_before = server.peak_rss_mb()
    mark = server.sql_mark()
    started = time.perf_counter()
    first_byte, first_row, rows = None, None, -1
    with http.stream(
        "GET",
        server.url + read.path,
        params=read.params,
        headers=headers_for(read, ctx),
        timeout=3600,
    ) as response:
        if response.status_code != 200:
            result.note = f"ERROR: {response.status_code}"
            return result
        for chunk in response.iter_bytes():
            if first_byte is None:
                first_byte = time.perf_counter() - started
            rows += chunk.count(b"\n")
            if first_row is None and rows >= 1:  # the header is the first line
                first_row = time.perf_counter() - started
    elapsed = time.perf_counter() - started
    # Timed: the first row (the header alone comes before any query).
    result.timings = [first_row or elapsed]
    result.statements = server.sql_since(mark)
    result.note = f"header after {(first_byte or elapsed) * 1000:.0f} ms; {rows:,} rows"
    if not read.throughput:
        return result
    rate = rows / elapsed
    result.note += (
        f" in {elapsed:.1f} s = {rate:,.0f} rows/s "
        f"({'PASS' if rate >= 50_000 else 'FAIL'} ≥ 50k/s); worker peak RSS "
        f"{server.peak_rss_mb():.0f} MB (before {rss_before:.0f} MB)"
    )
    if rate < 50_000:
        result.note = "THROUGHPUT " + result.note
    return result


def admin_login(http: httpx.Client, server: Server, ctx: dict[str, Any]) -> None:
    page = http.get(server.url + "/admin/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert token, "no CSRF token on the admin login page"
    answer = http.post(
        server.url + "/admin/login/?next=/admin/",
        data={
            "username": "bench-admin",
            "password": ctx["password"],
            "csrfmiddlewaretoken": token.group(1),
            "next": "/admin/",
        },
        headers={"Referer": server.url + "/admin/login/"},
    )
    assert answer.status_code in (200, 302) and "sessionid" in http.cookies, "admin login failed"


def machine(database_url: str) -> list[str]:
    calibration = subprocess.run(
        [sys.executable, str(ROOT / "bench/cpuacct.py"), "calibrate"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        "?",
    )
    import psycopg

    with psycopg.connect(database_url) as conn:
        rows, size, db = conn.execute(
            "SELECT reltuples::bigint, pg_size_pretty(pg_total_relation_size(oid)), "
            "pg_size_pretty(pg_database_size(current_database())) FROM pg_class "
            "WHERE oid = 'ledger_ledgerentry'::regclass"
        ).fetchone()  # type: ignore[misc]
    return [
        f"- CPU speed check (bench/cpuacct.py calibrate): **{calibration} ms** for a fixed "
        "Python loop (lower is faster)",
        f"- machine: {os.cpu_count()} CPUs ({cpu}); load average before the run "
        f"{' '.join(Path('/proc/loadavg').read_text().split()[:3])}",
        f"- ledger: ~{rows:,} rows (estimate), table and indexes {size}; database {db}",
    ]


def report(results: list[Result], header: list[str], database_url: str) -> str:
    lines = [
        *header,
        "",
        "| read | target | median | tries | verdict | note |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for r in results:
        verdict = "PASS" if r.passed and not r.note.startswith("THROUGHPUT") else "FAIL"
        if r.note.startswith("n/a"):
            verdict = "n/a"
        lines.append(
            f"| {r.read.name} | < {r.read.target_ms:.0f} ms | {r.median_ms:,.0f} ms | "
            f"{len(r.timings)} | {verdict} | {r.note} |"
        )
    for r in results:
        if (r.passed and not r.note.startswith("THROUGHPUT")) or not r.statements:
            continue
        seconds, sql = max(r.statements)
        try:
            plan = explain(database_url, sql) if sql.lstrip().upper().startswith("SELECT") else ""
        except Exception as exc:  # a plan we cannot get is reported, not fatal
            plan = f"(EXPLAIN failed: {exc})"
        lines += [
            "",
            f"### {r.read.name}: slowest statement {seconds * 1000:.0f} ms",
            "",
            "```sql",
            sql[:3000],
            "```",
            "",
            "```",
            plan,
            "```",
        ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default="ledger_scale")
    parser.add_argument("--code", type=Path, default=ROOT, help="the code tree to serve")
    parser.add_argument("--month", default="2026-11")
    parser.add_argument("--prefix", default="gen", help="ledger_generate's --prefix")
    parser.add_argument("--tries", type=int, default=5)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--only", default="", help="a regex: run only reads it matches")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    database_url = f"postgres://postgres@127.0.0.1:5432/{args.database}"
    env = {
        "DATABASE_URL": database_url,
        "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/8"),
    }
    for name in ("SECRET_KEY", "FIELD_ENCRYPTION_KEY"):
        if name in os.environ:
            env[name] = os.environ[name]
    env.setdefault("SECRET_KEY", "ledger-scale-bench-only-" + "x" * 40)
    server = Server(code=args.code.resolve(), env=env, workers=args.workers)
    commit = subprocess.run(
        ["git", "-C", str(ROOT), "log", "-1", "--format=%h %s"], capture_output=True, text=True
    ).stdout.strip()
    header = [
        f"Code served: {args.code.resolve()} (bench checkout at {commit})",
        *machine(database_url),
        f"- the server's log and its SQL log (every statement, with its duration): {server.dir}",
    ]
    print("\n".join(header), flush=True)
    ctx = server.setup(args.prefix)
    server.start()
    results: list[Result] = []
    try:
        with httpx.Client(timeout=600) as http:
            admin_login(http, server, ctx)
            for read in reads(ctx, args.month):
                if args.only and not re.search(args.only, read.name):
                    continue
                if read.export:
                    result = run_export(http, server, read, ctx)
                else:
                    result = run_read(http, server, read, ctx, args.tries)
                results.append(result)
                print(f"{read.name:<60} {result.median_ms:>9,.0f} ms  {result.note}", flush=True)
    finally:
        server.stop()
    text = report(results, header, database_url)
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
