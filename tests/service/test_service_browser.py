"""`GET /report` in headless Chromium, served live: changing a selector reloads the figures."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.conftest import Cli
from tests.e2e.test_report_browser import CHARTS, CHROMEDRIVER, CHROMIUM
from tests.service.conftest import Server, client, token
from tests.service.test_service_api import camp_facts

pytestmark = pytest.mark.skipif(
    not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
    reason="needs Debian chromium and chromium-driver; scripts/install-browser installs them")


@pytest.fixture
def browser() -> Iterator[object]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--window-size=1400,1000"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    yield driver
    driver.quit()


@pytest.mark.parametrize("store_settings", ["sqlite"], indirect=True)
def test_changing_the_as_of_selector_reloads_the_report_with_other_figures(
        cli: Cli, server: Server, browser: object) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    assert client(server, token(cli, "RWG", "admin")).post(
        "/v1/facts", json=camp_facts("RWG")).status_code == 200
    reader = token(cli, "RWG readers", "reader")
    driver = browser
    driver.get(f"{server.url}/report?token={reader}&as_of=2026-05-01")  # type: ignore[attr-defined]
    wait = WebDriverWait(driver, 30)
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, ".js-plotly-plot .main-svg")) >= CHARTS)

    def total() -> str:
        return str(driver.find_element(By.ID, "total-0-individuals").text)  # type: ignore[attr-defined]

    assert total() == "15"  # official: 6 + 4 + 5 individuals in camp on 1 May 2026
    driver.execute_script(  # type: ignore[attr-defined]
        "const s = document.getElementById('as_of'); s.value = '2015-01-01';"
        "s.dispatchEvent(new Event('change'));")
    wait.until(lambda d: "as_of=2015-01-01" in d.current_url)
    wait.until(lambda d: d.find_elements(By.ID, "total-0-individuals"))
    assert "Unprocessable" not in driver.page_source  # type: ignore[attr-defined]
    assert total() == "0"  # before the first registration: nobody counted
    assert driver.find_element(By.ID, "as_of").get_attribute("value") == "2015-01-01"  # type: ignore[attr-defined]

    driver.execute_script(  # type: ignore[attr-defined]
        "const s = document.getElementById('as_of'); s.value = '2026-05-01';"
        "s.dispatchEvent(new Event('change'));")
    wait.until(lambda d: "as_of=2026-05-01" in d.current_url)
    driver.execute_script(  # type: ignore[attr-defined]
        "const s = document.getElementById('place'); s.value = 'ESYAN';"
        "s.dispatchEvent(new Event('change'));")
    wait.until(lambda d: d.find_elements(By.ID, "place-figures"))
    assert "Esyan" in driver.find_element(By.ID, "place-figures").text  # type: ignore[attr-defined]
    assert total() == "15"
