"""The Generate tab in a real browser: headless Chromium (Debian's chromium + chromium-driver) drives the
app the way a person does: type a request, press Generate, see a picture."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_app import reads_as, running_app

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
    yield from open_browser(tmp_path, monkeypatch, "en-US")


@pytest.fixture
def chinese_browser(tmp_path, monkeypatch):
    yield from open_browser(tmp_path, monkeypatch, "zh-CN")


def open_browser(tmp_path, monkeypatch, language: str):
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if missing:
        pytest.fail(
            f"{', '.join(missing)} not found: the browser test needs the Debian packages chromium and "
            "chromium-driver (sudo apt-get install chromium chromium-driver; CI installs them)."
        )
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    monkeypatch.setenv("SE_OFFLINE", "true")  # Selenium Manager must not look for drivers online
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1400,1600",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
        f"--lang={language}",
    ):
        options.add_argument(flag)
    options.add_experimental_option("prefs", {"intl.accept_languages": language})
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
            lambda d: d.execute_script(GALLERY_IMAGES_LOADED) or None
        )
    finally:
        browser.save_screenshot(str(tmp_path / "generate.png"))
    assert widths and all(w > 0 for w in widths)
    errors = browser.find_elements(By.CSS_SELECTOR, ".toast-body.error")
    assert not errors, [e.text for e in errors]
    rewritten = browser.find_element(By.CSS_SELECTOR, "#rewritten textarea").get_attribute("value")
    # the prompt used is shown: a canonical sentence that keeps what was asked for
    assert reads_as(rewritten, size="large", colour="red", shape="circle", position="left"), rewritten


def wait_for_gallery(browser, selector: str = "#gallery img", timeout: int = 120) -> list[int]:
    from selenium.webdriver.support.ui import WebDriverWait

    script = GALLERY_IMAGES_LOADED.replace("#gallery img", selector)
    return WebDriverWait(browser, timeout, poll_frequency=0.5).until(lambda d: d.execute_script(script) or None)


def test_history_survives_a_reload_and_restores_the_settings(browser, app_url, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ready
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(app_url)
    request = WebDriverWait(browser, 60).until(ready.element_to_be_clickable((By.CSS_SELECTOR, "#request textarea")))
    request.send_keys("a large red circle on the left on a white background, flat style")
    browser.find_element(By.ID, "generate-button").click()
    wait_for_gallery(browser)
    wait_for_gallery(browser, "#history img", 60)
    browser.refresh()
    try:
        thumbs = wait_for_gallery(browser, "#history img", 60)
    finally:
        browser.save_screenshot(str(tmp_path / "history.png"))
    assert thumbs
    browser.find_element(By.CSS_SELECTOR, "#history img").click()
    WebDriverWait(browser, 30).until(
        lambda d: (
            d.find_element(By.CSS_SELECTOR, "#rewritten textarea")
            .get_attribute("value")
            .startswith("a large red circle")
        )
    )


def test_a_png_dropped_on_generate_fills_the_form(browser, app_url, tmp_path):
    from PIL import Image, PngImagePlugin
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    path = tmp_path / "settings.png"
    info = PngImagePlugin.PngInfo()
    info.add_text(
        "parameters",
        "a small blue cross at the top on a gray background, outline style\n"
        "Steps: 3, Sampler: DDIM, CFG scale: 1.0, Seed: 4242, Size: 64x64",
    )
    Image.new("RGB", (64, 64), "gray").save(path, pnginfo=info)
    browser.get(app_url)
    upload = WebDriverWait(browser, 60).until(lambda d: d.find_element(By.CSS_SELECTOR, "#png-info input[type=file]"))
    upload.send_keys(str(path))
    WebDriverWait(browser, 60).until(
        lambda d: (
            d.find_element(By.CSS_SELECTOR, "#request textarea").get_attribute("value").startswith("a small blue cross")
        )
    )
    next(b for b in browser.find_elements(By.CSS_SELECTOR, "button") if b.text.strip().startswith("Settings")).click()
    seed = WebDriverWait(browser, 30).until(lambda d: d.find_element(By.CSS_SELECTOR, "#seed input"))
    assert seed.get_attribute("value") == "4242"


def test_in_chinese_the_labels_are_translated_and_a_chinese_example_draws(chinese_browser, app_url, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser = chinese_browser
    browser.get(app_url)
    WebDriverWait(browser, 60).until(lambda d: "描述你想要的画" in d.find_element(By.TAG_NAME, "body").text)
    example = next(
        e
        for e in browser.find_elements(By.CSS_SELECTOR, "button, td, div.gallery-item")
        if e.text.strip() == "画一个大的红色圆形在左边"
    )
    example.click()
    browser.find_element(By.ID, "generate-button").click()
    try:
        wait_for_gallery(browser)
        WebDriverWait(browser, 60).until(
            lambda d: (
                d.find_element(By.CSS_SELECTOR, "#rewritten textarea")
                .get_attribute("value")
                .startswith("a large red circle on the left")
            )
        )
    finally:
        browser.save_screenshot(str(tmp_path / "chinese.png"))
    import io

    import httpx
    from PIL import Image

    from worlds.shapes.scene_parser import parse_image

    source = browser.find_element(By.CSS_SELECTOR, "#gallery img").get_attribute("src")
    scene = parse_image(Image.open(io.BytesIO(httpx.get(source, timeout=30).content)))
    assert [(o.colour, o.shape, o.size, o.position) for o in scene.objects] == [("red", "circle", "large", "left")]
