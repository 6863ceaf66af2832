"""The dashboard in a real headless browser: a finance user logs in and sees the charts drawn
and the numbers beside them (Debian's chromium and chromium-driver, which .ci/run installs)."""

import shutil
import tempfile
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tests import factories
from tests.factories import call_row, staff_user

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"

# The live server's other thread must see the rows: committed. (The flush afterwards emits
# post_migrate, which puts the catalog and the staff groups back for the tests that follow.)
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def browser() -> Iterator[webdriver.Chrome]:
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        pytest.fail(
            f"{CHROMIUM} or {CHROMEDRIVER} is missing: .ci/run installs them "
            "(apt-get install chromium chromium-driver)."
        )
    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--window-size=1400,1000",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def test_a_finance_user_sees_the_dashboard_charts_and_numbers(live_server, browser):
    # given a finance user and calls over the last days
    staff_user("fiona", "finance")
    acme = factories.ClientFactory(slug="acme")
    now = timezone.now()
    for days_ago in range(5):
        call_row(acme, now - timedelta(days=days_ago), provider="fixer")
        call_row(
            acme,
            now - timedelta(days=days_ago),
            provider="openexchangerates",
            price=Decimal("0.0200"),
            cost=Decimal("0.0050"),
        )

    # when she logs in and opens the dashboard
    browser.get(live_server.url + reverse("admin:login"))
    browser.find_element(By.NAME, "username").send_keys("fiona")
    browser.find_element(By.NAME, "password").send_keys("pw")
    browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    WebDriverWait(browser, 15).until(lambda b: "/login/" not in b.current_url)
    browser.get(live_server.url + reverse("admin:ledger_dashboard"))
    WebDriverWait(browser, 15).until(
        lambda b: b.find_element(By.TAG_NAME, "body").get_attribute("data-charts-drawn") == "3"
    )

    # then Chart.js drew each chart, and the tables carry the figures
    drawn = browser.execute_script(
        "return ['chart-daily', 'chart-share', 'chart-providers'].map("
        "id => { const c = Chart.getChart(id); return c ? c.data.datasets.length : 0; });"
    )
    assert drawn == [4, 1, 3]
    share = browser.execute_script("return Chart.getChart('chart-share').data.datasets[0].data;")
    assert share == [5, 5]
    totals = browser.find_element(By.ID, "table-totals").text
    assert "10" in totals and "0.1500" in totals and "0.0300" in totals  # calls, revenue, cost
    providers = browser.find_element(By.ID, "table-providers").text
    assert "fixer" in providers and "openexchangerates" in providers and "50.0%" in providers
    assert "acme" in browser.find_element(By.ID, "table-clients").text
