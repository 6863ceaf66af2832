"""Minimal settings for the bare proxy: no apps, no middleware, no database, no auth.

Whatever the gateway adds on top of this (middleware, auth, validation, routing, credit
hold, ledger) is what the benchmark's gateway-versus-bare-view ratio measures.
"""

import os

SECRET_KEY = os.environ.get("SECRET_KEY", "bench-bare-proxy-not-secret")
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
ROOT_URLCONF = "bench.bare_proxy.urls"
INSTALLED_APPS: list[str] = []
MIDDLEWARE: list[str] = []
DATABASES: dict[str, dict[str, str]] = {}
USE_TZ = True
LOGGING_CONFIG = None

# Where the fixer-format upstream listens, e.g. http://127.0.0.1:18081
BENCH_UPSTREAM_URL = os.environ.get("BENCH_UPSTREAM_URL", "http://127.0.0.1:18081")
