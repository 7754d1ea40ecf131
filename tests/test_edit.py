"""Editing pictures by instruction (pipelines/edit.py): end to end on the starter zoo, the refusals,
the command line, weight sharing; and the open-world path on the tiny hub models."""

import json

import numpy as np
import pytest
from PIL import Image

from pipelines.__main__ import main
from pipelines.core.metadata import read_png
from pipelines.tasks.edit import edit, inpaint, outpaint
from pipelines.tasks.edit_plan import parse_answer, region_mask
from worlds.shapes.edits import apply
from worlds.shapes.scene_parser import parse_image
from worlds.shapes.world import parse_sentence, reading_order, render_pil, sentence
from zoo.errors import BadInput

MODEL = "starter/shapes-diffusion"
TWO = parse_sentence(
    "a large red circle on the left and a small blue cross on the right on a gray background, outline style"
)
ONE = parse_sentence("a small green triangle at the top on a white background, flat style")


def outside_change(before: Image.Image, after: Image.Image, mask: Image.Image) -> int:
    changed = np.abs(np.asarray(after, np.int16) - np.asarray(before, np.int16)).max(-1)
    return int(changed[np.asarray(mask) == 0].max(initial=0))


@pytest.mark.parametrize(
    "scene, instruction",
    [
        (TWO, "make the circle green"),
        (TWO, "turn the cross into a square"),
        (TWO, "make the blue one bigger"),
        (TWO, "remove the object on the left"),
        (ONE, "make the background black"),
        (TWO, "make it filled"),
        (ONE, "replace the triangle with a ball"),
    ],
)
def test_an_edit_changes_what_was_asked_and_nothing_else(cache, scene, instruction):
    picture = render_pil(scene)
    result = edit(cache, picture, instruction, MODEL, seed=3, verify=4)
    wanted = reading_order(apply(scene, instruction).scene)
    assert result.read == sentence(reading_order(scene))
    assert result.used_prompt == sentence(wanted)
    assert parse_image(result.image) == wanted
    assert result.candidates[result.kept]["right"] and len(result.candidates) == 4
    mask = np.asarray(result.mask) > 0
    assert 0 < mask.sum() < mask.size
    assert outside_change(picture, result.image, result.mask) == 0  # pixel for pixel the same outside the mask
    assert result.parameters["model"] == MODEL and result.parameters["request"] == instruction


def test_the_mask_covers_the_old_and_new_footprint(cache):
    result = edit(cache, render_pil(TWO), "make the cross bigger", MODEL, seed=0)
    mask = np.asarray(result.mask) > 0
    assert mask[32, 48] and mask[20, 48] and mask[44, 48]  # the large cross reaches 14 pixels from its centre
    assert not mask[:, :30].any()  # the circle on the left is not touched


def test_an_edit_without_verify_reports_no_candidates(cache):
    result = edit(cache, render_pil(TWO), "make the background white", MODEL, seed=1)
    assert result.kept is None and result.candidates == [] and result.region == "background"


def test_an_edit_the_picture_already_shows_draws_nothing(cache, monkeypatch):
    monkeypatch.setattr(cache, "use_inpaint", lambda model_id: pytest.fail("nothing should be drawn"))
    picture = render_pil(TWO)
    result = edit(cache, picture, "make the cross smaller", MODEL, seed=0)
    assert np.array_equal(np.asarray(result.image), np.asarray(picture)) and not np.asarray(result.mask).any()


@pytest.mark.parametrize(
    "image, instruction, words",
    [
        (None, "make the circle blue", "No picture"),
        ("picture", "  ", "instruction is empty"),
        ("picture", "make the triangle blue", "There is no triangle"),
        ("picture", "make the circle blue", "already blue"),
        ("picture", "make it sparkle", "not an edit"),
        ("two circles", "make the circle green", "There are two circles"),
        ("one", "delete the triangle", "only this one object"),
    ],
)
def test_refusals_are_one_sentence_and_draw_nothing(cache, monkeypatch, image, instruction, words):
    monkeypatch.setattr(cache, "use_inpaint", lambda model_id: pytest.fail("nothing should be drawn"))
    pictures = {
        "picture": render_pil(TWO),
        "one": render_pil(ONE),
        None: None,
        "two circles": render_pil(
            parse_sentence(
                "a small red circle on the left and a large blue circle on the right on a white background, flat style"
            )
        ),
    }
    with pytest.raises(BadInput, match=words) as caught:
        edit(cache, pictures[image], instruction, MODEL, seed=0)
    assert str(caught.value).endswith(".") and "\n" not in str(caught.value)


def test_the_inpaint_pipeline_shares_the_text_to_image_weights(cache):
    with cache.use(MODEL) as pipe:
        unet, text_encoder, vae = (next(m.parameters()).data_ptr() for m in (pipe.unet, pipe.text_encoder, pipe.vae))
    with cache.use_inpaint(MODEL) as inpainting:
        assert type(inpainting).__name__ == "StableDiffusionInpaintPipeline"
        assert next(inpainting.unet.parameters()).data_ptr() == unet
        assert next(inpainting.text_encoder.parameters()).data_ptr() == text_encoder
        assert next(inpainting.vae.parameters()).data_ptr() == vae


def test_inpaint_redraws_only_the_painted_region(cache):
    picture = render_pil(TWO)
    painted = np.zeros((64, 64), np.uint8)
    painted[10:54, 34:62] = 255
    result = inpaint(
        cache,
        picture,
        painted,
        "a large red circle on the left and a small pink square on the right on a gray background, outline style",
        MODEL,
        seed=2,
    )
    assert result.region == "painted" and outside_change(picture, result.image, result.mask) == 0
    assert not np.array_equal(np.asarray(result.image), np.asarray(picture))
    with pytest.raises(BadInput, match="mask is empty"):
        inpaint(cache, picture, np.zeros((64, 64), np.uint8), "a cat", MODEL, seed=2)


def test_outpaint_extends_the_canvas_by_the_models_size(cache):
    picture = render_pil(ONE)
    result = outpaint(
        cache, picture, "left", "a small green triangle at the top on a white background, flat style", MODEL, seed=0
    )
    assert result.image.size == (128, 64) and result.parameters["width"] == 128
    assert np.array_equal(np.asarray(result.image)[:, 64:], np.asarray(picture))
    assert (np.asarray(result.mask)[:, :64] == 255).all() and not np.asarray(result.mask)[:, 64:].any()
    assert outpaint(cache, picture, "bottom", "x", MODEL, seed=0).image.size == (64, 128)
    with pytest.raises(BadInput, match="left, right, top or bottom"):
        outpaint(cache, picture, "diagonal", "x", MODEL, seed=0)


def test_the_command_line_writes_rows_and_goes_on_after_a_refusal(registry_path, tmp_path, capsys):
    first, second = tmp_path / "a.png", tmp_path / "b.png"
    render_pil(TWO).save(first)
    render_pil(ONE).save(second)
    out = tmp_path / "out"
    argv = [
        "--registry",
        str(registry_path),
        "edit",
        "--model",
        MODEL,
        "--instruction",
        "make the circle yellow",
        "--seed",
        "5",
        "--verify",
        "3",
        "--out",
        str(out),
        str(first),
        str(second),
    ]
    assert main(argv) == 1  # the second picture was refused: said, and the exit status tells
    assert "There is no circle" in capsys.readouterr().err
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert [r["image"] for r in rows] == [str(first), str(second)]
    assert rows[0]["output"] == "0000.png" and rows[0]["instruction"] == "make the circle yellow"
    assert rows[0]["read"] == sentence(TWO) and rows[0]["used_prompt"].startswith("a large yellow circle on the left")
    assert read_png(out / "0000.png")["prompt"] == rows[0]["used_prompt"]
    assert "There is no circle" in rows[1]["error"] and "output" not in rows[1]
    assert not (out / "0001.png").exists()


def test_the_command_line_refuses_missing_pictures(registry_path, tmp_path, capsys):
    out = tmp_path / "out"
    argv = [
        "--registry",
        str(registry_path),
        "edit",
        "--instruction",
        "make it flat",
        "--out",
        str(out),
        str(tmp_path / "missing.png"),
    ]
    assert main(argv) == 2
    assert "There is no picture file" in capsys.readouterr().err and not out.exists()
    broken = tmp_path / "broken.png"
    broken.write_text("not a picture")
    assert main(argv[:-1] + [str(broken)]) == 2


def test_expander_answers_and_region_masks():
    assert parse_answer("prompt: a red fox at dusk\nregion: LEFT") == ("a red fox at dusk", "left")
    assert parse_answer("region: sideways") == ("", None)
    mask = region_mask("left", (8, 4))
    assert mask.shape == (4, 8) and mask[:, :4].all() and not mask[:, 4:].any()
    background = region_mask("background", (8, 8))
    assert not background[2:6, 2:6].any() and background[0].all()


def test_open_world_models_edit_through_the_expander_and_captioner(offline_hub):
    from zoo.cache import ModelCache
    from zoo.registry import load_registry

    cache = ModelCache(load_registry(), device="cpu", budget_gb=4)
    picture = Image.fromarray(np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8))
    result = edit(cache, picture, "make the sky on the left purple", "stabilityai/sd-turbo", seed=1, steps=1)
    assert result.image.size == (512, 512) and result.read  # the captioner read the picture
    assert result.region in ("whole", "left", "right", "top", "bottom", "center", "background")
    mask = np.asarray(result.mask) > 0
    assert np.array_equal(mask, region_mask(result.region, (512, 512)))
    before = picture.resize((512, 512), Image.LANCZOS)
    assert outside_change(before, result.image, result.mask) == 0
    with cache.use("stabilityai/sd-turbo") as pipe, cache.use_inpaint("stabilityai/sd-turbo") as inpainting:
        assert inpainting.unet is pipe.unet
