"""The .env that `make run` writes holds secrets: only its owner may read it."""

import os
import stat
import subprocess
import sys
from pathlib import Path

from django.core import checks
from django.test import override_settings

from gateway_project.secret_keys import secret_key_problem

ROOT = Path(__file__).resolve().parents[2]


def test_make_writes_the_env_file_readable_by_its_owner_only(tmp_path: Path):
    # given a permissive umask, as on many shared hosts
    venv = Path(sys.executable).parent.parent

    # when the Makefile's .env target runs in an empty directory
    make = f"make -C {tmp_path} -f {ROOT / 'Makefile'} VENV={venv} .env"
    result = subprocess.run(
        ["/bin/sh", "-c", f"umask 022 && {make}"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )

    # then the file is 0600 and holds fresh secrets fit for use
    assert result.returncode == 0, result.stderr
    env_file = tmp_path / ".env"
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    values = dict(line.split("=", 1) for line in env_file.read_text().splitlines())
    assert values["DEBUG"] == "true"
    assert secret_key_problem("SECRET_KEY", values["SECRET_KEY"]) is None
    assert len(values["FIELD_ENCRYPTION_KEY"]) == 44


def test_a_world_readable_env_file_is_a_system_check_warning(tmp_path: Path):
    # given an .env written before the Makefile restricted it
    env_file = tmp_path / ".env"
    env_file.write_text("SECRET_KEY=x\n")
    os.chmod(env_file, 0o644)

    # when the system checks run
    with override_settings(ENV_FILE=str(env_file)):
        warned = [m for m in checks.run_checks() if m.id == "gateway.W002"]
        os.chmod(env_file, 0o600)
        after_chmod = [m for m in checks.run_checks() if m.id == "gateway.W002"]

    # then they say how to fix it, and are quiet once it is fixed
    assert [m.msg for m in warned] == [
        f"{env_file} holds secrets and other users may read it: chmod 600 {env_file}"
    ]
    assert after_chmod == []
