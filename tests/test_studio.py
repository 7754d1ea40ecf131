"""The studio features, on a started app: MCP tools, settings from a PNG, the privacy switch, history and
before/after in the page config, the Edit endpoint."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image, PngImagePlugin

from tests.test_app import running_app

ASSETS = Path(__file__).resolve().parent.parent / "assets"
A1111 = (
    "masterpiece, a red fox\nin the snow\nNegative prompt: blurry, lowres\nSteps: 20, Sampler: Euler a, "
    "Schedule type: Karras, CFG scale: 7, Seed: 1234, Size: 512x768, Model hash: 6ce0161689, "
    'Model: v1-5-pruned-emaonly, Lora hashes: "fox: 1a2b, snow: 3c4d", Version: v1.6.0'
)


@pytest.fixture(scope="module")
def app_url(cache):
    with running_app(cache) as url:
        yield url


@pytest.fixture(scope="module")
def client(app_url):
    return Client(app_url, verbose=False)


def test_mcp_lists_the_tools_with_descriptions(app_url):
    tools = {t["name"]: t for t in httpx.get(f"{app_url}gradio_api/mcp/schema", timeout=30).json()}
    for name in ("generate", "stylize", "caption", "expand", "png_info"):
        assert name in tools, sorted(tools)
        assert len(tools[name]["description"]) > 30
    assert "prompt" in tools["generate"]["inputSchema"]["properties"]


def test_png_info_reads_an_automatic1111_png_field_by_field(client, tmp_path):
    path = tmp_path / "a1111.png"
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", A1111)
    Image.new("RGB", (16, 16), "white").save(path, pnginfo=info)
    read = client.predict(handle_file(path), api_name="/png_info")
    assert read == {
        "prompt": "masterpiece, a red fox\nin the snow",
        "negative_prompt": "blurry, lowres",
        "steps": 20,
        "guidance": 7.0,
        "seed": 1234,
        "width": 512,
        "height": 768,
        "model": "v1-5-pruned-emaonly",
        "sampler": "Euler a",
    }


def test_png_info_of_atelier_png_round_trips_and_a_bare_png_gets_a_sentence(client, tmp_path):
    *_, files = client.predict("big red ball on the left", seed=21, api_name="/generate")
    read = client.predict(handle_file(files[0]), api_name="/png_info")
    assert read["seed"] == 21 and read["request"] == "big red ball on the left" and read["steps"] == 4
    bare = tmp_path / "bare.png"
    Image.new("RGB", (8, 8)).save(bare)
    with pytest.raises(AppError, match="no generation settings"):
        client.predict(handle_file(bare), api_name="/png_info")


def test_the_privacy_switch_writes_pngs_without_parameters(client):
    pictures, _, _, files = client.predict(
        "big red ball on the left", seed=3, embed_parameters=False, api_name="/generate"
    )
    for path in [files[0], pictures[0]["image"]]:
        with Image.open(path) as image:
            assert "parameters" not in image.info and "receipt" not in image.info
    *_, kept = client.predict("big red ball on the left", seed=3, api_name="/generate")
    with Image.open(kept[0]) as image:
        assert "big red ball on the left" in image.info["parameters"]


def test_the_page_has_history_before_after_and_an_upload_limit(app_url):
    config = httpx.get(f"{app_url}config", timeout=30).json()
    kinds = {c.get("type") for c in config["components"]}
    ids = {c.get("props", {}).get("elem_id") for c in config["components"]}
    assert "imageslider" in kinds and "history" in ids and "browserstate" in kinds
    assert config["max_file_size"] == 20 * 1000 * 1000 or config["max_file_size"] == 20 * 1024 * 1024


def test_edit_by_instruction_through_the_api(client):
    picture, used, read, png = client.predict(
        handle_file(ASSETS / "two-shapes.png"), "make the circle green", seed=1, api_name="/edit"
    )
    assert read.startswith("a large red circle on the left") and "large green circle on the left" in used
    assert Path(picture).is_file() and Path(png).is_file()
    with pytest.raises(AppError, match="no triangle"):
        client.predict(handle_file(ASSETS / "two-shapes.png"), "make the triangle blue", api_name="/edit")
