"""The dashboard shows money with the house's four places, on PostgreSQL and on SQLite (make
run's database, whose sums of decimals come back as 0.00700000000000000)."""

import json
import os
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from tests import factories
from tests.factories import call_row

DASHBOARD = "/admin/ledger/ledgerentry/dashboard/"
# Seven calls at price 0.0100, cost 0.0010 (finance.call_row's defaults).
TOTALS = ["total", "7", "0.0070", "0.0700", "0.0630"]
DAILY = {"calls": 7, "cost": "0.0070", "revenue": "0.0700", "margin": "0.0630"}


def table_rows(html: str, table_id: str) -> list[list[str]]:
    table = re.search(rf'<table id="{table_id}">(.*?)</table>', html, re.S)
    assert table, f"no table {table_id}"
    body = table.group(1).split("<tbody>")[1]
    return [
        [re.sub(r"<.*?>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row)]
        for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)
    ]


def chart_data(html: str) -> dict:
    script = re.search(r'<script id="dashboard-data" type="application/json">(.*?)</script>', html)
    assert script
    return json.loads(script.group(1))


def assert_four_places(html: str) -> None:
    assert table_rows(html, "table-totals") == [TOTALS]
    assert table_rows(html, "table-providers") == [["fixer", "7", "100.0%", *TOTALS[2:]]]
    assert table_rows(html, "table-clients") == [["acme", "7", "0.0700", "0.0630"]]
    assert chart_data(html)["daily"][-1] == DAILY
    assert chart_data(html)["by_provider"] == [DAILY]
    assert not re.search(r"\d\.\d{5,}", html), "an amount with more than four places"


@pytest.mark.django_db
def test_the_dashboard_shows_four_places_on_postgresql(admin_client):
    # given
    acme = factories.ClientFactory(slug="acme")
    for _ in range(7):
        call_row(acme, timezone.now())

    # when
    html = admin_client.get(reverse("admin:ledger_dashboard")).content.decode()

    # then
    assert_four_places(html)


# The same, in a process of its own on a new SQLite database.
SQLITE_DASHBOARD = f"""
import django
django.setup()
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client
from django.test.utils import setup_test_environment
from django.utils import timezone
from tests import factories
from tests.factories import call_row

setup_test_environment()
call_command("migrate", verbosity=0)
acme = factories.ClientFactory(slug="acme")
for _ in range(7):
    call_row(acme, timezone.now())
browser = Client()
browser.force_login(User.objects.create_superuser("root", password="pw"))
print(browser.get("{DASHBOARD}").content.decode())
"""


def test_the_dashboard_shows_four_places_on_sqlite(tmp_path: Path):
    # given a make run database: SQLite
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "gateway_project.settings_test",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
    }

    # when
    done = subprocess.run(
        [sys.executable, "-c", SQLITE_DASHBOARD],
        cwd=settings.BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    # then
    assert done.returncode == 0, done.stderr[-3000:]
    assert_four_places(done.stdout)
    assert Decimal(chart_data(done.stdout)["daily"][-1]["cost"]) == Decimal("0.0070")
