"""The Train tab in a real browser (headless Chromium, as tests/test_browser.py): a zip of six star
pictures with their captions is trained for the fewest steps the slider allows (10: about half a minute
here), the loss plot and the sample picture show, and the adapter is then listed in Generate's adapter
choice, without a restart, and draws. Bad uploads are answered with a sentence, never a traceback.

The adapters go to a folder outside the temp folder and the working directory, as a real server's
~/.local/share/atelier/train is: Gradio serves files from the temp folder on its own, so a test whose
adapters lie there would not see a sample picture the app cannot hand over.
"""

from __future__ import annotations

import io
import json
import random
import shutil
import tempfile
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from bench import teach_shape as star
from tests.test_app import running_app
from tests.test_browser import open_browser, wait_for_gallery
from ui.studio import Studio
from ui.train import MIN_STEPS
from ui.training_slot import TrainingSlot
from worlds.shapes.world import COLOURS, POSITIONS
from zoo.cache import ModelCache

NAME = "star-e2e"
OUTSIDE_TEMP = Path("/dev/shm")  # Linux's shared-memory tmpfs: neither tempfile.gettempdir() nor the repository
LOSS_LINE = """
const line = document.querySelector('#train-loss .vega-embed .mark-line path');
const steps = Array.from(document.querySelectorAll('#train-loss .role-axis-label text')).map(t => t.textContent);
return [line ? line.getAttribute('d') : '', steps];
"""


@pytest.fixture(scope="module")
def training_root():
    where = OUTSIDE_TEMP if OUTSIDE_TEMP.is_dir() else Path.home()
    root = Path(tempfile.mkdtemp(prefix="atelier-test-train-", dir=where))
    assert not root.is_relative_to(tempfile.gettempdir()) and not root.is_relative_to(Path.cwd())
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def app_url(registry, training_root):
    cache = ModelCache(registry, device="cpu", budget_gb=4)
    with running_app(cache, Studio(cache, training=TrainingSlot(root=training_root))) as url:
        yield url


@pytest.fixture
def browser(tmp_path, monkeypatch):
    yield from open_browser(tmp_path, monkeypatch, "en-US")


def png(picture) -> bytes:
    out = io.BytesIO()
    Image.fromarray(picture).save(out, "PNG")
    return out.getvalue()


def star_zip(path: Path) -> Path:
    """Six star pictures of the teaching benchmark's world, captioned in metadata.jsonl."""
    rng, rows = random.Random(0), []
    with zipfile.ZipFile(path, "w") as archive:
        for i in range(6):
            scene = star.star_scene(rng, list(COLOURS), list(POSITIONS))
            archive.writestr(f"stars/{i}.png", png(star.render(scene)))
            rows.append({"file_name": f"stars/{i}.png", "text": star.sentence(scene)})
        archive.writestr("metadata.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
    return path


def open_tab(browser, url: str, label: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    if url:
        browser.get(url)
    tab = WebDriverWait(browser, 60).until(
        lambda d: next((b for b in d.find_elements(By.CSS_SELECTOR, "button[role=tab]") if b.text == label), None)
    )
    tab.click()


def upload(browser, path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    files = WebDriverWait(browser, 60).until(lambda d: d.find_element(By.CSS_SELECTOR, "#train-files input[type=file]"))
    files.send_keys(str(path))
    listed = lambda d: d.find_element(By.ID, "train-files").text.split()  # noqa: E731 - "NAME", ".zip" apart
    WebDriverWait(browser, 60).until(lambda d: path.stem in listed(d) and path.suffix in listed(d))


def type_into(browser, selector: str, text: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    field = browser.find_element(By.CSS_SELECTOR, selector)
    field.send_keys(Keys.CONTROL, "a")
    field.send_keys(Keys.DELETE, text, Keys.TAB)


def toasts(browser) -> list[str]:
    """The error messages shown now (Gradio's toasts)."""
    from selenium.webdriver.common.by import By

    return [e.text for e in browser.find_elements(By.CSS_SELECTOR, ".toast-body.error") if e.text]


def error_toasts(browser, timeout: int = 120) -> list[str]:
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(browser, timeout, poll_frequency=0.5).until(lambda d: toasts(d) or None)


def test_a_zip_trains_an_adapter_that_generate_lists_and_draws_with(browser, app_url, training_root, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    open_tab(browser, app_url, "Train")
    upload(browser, star_zip(tmp_path / "stars.zip"))
    type_into(browser, "#train-steps input[type=number]", str(MIN_STEPS))
    type_into(browser, "#train-name textarea, #train-name input", NAME)
    browser.find_element(By.ID, "train-start").click()
    status = lambda d: d.find_element(By.ID, "train-status").text  # noqa: E731
    try:
        WebDriverWait(browser, 300, poll_frequency=1).until(
            lambda d: "is ready" in status(d) or toasts(d), "the training did not end within 5 minutes"
        )
    finally:
        browser.save_screenshot(str(tmp_path / "trained.png"))
    assert not toasts(browser)
    assert status(browser) == f"Adapter trained/{NAME} is ready: pick it under Adapter in Generate."
    line, labels = browser.execute_script(LOSS_LINE)
    assert "L" in line and str(MIN_STEPS) in labels, (line, labels)  # a line through the losses, to the last step
    assert wait_for_gallery(browser, "#train-sample img", 30), "no sample picture"
    adapter = training_root / NAME / "adapter"
    assert (adapter / "pytorch_lora_weights.safetensors").is_file()
    assert json.loads((adapter / "training_config.json").read_text())["steps"] == MIN_STEPS  # the slider's value

    listed = lambda option: option.text.split()[-1:] == [f"trained/{NAME}"]  # noqa: E731 - after a "✓" if chosen
    open_tab(browser, "", "Generate")
    next(b for b in browser.find_elements(By.CSS_SELECTOR, "button") if b.text.strip().startswith("Settings")).click()
    WebDriverWait(browser, 30).until(lambda d: d.find_element(By.CSS_SELECTOR, "#adapter input")).click()
    choice = WebDriverWait(browser, 30).until(
        lambda d: next((o for o in d.find_elements(By.CSS_SELECTOR, "#adapter [role=option]") if listed(o)), None),
        f"trained/{NAME} is not among Generate's adapters",
    )
    choice.click()
    browser.find_element(By.CSS_SELECTOR, "#request textarea").send_keys("a large red star in the center")
    browser.find_element(By.ID, "generate-button").click()
    try:
        assert wait_for_gallery(browser)
    finally:
        browser.save_screenshot(str(tmp_path / "drawn.png"))
    assert not toasts(browser)
    import httpx

    source = browser.find_element(By.CSS_SELECTOR, "#gallery img").get_attribute("src")
    drawn = Image.open(io.BytesIO(httpx.get(source, timeout=30).content))
    assert f"<lora:trained/{NAME}:1>" in drawn.info["parameters"]  # drawn with the adapter on


@pytest.mark.parametrize(
    ("name", "content", "sentence"),
    [
        ("climbing.zip", {"a.png": "picture", "../evil.png": "picture"}, "'../evil.png' would land outside"),
        ("fake.png", None, "'fake.png' does not open as a picture; send it again or leave it out."),
    ],
)
def test_a_bad_upload_is_answered_with_a_sentence(browser, app_url, training_root, tmp_path, name, content, sentence):
    from selenium.webdriver.common.by import By

    path = tmp_path / name
    if content is None:
        path.write_text("not a picture at all")
    else:
        picture = png(star.render(star.star_scene(random.Random(1), list(COLOURS), list(POSITIONS))))
        with zipfile.ZipFile(path, "w") as archive:
            for entry in content:
                archive.writestr(entry, picture)
    open_tab(browser, app_url, "Train")
    try:
        upload(browser, path)
        type_into(browser, "#train-name textarea, #train-name input", "refused")
        browser.find_element(By.ID, "train-start").click()
        shown = error_toasts(browser)
    finally:
        browser.save_screenshot(str(tmp_path / "refused.png"))
    assert any(sentence in toast for toast in shown), shown
    assert not any("Traceback" in toast or 'File "' in toast for toast in shown), shown
    assert not (training_root / "refused").exists() and not (training_root / "evil.png").exists()
