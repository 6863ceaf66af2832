"""Test settings: the real PostgreSQL and Redis on this machine (override with the env)."""

import os
import secrets

os.environ["GATEWAY_ENV_FILE"] = ""  # a developer's .env must not leak into the tests
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/gateway")
# pytest-xdist workers each get their own Redis database (tests flush it); pytest-django
# already gives each worker its own test database.
_worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
os.environ.setdefault("REDIS_URL", f"redis://127.0.0.1:6379/{15 - int(_worker or 0) % 16}")
# As long and random as production demands (DEBUG is off here too), and made afresh for each
# run, so no key in this repository ever passes the production check. Servers a test starts
# inherit it through the environment.
os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
os.environ.setdefault("FIELD_ENCRYPTION_KEY", "Wm9mVlE0dkN6c1V5cF9tR0N0bHp4bGxQa3E3b0N4ZGs=")
os.environ.setdefault("INTERNAL_GATEWAY_KEY", "test-internal-gateway-key-of-32-bytes-or-more")
os.environ.setdefault("DEBUG", "false")
# gateway_demo keeps no key file (a developer's .demo-key stays theirs); tests that check the
# kept key point the setting at a temporary file.
os.environ.setdefault("GATEWAY_DEMO_KEY_FILE", "")
# The test servers (Django's client, live_server, uvicorn) speak plain HTTP.
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
os.environ.setdefault("SESSION_COOKIE_SECURE", "false")
os.environ.setdefault("CSRF_COOKIE_SECURE", "false")

from gateway_project.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
