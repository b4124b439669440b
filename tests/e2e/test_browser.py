"""The example's page in a real browser: headless Chromium (Debian's chromium + chromium-driver)
driven by selenium loads the page through the frontend, adds an item with the form and sees it
in the list without a reload. A screenshot is saved as artifacts/example-browser.png."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import ExampleStack

pytestmark = pytest.mark.timeout(600)

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")


@pytest.fixture
def browser() -> Iterator[Any]:
    webdriver = pytest.importorskip("selenium.webdriver")
    if CHROMIUM is None or CHROMEDRIVER is None:
        pytest.skip("needs Debian's chromium and chromium-driver (scripts/install-system-deps.sh)")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1000,760"):
        options.add_argument(flag)
    # An explicit driver path: selenium-manager must not try to download one.
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def test_adding_an_item_with_the_form_shows_it_in_the_list(
    example: ExampleStack, browser: Any, artifacts: Path
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

    for seed in ("Buy oat milk", "Water the plants"):
        assert example.http("POST", "/api/items", {"name": seed}).status == 201

    browser.get(example.base_url + "/")
    wait = WebDriverWait(browser, 20)
    wait.until(EC.text_to_be_present_in_element((By.ID, "items"), "Water the plants"))
    url_before = browser.current_url
    # A marker on the document: it disappears if the page reloads.
    browser.execute_script("window.__noReload = true;")

    name = f"Ship the release {uuid.uuid4().hex[:4]}"
    field = browser.find_element(By.ID, "item-name")
    field.send_keys(name)
    browser.find_element(By.ID, "add-button").click()

    wait.until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, "#items li:first-child .name"), name))
    wait.until(EC.text_to_be_present_in_element((By.ID, "message"), "Added"))
    assert browser.execute_script("return window.__noReload === true;"), "the page reloaded"
    assert browser.current_url == url_before
    assert field.get_attribute("value") == ""
    assert name in example.item_names()

    browser.save_screenshot(str(artifacts / "example-browser.png"))
