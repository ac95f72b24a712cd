"""The HTML report in a real browser: headless Chromium opens it from disk, offline, and every
chart renders. The screenshot lands in test-artifacts/report.png for people to look at."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHARTS = 7  # two waterfalls, governorates, camps, over time, round funnel, rounds

pytestmark = pytest.mark.skipif(
    not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
    reason="needs Debian chromium and chromium-driver (/usr/bin/chromium, /usr/bin/chromedriver); "
    "scripts/install-browser installs them",
)


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The demo's report, written by `ledger demo` into a store of its own."""
    work = tmp_path_factory.mktemp("report")
    env = {**os.environ, "LEDGER_DATABASE_URL": f"sqlite:///{work / 'demo.db'}"}
    page = work / "report.html"
    ledger = str(Path(sys.executable).parent / "ledger")
    subprocess.run([ledger, "demo", "--json", "--html", str(page)],
                   env=env, check=True, capture_output=True, cwd=work)
    return page, work / "demo.db"


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--window-size=1400,1000", "--host-resolver-rules=MAP * ~NOTFOUND"):
        options.add_argument(argument)  # the last one: any network access would fail loudly
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    yield driver
    driver.quit()


def test_report_charts_render_offline_without_console_errors(report: tuple[Path, Path],
                                                             browser: object) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    page, _ = report
    driver = browser
    driver.get(page.as_uri())  # type: ignore[attr-defined]
    WebDriverWait(driver, 30).until(
        lambda d: len(d.find_elements(By.CSS_SELECTOR, ".js-plotly-plot .main-svg")) >= CHARTS)
    plots = driver.find_elements(By.CSS_SELECTOR, ".js-plotly-plot")  # type: ignore[attr-defined]
    assert len(plots) == CHARTS
    for plot in plots:
        svg = plot.find_element(By.CSS_SELECTOR, "svg.main-svg")
        assert svg.size["width"] > 200, plot.get_attribute("id")
        assert svg.size["height"] > 200, plot.get_attribute("id")
        # something was drawn: bars, waterfall/funnel boxes or line traces
        marks = plot.find_elements(By.CSS_SELECTOR, "g.trace path, g.trace rect, path.js-line")
        assert marks, f"{plot.get_attribute('id')} drew nothing"
    errors = [entry for entry in driver.get_log("browser")  # type: ignore[attr-defined]
              if entry["level"] == "SEVERE"]
    assert errors == []
    height = driver.execute_script("return document.body.scrollHeight")  # type: ignore[attr-defined]
    driver.set_window_size(1400, min(int(height) + 100, 12000))  # type: ignore[attr-defined]
    ARTIFACTS.mkdir(exist_ok=True)
    screenshot = ARTIFACTS / "report.png"
    assert driver.save_screenshot(str(screenshot))  # type: ignore[attr-defined]
    assert screenshot.stat().st_size > 50_000


def test_report_states_the_moment_rules_and_digest_it_comes_from(report: tuple[Path, Path]) -> None:
    import sqlite3

    page, database = report
    text = page.read_text(encoding="utf-8")
    with sqlite3.connect(database) as conn:
        digest = conn.execute("SELECT chain_hash FROM ledger_facts ORDER BY notification_id DESC "
                              "LIMIT 1").fetchone()[0]
    assert f"<code id='ledger-digest'>{digest}</code>" in text
    assert "2026-05-06" in text
    for stated in ("Known at", "Rulebooks", "official", "operational", "caseload since"):
        assert stated in text
    assert "<script src=" not in text  # plotly.js is inline: nothing to fetch when viewed
