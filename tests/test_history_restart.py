"""The browser's history survives a restart of the app: the secret it is encrypted with is kept with the
app's data (a file made once, readable by its user only) or given by $ATELIER_HISTORY_SECRET, never made
anew at launch and never in the repository. Checked in a real browser across two launches on one port."""

from __future__ import annotations

import stat
from pathlib import Path

import ui
from tests.test_app import free_port, running_app
from tests.test_browser import open_browser, wait_for_gallery
from ui.history import DATA_VARIABLE, SECRET_VARIABLE
from ui.studio import Studio

REPO = Path(__file__).resolve().parent.parent


def history_secret_of(demo) -> str:
    return next(b.secret for b in demo.blocks.values() if type(b).__name__ == "BrowserState")


def test_the_secret_is_made_once_kept_private_and_outside_the_repository(cache, tmp_path, monkeypatch):
    monkeypatch.setenv(DATA_VARIABLE, str(tmp_path / "data"))
    monkeypatch.delenv(SECRET_VARIABLE, raising=False)
    first, second = (history_secret_of(ui.build_app(Studio(cache))) for _ in range(2))
    kept = tmp_path / "data" / "history-secret"
    assert first == second == kept.read_text().strip() and len(first) >= 32
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert not kept.resolve().is_relative_to(REPO)
    monkeypatch.setenv(SECRET_VARIABLE, "a-secret-a-space-was-given")
    assert history_secret_of(ui.build_app(Studio(cache))) == "a-secret-a-space-was-given"


def test_history_is_still_there_after_a_restart(cache, tmp_path, monkeypatch):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ready
    from selenium.webdriver.support.ui import WebDriverWait

    monkeypatch.setenv(DATA_VARIABLE, str(tmp_path / "data"))
    monkeypatch.delenv(SECRET_VARIABLE, raising=False)
    port = free_port()  # the same origin across the restart: localStorage belongs to it
    browser_gen = open_browser(tmp_path, monkeypatch, "en-US")
    browser = next(browser_gen)
    try:
        with running_app(cache, port=port) as url:
            browser.get(url)
            request = WebDriverWait(browser, 60).until(
                ready.element_to_be_clickable((By.CSS_SELECTOR, "#request textarea"))
            )
            request.send_keys("big red ball on the left")
            browser.find_element(By.ID, "generate-button").click()
            assert wait_for_gallery(browser, "#history img", 120)
        with running_app(cache, port=port) as url:
            browser.get(url)
            try:
                thumbs = wait_for_gallery(browser, "#history img", 60)
            finally:
                browser.save_screenshot(str(tmp_path / "after-restart.png"))
        assert thumbs
    finally:
        browser_gen.close()
