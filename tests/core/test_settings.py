"""Production refuses the embedded defaults."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


SHOW_ENGINE = (
    "import django; django.setup(); from django.conf import settings; "
    "print(settings.DATABASES['default']['ENGINE'])"
)
OURS = {"SECRET_KEY", "FIELD_ENCRYPTION_KEY", "DEBUG", "DATABASE_URL", "REDIS_URL"}
# Long and random enough for production (gateway_project/secret_keys.py).
STRONG_KEY = "q7Vd2LxN9sRk4TzW8bYc1HfJ6mGp3UaE5oKi0XwQyZnBtMvCrSe"


def run_settings(**env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in OURS}
    # GATEWAY_ENV_FILE="": ignore a developer's .env (make run writes DEBUG=true there).
    clean.update(env, DJANGO_SETTINGS_MODULE="gateway_project.settings", GATEWAY_ENV_FILE="")
    return subprocess.run(
        [sys.executable, "-c", SHOW_ENGINE],
        cwd=ROOT,
        env={**clean, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.parametrize(
    "env, complaint",
    [
        ({}, "SECRET_KEY must be set"),
        ({"SECRET_KEY": STRONG_KEY}, "FIELD_ENCRYPTION_KEY must be set"),
    ],
)
def test_with_debug_off_the_insecure_defaults_are_refused(env, complaint):
    result = run_settings(**env)

    assert result.returncode != 0
    assert complaint in result.stderr


def test_with_real_secrets_it_starts_on_the_embedded_sqlite():
    result = run_settings(
        SECRET_KEY=STRONG_KEY, FIELD_ENCRYPTION_KEY="Wm9mVlE0dkN6c1V5cF9tR0N0bHp4bGxQa3E3b0N4ZGs="
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "django.db.backends.sqlite3"


def test_debug_runs_on_the_embedded_defaults():
    result = run_settings(DEBUG="true")

    assert result.returncode == 0, result.stderr
