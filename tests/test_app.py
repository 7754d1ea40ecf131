"""The app over HTTP, as an API client sees it: one server per module, started on a free loopback
port, called through gradio_client. Runs on the registry of ATELIER_TEST_REGISTRY when set (e.g.
untrained copies of the starter models), else on zoo/registry.toml."""

from __future__ import annotations

import socket
import struct
import zlib
from contextlib import contextmanager
from pathlib import Path

import gradio as gr
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image

import ui
from pipelines.core import inputs
from pipelines.core.metadata import read_png
from pipelines.tasks import generate as text2image
from tests.test_pipelines import ASSET_SENTENCES, describes
from ui.jobs import GENERIC_ERROR, guarded
from ui.studio import Studio
from worlds.shapes.scene_parser import parse_image
from worlds.shapes.world import parse_sentence, sentence, with_style
from zoo.errors import AtelierError, BadInput

ASSETS = Path(__file__).resolve().parent.parent / "assets"
PICTURE = ASSETS / "two-shapes.png"
CANONICAL = "a large red circle on the left on a white background, flat style"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_app(cache, studio: Studio | None = None, port: int | None = None):
    """The app of `cache` (or of `studio`), served in a background thread on a loopback port (a free one
    unless given); yields its URL."""
    demo = ui.build_app(studio or Studio(cache))
    port = port or free_port()
    demo.launch(
        prevent_thread_lock=True, server_name="127.0.0.1", server_port=port, quiet=True, **ui.launch_options(demo)
    )
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        demo.close()


@pytest.fixture(scope="module")
def app_url(cache):
    with running_app(cache) as url:
        yield url


@pytest.fixture(scope="module")
def client(app_url):
    return Client(app_url, verbose=False)


@pytest.fixture(scope="module")
def t2i_entry(registry):
    return registry.default("text-to-image")


def sentence_of(call) -> str:
    """The sentence the pipelines themselves give for a bad input: what the API must pass on as it is."""
    with pytest.raises(AtelierError) as refused:
        call()
    return str(refused.value)


def still_serves(client) -> None:
    assert client.predict(CANONICAL, seed=1, api_name="/expand") == CANONICAL  # a canonical request stays as it is


def reads_as(text, **stated) -> bool:
    """`text` is a canonical sentence of one object with every attribute in `stated` (background, style,
    colour, shape, size, position), as the caller writes them down."""
    scene = parse_sentence(text) if isinstance(text, str) else None
    if scene is None or sentence(scene) != text or len(scene.objects) != 1:
        return False
    obj = scene.objects[0]
    seen = {"background": scene.background, "style": scene.style, "colour": obj.colour, "shape": obj.shape}
    seen |= {"size": obj.size, "position": obj.position}
    return all(seen[k] == v for k, v in stated.items())


def png_bomb(path: Path, side: int = 30000) -> Path:
    """A tiny PNG whose header declares side x side pixels (a decompression bomb)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")
    )
    return path


# ------------------------------------------------------------------ endpoints


def test_the_four_endpoints_and_their_first_parameters(client):
    endpoints = client.view_api(return_format="dict", print_info=False)["named_endpoints"]
    first = {name: [p["parameter_name"] for p in info["parameters"]][:2] for name, info in endpoints.items()}
    assert first["/generate"][0] == "prompt"
    assert first["/stylize"] == ["image", "style"]
    assert first["/caption"][0] == "image"
    assert first["/expand"][0] == "prompt"
    for name in ("/generate", "/stylize", "/caption", "/expand"):  # everything after the first ones has a default
        required = [p["parameter_name"] for p in endpoints[name]["parameters"] if not p["parameter_has_default"]]
        assert required == (["image"] if name in ("/stylize", "/caption") else ["prompt"]), (name, required)


def test_generate_returns_pictures_with_their_parameters(client, t2i_entry):
    run = text2image.settings(t2i_entry)
    pictures, used, shown, files = client.predict(
        "big red ball on the left", seed=7, num_images=2, api_name="/generate"
    )
    assert len(pictures) == 2 and len(files) == 2
    for picture in pictures:
        with Image.open(picture["image"]) as image:
            image.load()
            assert image.size == (run["width"], run["height"])
    assert [p["caption"].split("\n")[0] for p in pictures] == ["seed 7", "seed 8"]
    receipt = pictures[0]["caption"].split("\n")[1]  # the receipt under each picture: what the request stated
    assert "shape circle" in receipt and "position left" in receipt and ("✓" in receipt or "✗" in receipt)
    assert len(shown["receipts"]) == 2 and {r["attribute"] for r in shown["receipts"][0]} >= {"object1.shape"}
    assert isinstance(used, str) and used and shown["prompt used"] == used
    assert [p["seed"] for p in shown["pictures"]] == [7, 8]
    saved = read_png(Path(files[0]))  # the download carries the generation parameters
    assert saved["seed"] == 7 and saved["model"] == t2i_entry.id and saved["prompt"] == used
    assert read_png(Path(pictures[1]["image"]))["seed"] == 8  # and so do the gallery's PNGs


def test_an_edited_prompt_is_drawn_as_it_is(client):
    _, used, shown, _ = client.predict(
        "big red ball on the left", rewritten_prompt=CANONICAL, seed=3, api_name="/generate"
    )
    assert used == CANONICAL and shown["pictures"][0]["prompt"] == CANONICAL


def test_expand_without_expander_draws_the_request(client):
    _, used, _, _ = client.predict("big red ball on the left", expand_with="none", seed=3, api_name="/generate")
    assert used == "big red ball on the left"


def test_expand(client):
    expanded = client.predict("an outlined tiny blue box up top on a dark background", seed=3, api_name="/expand")
    assert reads_as(
        expanded, style="outline", size="small", colour="blue", shape="square", position="top", background="black"
    ), expanded
    again = client.predict("an outlined tiny blue box up top on a dark background", seed=3, api_name="/expand")
    assert again == expanded


def test_stylize(client, t2i_entry):
    run = text2image.settings(t2i_entry)
    (before, result), used, caption, png = client.predict(
        handle_file(PICTURE), "outline style", seed=3, api_name="/stylize"
    )
    assert Path(before).read_bytes() == PICTURE.read_bytes()  # the original beside the result
    with Image.open(result) as image:
        image.load()
        assert image.size == (run["width"], run["height"])
    # the picture is read, its style switched in the prompt, and the redraw shows the same objects outlined
    assert describes(caption, ASSET_SENTENCES[PICTURE.name])
    assert used == sentence(with_style(parse_sentence(caption), "outline"))
    wanted = with_style(parse_sentence(ASSET_SENTENCES[PICTURE.name]), "outline")
    with Image.open(result) as image:
        assert sentence(parse_image(image)) == sentence(wanted)
    assert read_png(Path(png))["seed"] == 3


def test_caption_one_and_several(client):
    caption, table = client.predict(handle_file(PICTURE), api_name="/caption")
    assert describes(caption, ASSET_SENTENCES[PICTURE.name])
    names = sorted(ASSET_SENTENCES)[:2]
    caption, table = client.predict(None, images=[handle_file(ASSETS / name) for name in names], api_name="/caption")
    assert caption == "" and len(table["data"]) == 2
    assert all(describes(text, ASSET_SENTENCES[name]) for name, (_, text) in zip(names, table["data"]))


# ------------------------------------------------------------------ bad input


def test_empty_prompt(client):
    with pytest.raises(AppError) as e:
        client.predict("   ", api_name="/generate")
    assert str(e.value) == sentence_of(lambda: inputs.prompt("   "))
    still_serves(client)


def test_over_long_prompt(client):
    long = "a big red ball " * 100
    with pytest.raises(AppError) as e:
        client.predict(long, api_name="/generate")
    assert str(e.value) == sentence_of(lambda: inputs.prompt(long))
    still_serves(client)


def test_steps_out_of_range(client, t2i_entry):
    with pytest.raises(AppError) as e:
        client.predict(CANONICAL, steps=100000, api_name="/generate")
    assert str(e.value) == sentence_of(lambda: text2image.settings(t2i_entry, steps=100000))
    still_serves(client)


@pytest.mark.parametrize("model_id", ["nobody/nothing", "../../etc/passwd"])
def test_unknown_and_path_trick_model_ids(client, registry, model_id):
    with pytest.raises(AppError) as e:
        client.predict(CANONICAL, model=model_id, api_name="/generate")
    assert str(e.value) == sentence_of(lambda: registry.get(model_id))
    with pytest.raises(AppError) as e:
        client.predict(handle_file(PICTURE), model=model_id, api_name="/caption")
    assert str(e.value) == sentence_of(lambda: registry.get(model_id))
    still_serves(client)


def test_a_file_that_is_not_a_picture(client, tmp_path):
    text = tmp_path / "notes.png"
    text.write_text("this is not a picture\n")
    with pytest.raises(AppError) as e:
        client.predict(handle_file(text), api_name="/caption")
    assert str(e.value) == sentence_of(lambda: inputs.image(text))
    with pytest.raises(AppError) as e:
        client.predict(handle_file(text), "outline style", api_name="/stylize")
    assert str(e.value) == sentence_of(lambda: inputs.image(text))
    still_serves(client)


def test_a_decompression_bomb(client, tmp_path):
    bomb = png_bomb(tmp_path / "bomb.png")
    with pytest.raises(AppError) as e:
        client.predict(handle_file(bomb), api_name="/caption")
    assert str(e.value) == sentence_of(lambda: inputs.image(bomb))
    assert "too large" in str(e.value)
    still_serves(client)


def test_unexpected_errors_become_one_generic_sentence():
    @guarded
    def broken():
        raise RuntimeError("/secret/path/in/a/traceback")

    @guarded
    def refused():
        raise BadInput("That is not allowed.")

    with pytest.raises(gr.Error) as e:
        broken()
    assert e.value.message == GENERIC_ERROR
    with pytest.raises(gr.Error) as e:
        refused()
    assert e.value.message == "That is not allowed."


# ------------------------------------------------------------------ verify and refine (last: the slowest)


def test_generate_verified_shows_every_candidate_best_first(client):
    pictures, used, shown, files = client.predict(
        "big red ball on the left", seed=11, verify_and_refine=True, candidates=2, rounds=1, api_name="/generate"
    )
    assert len(pictures) == 2 and len(files) == 2
    scores = shown["scores"]
    assert scores == sorted(scores, reverse=True) and len(shown["captions"]) == 2 and len(shown["rounds"]) == 1
    for picture, score, caption in zip(pictures, scores, shown["captions"]):
        assert picture["caption"].split("\n")[0] == f"score {score:.2f} — {caption}"
        with Image.open(picture["image"]) as image:
            image.load()


# ------------------------------------------------------------------ previews and stop


def test_generate_streams_previews_before_the_final_picture(client):
    job = client.submit(CANONICAL, steps=8, seed=5, api_name="/generate")
    final = job.result(timeout=120)
    outputs = job.outputs()
    previews = [o for o in outputs[:-1] if o[0] and o[0][0]["caption"] == "preview"]
    assert len(previews) >= 2 and outputs[-1][0] == final[0]
    assert final[0][0]["caption"].startswith("seed 5\n")


def test_stop_through_the_api_stops_the_drawing(client, cache):
    import time

    from pipelines.models.batching import batcher_for

    batcher = batcher_for(cache)
    job = client.submit(CANONICAL, steps=150, seed=5, api_name="/generate")
    deadline = time.time() + 60
    while not job.outputs() and time.time() < deadline:  # the first preview: the drawing is under way
        time.sleep(0.05)
    before = batcher.steps_run
    job.cancel()
    time.sleep(3)
    assert batcher.steps_run - before < 100  # a full run would go on to step 150
    still_serves(client)
