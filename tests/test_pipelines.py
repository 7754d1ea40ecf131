"""The four pipelines, the verify loop and PNG metadata, on the starter zoo's own models."""

import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pipelines.core.control import RunControl
from pipelines.core.metadata import from_text, read_png, save_png, to_text
from pipelines.models.expander import expand
from pipelines.tasks.caption import caption
from pipelines.tasks.generate import generate
from pipelines.tasks.stylize import stylize
from pipelines.tasks.verify import generate_verified
from worlds.shapes import SHAPES_WORLD
from worlds.shapes.requests import read_request
from worlds.shapes.scene_parser import compare, parse_image
from worlds.shapes.world import Obj, Scene, parse_sentence, reading_order, render_pil, sentence, with_style
from zoo.errors import BadInput, Cancelled, UnknownModel

CANONICAL = "a large red circle on the left on a gray background, flat style"
ASSETS = Path(__file__).resolve().parent.parent / "assets"
ASSET_SENTENCES = {  # the scenes the example pictures were rendered from (their pixels are exactly render()'s)
    "green-triangle-outline.png": "a large green triangle in the center on a black background, outline style",
    "purple-cross-yellow-circle.png": "a small purple cross at the top and a large yellow circle at the bottom "
    "on a gray background, flat style",
    "two-shapes.png": "a large red circle on the left and a small blue square on the right on a white background, "
    "flat style",
}


def describes(caption: str, wanted: str) -> bool:
    """`caption` is a canonical sentence of the scene `wanted` names; a two-object scene has two, one per
    object order, and either is right."""
    read = parse_sentence(caption)
    return (
        read is not None and caption == sentence(read) and reading_order(read) == reading_order(parse_sentence(wanted))
    )


def pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image, dtype=np.int16)


def test_generate_returns_images_prompt_and_parameters(cache):
    result = generate(cache, CANONICAL, seed=5, num_images=2)
    assert len(result.images) == 2 and all(im.size == (64, 64) for im in result.images)
    assert result.used_prompt == CANONICAL
    first, second = result.parameters
    assert (first["seed"], second["seed"]) == (5, 6)
    assert first["model"] == "starter/shapes-diffusion" and first["steps"] == 4 and first["width"] == 64
    assert first["sampler"] == "DDIM"


def test_seeds_reproduce_images_exactly_whatever_the_batch(cache):
    alone = generate(cache, CANONICAL, seed=42).images[0]
    again = generate(cache, CANONICAL, seed=42).images[0]
    in_batch = generate(cache, CANONICAL, seed=41, num_images=2).images[1]  # second image has seed 42
    assert (pixels(alone) == pixels(again)).all()
    assert np.abs(pixels(alone) - pixels(in_batch)).max() <= 1  # batched matmuls may round differently


def stop_after_first_step(seen: list, stop: threading.Event):
    """A progress callback that records each step and presses Stop once the first step is done."""

    def progress(done: int, total: int) -> None:
        seen.append((done, total))
        if done == 1:
            stop.set()

    return progress


def test_progress_reports_every_step_and_cancel_stops(cache):
    seen = []
    generate(cache, CANONICAL, seed=1, steps=3, control=RunControl(lambda done, total: seen.append((done, total))))
    assert seen == [(1, 3), (2, 3), (3, 3)]
    # Stop pressed during the run, after step 1 of 8: no later step runs, and the run says it was cancelled
    seen, stop = [], threading.Event()
    with pytest.raises(Cancelled):
        generate(cache, CANONICAL, seed=1, steps=8, control=RunControl(stop_after_first_step(seen, stop), stop))
    assert seen == [(1, 8)]


def test_stylize_cancel_stops_during_the_run(cache):
    picture = render_pil(Scene("white", "flat", (Obj("blue", "square", "large", "center"),)))
    seen, stop = [], threading.Event()
    with pytest.raises(Cancelled):
        stylize(
            cache,
            picture,
            "outline style",
            seed=0,
            steps=8,
            control=RunControl(stop_after_first_step(seen, stop), stop),
        )
    assert seen == [(1, 6)]  # strength 0.8 of 8 steps: 6 image-to-image steps were due, one ran


def test_expansion_is_seeded_and_returns_text(cache):
    a = expand(cache, "big red ball on the left", seed=3)
    b = expand(cache, "big red ball on the left", seed=3)
    assert a == b and isinstance(a, str) and a


def test_world_samples_are_checked_against_what_the_request_states():
    request = read_request("big red ball on the left")
    assert SHAPES_WORLD.agreement(request, "a big red ball please") == -1.0  # not a canonical sentence
    assert SHAPES_WORLD.agreement(request, "a large red circle on the left on a gray background, flat style") == 1.0
    assert 0 < SHAPES_WORLD.agreement(request, "a large blue circle on the left on a gray background, flat style") < 1


PROMPTER = "starter/shapes-prompter"
# the model alone keeps every stated attribute in 12 of 16 English and 14 of 16 Chinese first samples here
# (88 % and 76.5 % of 200 fresh requests in bench/prompter_quality.py); sample-and-check keeps them in all 16
FIRST_SAMPLE_THRESHOLD = 0.7
CHECKED_THRESHOLD = 0.95
ENGLISH_REQUESTS = [
    "big red ball on the left",
    "an outlined tiny blue box up top on a dark background",
    "two shapes: a green triangle to the left and a violet plus to the right",
    "a small yellow square in the center",
    "huge orange disc near the bottom, solid",
    "a pink plus sign on the right side on a white backdrop",
    "a little cyan triangle",
    "please draw a large green box to the left, grey backdrop, line drawing",
]
CHINESE_REQUESTS = [
    "画一个大的红色圆形在左边",
    "左边一个小的蓝色方块，右边一个绿色三角形，黑色背景，空心",
    "请画一个很小的粉色十字在上面，白底",
    "上方有一个小的蓝色方块",
    "帮我画一个黄色正方形在中间",
    "我想要一个很大的橙色三角形在下方，灰底，实心",
    "一个青色圆圈靠右",
    "a 红色 circle 在左边",
]


def first_samples(cache, requests: list[str], seed: int) -> list[str]:
    """The prompter's own first sample for each request, before any check."""
    from pipelines.models.expander import _generate

    with cache.use(PROMPTER) as lm:
        return [_generate(lm, cache.registry.get(PROMPTER), text, seed) for text in requests]


def keeps_every_stated_attribute(request_text: str, output: str) -> bool:
    scene = parse_sentence(output)
    return scene is not None and all(read_request(request_text).agrees_with(scene).values())


@pytest.mark.parametrize("requests", [ENGLISH_REQUESTS, CHINESE_REQUESTS], ids=["english", "chinese"])
def test_the_starter_prompters_first_sample_keeps_every_stated_attribute(cache, requests):
    kept = [
        keeps_every_stated_attribute(text, out)
        for seed in (0, 1)
        for text, out in zip(requests, first_samples(cache, requests, seed))
    ]
    assert sum(kept) / len(kept) >= FIRST_SAMPLE_THRESHOLD


def test_sample_and_check_keeps_the_first_sample_the_reader_passes(cache):
    from pipelines.models.expander import WORLD_RETRIES

    for text in ENGLISH_REQUESTS + CHINESE_REQUESTS:
        samples = [first_samples(cache, [text], 5 + k)[0] for k in range(WORLD_RETRIES)]
        agreement = [SHAPES_WORLD.agreement(text, s) for s in samples]
        chosen = expand(cache, text, PROMPTER, 5)
        if 1.0 in agreement:
            assert chosen == samples[agreement.index(1.0)]
        else:  # no sample passed: the grammar writes the sentence
            assert chosen == SHAPES_WORLD.complete(text, 5)
    kept = [
        keeps_every_stated_attribute(text, expand(cache, text, PROMPTER, 5))
        for text in ENGLISH_REQUESTS + CHINESE_REQUESTS
    ]
    assert sum(kept) / len(kept) >= CHECKED_THRESHOLD


def test_when_no_sample_passes_the_grammar_writes_a_sentence_that_keeps_the_request(cache, monkeypatch):
    import pipelines.models.expander as expansion

    monkeypatch.setattr(expansion, "WORLD_RETRIES", 0)  # as if every sample had missed
    for text in ENGLISH_REQUESTS + CHINESE_REQUESTS:
        written = expand(cache, text, PROMPTER, 5)
        assert SHAPES_WORLD.is_canonical(written) and keeps_every_stated_attribute(text, written), (text, written)


def test_generate_with_expansion_reports_the_prompt_used(cache):
    result = generate(cache, "big red ball on the left", seed=3, expand_with="starter/shapes-prompter")
    assert result.used_prompt == expand(cache, "big red ball on the left", "starter/shapes-prompter", 3)
    assert result.parameters[0]["request"] == "big red ball on the left"


def test_describes_accepts_either_object_order_and_nothing_else():
    two = ASSET_SENTENCES["two-shapes.png"]
    swapped = "a small blue square on the right and a large red circle on the left on a white background, flat style"
    assert describes(two, two) and describes(swapped, two)
    assert not describes(two.replace("small blue", "small green"), two)
    assert not describes(two.replace(", flat style", ""), two)


def test_caption_one_and_a_batch(cache, tmp_path):
    picture = render_pil(Scene("white", "flat", (Obj("blue", "square", "large", "center"),)))
    path = tmp_path / "p.png"
    picture.save(path)
    one = caption(cache, picture)
    assert one == ["a large blue square in the center on a white background, flat style"]
    assert caption(cache, [picture, str(path)]) == one * 2


def test_the_starter_captioner_tells_the_example_pictures_exactly(cache):
    names = sorted(ASSET_SENTENCES)
    captions = caption(cache, [str(ASSETS / name) for name in names])
    for name, text in zip(names, captions):
        assert describes(text, ASSET_SENTENCES[name]), (name, text)


def test_stylize_returns_a_picture_and_the_prompt(cache):
    picture = render_pil(Scene("white", "flat", (Obj("blue", "square", "large", "center"),)))
    result = stylize(cache, picture, "outline style", seed=0)
    assert result.image.size == (64, 64)
    assert result.parameters["strength"] == 0.8 and result.parameters["request"] == "outline style"
    assert result.used_prompt == "a large blue square in the center on a white background, outline style"
    with pytest.raises(BadInput):
        stylize(cache, picture, "make it baroque", seed=0)


@pytest.mark.parametrize("name", sorted(ASSET_SENTENCES))
def test_stylize_switches_the_style_and_keeps_the_objects(cache, name):
    scene = parse_sentence(ASSET_SENTENCES[name])
    target = "outline" if scene.style == "flat" else "flat"
    result = stylize(cache, str(ASSETS / name), f"{target} style", seed=1)
    assert describes(result.caption, ASSET_SENTENCES[name])
    assert result.used_prompt == sentence(with_style(parse_sentence(result.caption), target))
    drawn = parse_image(result.image)  # the picture itself, read back by the world's scene parser
    assert drawn.style == target and compare(with_style(scene, target), drawn)["correct"], sentence(drawn)


def test_stylize_shares_the_text_to_image_weights(cache):
    with cache.use("starter/shapes-diffusion") as pipe:
        unet_weight = next(pipe.unet.parameters()).data_ptr()
    with cache.use_img2img("starter/shapes-diffusion") as img2img:
        assert next(img2img.unet.parameters()).data_ptr() == unet_weight
        assert img2img.vae is not None and type(img2img).__name__ == "StableDiffusionImg2ImgPipeline"


def test_verify_returns_every_candidate_scored_best_first(cache):
    result = generate_verified(cache, CANONICAL, seed=0, candidates=3, rounds=2)
    scores = result.checks()["scores"]
    assert len(result.images) == len(scores) == len(result.checks()["captions"]) >= 3
    assert scores == sorted(scores, reverse=True) and all(0 <= s <= 1 for s in scores)
    first_round = result.checks()["rounds"][0]
    assert len(first_round["captions"]) == 3 and first_round["prompt"] == CANONICAL
    assert all(p.receipt and p.score == sum(r["ok"] for r in p.receipt) / len(p.receipt) for p in result.pictures)
    # the starter model draws this request right at seed 0 in the first round, so no second round is drawn
    assert max(first_round["scores"]) == 1 and len(result.checks()["rounds"]) == 1
    assert all(row["ok"] for row in result.pictures[0].receipt)


@pytest.mark.parametrize(
    "kwargs,words",
    [
        ({"prompt": ""}, "empty"),
        ({"prompt": "x" * 5000}, "characters"),
        ({"prompt": CANONICAL, "steps": 100000}, "Steps"),
        ({"prompt": CANONICAL, "guidance": float("nan")}, "Guidance"),
        ({"prompt": CANONICAL, "width": 100}, "multiple of 8"),
        ({"prompt": CANONICAL, "num_images": 50}, "Number of images"),
        ({"prompt": CANONICAL, "seed": -5}, "Seed"),
        ({"prompt": CANONICAL, "model_id": "starter/shapes-captioner"}, "not a text-to-image"),
    ],
)
def test_bad_generation_requests_get_one_sentence(cache, kwargs, words):
    with pytest.raises(BadInput, match=words):
        generate(cache, **kwargs)


@pytest.mark.parametrize("model_id", ["nobody/nothing", "../../etc/passwd", "starter/../../secrets", "a" * 300])
def test_unknown_or_tricky_model_ids(cache, model_id):
    with pytest.raises(UnknownModel):
        generate(cache, CANONICAL, model_id=model_id)


def test_png_parameters_round_trip(cache, tmp_path):
    result = generate(cache, CANONICAL, seed=9, negative_prompt="blurry, dark")
    path = save_png(result.images[0], tmp_path / "out.png", result.parameters[0])
    read = read_png(path)
    for key in ("prompt", "negative_prompt", "seed", "steps", "width", "height", "model", "sampler"):
        assert read[key] == result.parameters[0][key], key
    text = Image.open(path).info["parameters"]
    assert text.splitlines()[1] == "Negative prompt: blurry, dark"
    assert text.splitlines()[2].startswith("Steps: 4, Sampler: DDIM, CFG scale: 1.0, Seed: 9, Size: 64x64")


def test_metadata_text_survives_awkward_prompts():
    params = {"prompt": 'a "quoted", odd: prompt', "steps": 3, "seed": 1, "width": 64, "height": 64, "guidance": 2.5}
    assert from_text(to_text(params)) == params
