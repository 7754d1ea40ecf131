"""The Generate tab in a real browser: headless Chromium (Debian's chromium + chromium-driver) drives the
app the way a person does: type a request, press Generate, see a picture."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_app import running_app

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
GALLERY_IMAGES_LOADED = """
return Array.from(document.querySelectorAll('#gallery img'))
    .filter(img => img.complete && img.naturalWidth > 0).map(img => img.naturalWidth);
"""


@pytest.fixture(scope="module")
def app_url(cache):
    with running_app(cache) as url:
        yield url


@pytest.fixture
def browser(tmp_path, monkeypatch):
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if missing:
        pytest.fail(f"{', '.join(missing)} not found: the browser test needs the Debian packages chromium and "
                    "chromium-driver (sudo apt-get install chromium chromium-driver; CI installs them).")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    monkeypatch.setenv("SE_OFFLINE", "true")  # Selenium Manager must not look for drivers online
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run", "--window-size=1400,1600", f"--user-data-dir={tmp_path / 'chromium-profile'}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def test_generate_shows_a_picture(browser, app_url, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ready
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(app_url)
    request = WebDriverWait(browser, 60).until(ready.element_to_be_clickable((By.CSS_SELECTOR, "#request textarea")))
    request.send_keys("big red ball on the left")
    browser.find_element(By.ID, "generate-button").click()
    try:
        widths = WebDriverWait(browser, 120, poll_frequency=0.5).until(
            lambda d: d.execute_script(GALLERY_IMAGES_LOADED) or None)
    finally:
        browser.save_screenshot(str(tmp_path / "generate.png"))
    assert widths and all(w > 0 for w in widths)
    errors = browser.find_elements(By.CSS_SELECTOR, ".toast-body.error")
    assert not errors, [e.text for e in errors]
    rewritten = browser.find_element(By.CSS_SELECTOR, "#rewritten textarea").get_attribute("value")
    assert rewritten.strip(), "the prompt used is shown"
