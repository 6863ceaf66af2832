"""The documented production environment passes Django's deploy check, a weak SECRET_KEY
stops the process, and the embedded run (DEBUG on) keeps plain HTTP."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STRONG_KEY = "q7Vd2LxN9sRk4TzW8bYc1HfJ6mGp3UaE5oKi0XwQyZnBtMvCrSe"
FERNET_KEY = "Wm9mVlE0dkN6c1V5cF9tR0N0bHp4bGxQa3E3b0N4ZGs="

# README, "Production": the environment a deployment behind a TLS-terminating proxy sets.
PRODUCTION_ENV = {
    "DEBUG": "false",
    "SECRET_KEY": STRONG_KEY,
    "FIELD_ENCRYPTION_KEY": FERNET_KEY,
    "ALLOWED_HOSTS": "gateway.example.com",
    "CSRF_TRUSTED_ORIGINS": "https://gateway.example.com",
    "SECURE_PROXY_SSL_HEADER": "X-Forwarded-Proto",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/gateway",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
}


def run(args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    """A fresh process with only `env` of the settings' variables (no .env, no test env)."""
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SECURE_", "SESSION_", "CSRF_", "DJANGO_", "WEB_CONCURRENCY"))
        and k not in {"DEBUG", "SECRET_KEY", "FIELD_ENCRYPTION_KEY", "REDIS_URL", "DATABASE_URL"}
    }
    clean.update(env, DJANGO_SETTINGS_MODULE="gateway_project.settings", GATEWAY_ENV_FILE="")
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env={**clean, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


SHOW_HTTPS_SETTINGS = (
    "import django, json; django.setup(); from django.conf import settings as s; "
    "print(json.dumps({n: getattr(s, n, None) for n in ('SECURE_SSL_REDIRECT', "
    "'SECURE_HSTS_SECONDS', 'SESSION_COOKIE_SECURE', 'CSRF_COOKIE_SECURE', "
    "'SECURE_PROXY_SSL_HEADER')}))"
)


def test_the_documented_production_environment_passes_the_deploy_check():
    # given the documented production environment, DEBUG off

    # when Django's deploy check runs, failing on any warning
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], **PRODUCTION_ENV)

    # then it finds nothing
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


def test_production_defaults_redirect_to_https_and_trust_only_the_named_proxy_header():
    # when the settings load in the documented production environment
    result = run(["-c", SHOW_HTTPS_SETTINGS], **PRODUCTION_ENV)

    # then HTTPS is enforced and the proxy's X-Forwarded-Proto decides what is HTTPS
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "SECURE_SSL_REDIRECT": True,
        "SECURE_HSTS_SECONDS": 31_536_000,
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "SECURE_PROXY_SSL_HEADER": ["HTTP_X_FORWARDED_PROTO", "https"],
    }


def test_the_embedded_run_with_debug_on_keeps_plain_http():
    # when the settings load as `make run` writes them (.env: DEBUG=true and fresh secrets)
    result = run(["-c", SHOW_HTTPS_SETTINGS], DEBUG="true", SECRET_KEY=STRONG_KEY)

    # then nothing redirects to HTTPS or needs it
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "SECURE_SSL_REDIRECT": False,
        "SECURE_HSTS_SECONDS": 0,
        "SESSION_COOKIE_SECURE": False,
        "CSRF_COOKIE_SECURE": False,
        "SECURE_PROXY_SSL_HEADER": None,
    }


@pytest.mark.parametrize(
    ("env", "complaint"),
    [
        ({"SECRET_KEY": "s3cr3t"}, "SECRET_KEY is 6 characters long; at least 50 are needed"),
        ({"SECRET_KEY": "ab" * 40}, "SECRET_KEY has fewer than 5 different characters"),
        (
            {"SECRET_KEY": "django-insecure-" + STRONG_KEY},
            "SECRET_KEY is a publicly known key",
        ),
        (
            {"SECRET_KEY": "test-only-secret-key-not-for-production"},
            "SECRET_KEY is a publicly known key",
        ),
        (
            {"SECRET_KEY": STRONG_KEY, "SECRET_KEY_FALLBACKS": "old"},
            "SECRET_KEY_FALLBACKS is 3 characters long",
        ),
    ],
)
def test_with_debug_off_a_weak_secret_key_stops_the_process(env, complaint):
    # given production settings with a weak key
    # when a process starts
    result = run(["manage.py", "check"], **{**PRODUCTION_ENV, **env})

    # then it refuses, saying why and how to make a good one
    assert result.returncode != 0
    assert complaint in result.stderr
    assert "secrets.token_urlsafe(50)" in result.stderr


def test_with_debug_on_a_short_secret_key_is_accepted():
    result = run(["manage.py", "check"], DEBUG="true", SECRET_KEY="dev")

    assert result.returncode == 0, result.stderr
