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


# The layout of every chart as the browser drew it: title and toolbar boxes, the waterfalls'
# y ranges and bars, the tick labels.
LAYOUT_PROBE = """
const box = e => { if (!e) return null; const r = e.getBoundingClientRect();
  return [r.left, r.top, r.right, r.bottom]; };
return [...document.querySelectorAll('.js-plotly-plot')].map(gd => ({
  id: gd.id,
  title: (gd.querySelector('.gtitle') || {}).textContent || '',
  titleBox: box(gd.querySelector('.gtitle')),
  modebar: box(gd.querySelector('.modebar')),
  type: gd.data[0].type,
  x: gd.data[0].x, y: gd.data[0].y,
  yrange: gd._fullLayout.yaxis ? gd._fullLayout.yaxis.range : null,
  ticks: [...gd.querySelectorAll('.xtick text, .ytick text')].map(box),
}));
"""


def _overlap(a: list[float], b: list[float]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def test_report_charts_read_as_slides(report: tuple[Path, Path], browser: object) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    page, _ = report
    driver = browser
    driver.set_window_size(1400, 1000)  # type: ignore[attr-defined]
    driver.get(page.as_uri())  # type: ignore[attr-defined]
    WebDriverWait(driver, 30).until(
        lambda d: len(d.find_elements(By.CSS_SELECTOR, ".js-plotly-plot .main-svg")) >= CHARTS)
    charts = driver.execute_script(LAYOUT_PROBE)  # type: ignore[attr-defined]
    assert len(charts) == CHARTS
    for chart in charts:
        # Every title says which D and K it shows, and the toolbar never sits on it.
        assert "2026-05-06" in chart["title"], chart["title"]
        assert "known at" in chart["title"], chart["title"]
        if chart["modebar"] and chart["modebar"][2] > chart["modebar"][0]:
            assert not _overlap(chart["titleBox"], chart["modebar"]), chart["id"]
    waterfalls = [c for c in charts if c["type"] == "waterfall"]
    assert len(waterfalls) == 2
    for chart in waterfalls:
        values = chart["y"]
        assert all(v != 0 for v in values[1:-1]), chart["x"]  # no empty reason drawn
        low, high = chart["yrange"]
        assert low > 0.5 * min(values[0], values[-1])  # the axis starts near the figures
        steps = [abs(v) for v in values[1:-1]]
        assert max(steps) > 0.05 * (high - low)  # so the reasons are visibly tall
    # Households: composition differences move no household, so they are not a bar there.
    households = next(c for c in waterfalls if "households" in c["title"])
    assert "composition differs" not in households["x"]
    rounds = next(c for c in charts if "Every round" in c["title"])
    ticks = [t for t in rounds["ticks"] if t]
    assert len(ticks) >= 3
    for i, first in enumerate(ticks):
        for second in ticks[i + 1:]:
            assert not _overlap(first, second), (first, second)


def test_report_embeds_the_bundle_once_and_says_its_size(report: tuple[Path, Path]) -> None:
    import plotly

    page, _ = report
    text = page.read_text(encoding="utf-8")
    bundle = (Path(plotly.__file__).parent / "package_data" / "plotly.min.js").stat().st_size
    assert text.count("plotly.js v") <= 2  # one copy (its banner), not one per chart
    assert len(text.encode()) < bundle + 200_000  # the charts themselves are small beside it
