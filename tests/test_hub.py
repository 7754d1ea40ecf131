"""Hub entries resolve through the real huggingface_hub cache (offline), load with their real
classes and run every pipeline: tiny random-weight models stand in for the real repos."""

import pytest
import torch
from PIL import Image

from pipelines.judges import judge_for
from pipelines.models.clip import clip_scores
from pipelines.models.expander import expand
from pipelines.tasks.caption import caption
from pipelines.tasks.generate import generate
from pipelines.tasks.stylize import stylize
from pipelines.tasks.verify import generate_verified
from tests.tiny_hub import commit_for
from zoo import hub
from zoo.cache import ModelCache
from zoo.errors import BrokenCheckpoint, ModelUnavailable, UnsafeCheckpoint
from zoo.registry import DEFAULT_REGISTRY, load_registry

SMALL = {"width": 64, "height": 64}
BROKEN = """
[[model]]
id = "acme/pickle-only"
task = "captioning"
repo = "acme/pickle-only"
loader = "BlipForConditionalGeneration"
licence = "mit"
memory_gb = 0.1
dtype = { cuda = "float16", mps = "float32", cpu = "float32" }

[[model]]
id = "acme/corrupt-sd"
task = "text-to-image"
repo = "acme/corrupt-sd"
loader = "StableDiffusionPipeline"
licence = "mit"
memory_gb = 0.1
dtype = { cuda = "float16", mps = "float32", cpu = "float32" }

[[model]]
id = "acme/never-downloaded"
task = "captioning"
repo = "acme/never-downloaded"
loader = "BlipForConditionalGeneration"
licence = "mit"
memory_gb = 0.1
dtype = { cuda = "float16", mps = "float32", cpu = "float32" }

[[model]]
id = "blip/unpinned"
task = "captioning"
repo = "Salesforce/blip-image-captioning-base"
revision = "main"
loader = "BlipForConditionalGeneration"
licence = "bsd-3-clause"
memory_gb = 0.1
dtype = { cuda = "float16", mps = "float32", cpu = "float32" }
"""


@pytest.fixture
def zoo(offline_hub):
    registry = load_registry(DEFAULT_REGISTRY)
    return registry, ModelCache(registry, device="cpu", budget_gb=4)


@pytest.fixture
def broken(offline_hub, tmp_path):
    path = tmp_path / "registry.toml"
    path.write_text(BROKEN)
    registry = load_registry(path)
    return registry, ModelCache(registry, device="cpu", budget_gb=4)


def test_every_hub_entry_resolves_to_its_pinned_snapshot(zoo, offline_hub):
    registry, _ = zoo
    for entry in registry.entries.values():
        if entry.is_local:
            continue
        folder = hub.resolve(entry)
        assert folder == offline_hub / f"models--{entry.repo.replace('/', '--')}" / "snapshots" / commit_for(entry.repo)
        assert hub.state(entry) == "on disk"


def test_refusals_are_one_clear_sentence(broken):
    registry, cache = broken
    with pytest.raises(UnsafeCheckpoint, match="no safetensors weights"):
        hub.resolve(registry.get("acme/pickle-only"))
    with pytest.raises(UnsafeCheckpoint, match="refs/pr/N"):
        cache.get("blip/unpinned")  # the real repo's main branch holds pickles only
    with pytest.raises(ModelUnavailable, match="offline"):
        cache.get("acme/never-downloaded")
    assert cache.state(registry.get("acme/never-downloaded")) == "unavailable offline"
    assert cache.state(registry.get("acme/pickle-only")) == "refused: no safetensors"
    with pytest.raises(BrokenCheckpoint, match="does not load"):
        cache.get("acme/corrupt-sd")
    assert cache.loaded() == {}


def test_an_unreachable_hub_is_noticed_quickly(monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "ENDPOINT", "http://127.0.0.1:9")  # the discard port: refused at once
    assert hub.reachable(timeout=2) is False


@pytest.mark.parametrize(
    "model_id", ["stabilityai/sd-turbo", "stabilityai/sdxl-turbo", "stable-diffusion-v1-5/stable-diffusion-v1-5"]
)
def test_text_to_image_hub_models(zoo, model_id):
    _, cache = zoo
    result = generate(cache, "a red fox in the snow", model_id=model_id, seed=1, steps=2, **SMALL)
    assert result.images[0].size == (64, 64)
    again = generate(cache, "a red fox in the snow", model_id=model_id, seed=1, steps=2, **SMALL)
    assert list(result.images[0].getdata()) == list(again.images[0].getdata())


def test_style_transfer_on_a_hub_model_shares_weights(zoo):
    _, cache = zoo
    picture = generate(cache, "a house", model_id="stabilityai/sd-turbo", seed=0, steps=1, **SMALL).images[0]
    result = stylize(
        cache, picture, "watercolor painting", model_id="stabilityai/sd-turbo", strength=0.5, seed=0, steps=2
    )
    assert result.image.size == (512, 512)  # the entry's default size
    assert result.used_prompt.endswith(", watercolor painting") and result.caption is not None
    with cache.use("stabilityai/sd-turbo") as pipe, cache.use_img2img("stabilityai/sd-turbo") as img2img:
        assert img2img.unet is pipe.unet and img2img.text_encoder is pipe.text_encoder


def test_chat_and_completion_expanders(zoo):
    _, cache = zoo
    chat = expand(cache, "a cat on a roof", "Qwen/Qwen2.5-0.5B-Instruct", seed=4)
    assert chat == expand(cache, "a cat on a roof", "Qwen/Qwen2.5-0.5B-Instruct", seed=4)
    completion = expand(cache, "a cat on a roof", "Gustavosta/MagicPrompt-Stable-Diffusion", seed=4)
    assert completion.startswith("a cat on a roof")  # completion models continue the request


def test_blip_captioning_hub_models(zoo):
    _, cache = zoo
    picture = generate(cache, "a tree", model_id="stabilityai/sd-turbo", seed=0, steps=1, **SMALL).images[0]
    for model_id in ("Salesforce/blip-image-captioning-base", "Salesforce/blip-image-captioning-large"):
        texts = caption(cache, [picture, picture], model_id)
        assert len(texts) == 2 and texts[0] == texts[1]


def test_clip_scoring_and_verify_on_hub_models(zoo):
    registry, cache = zoo
    picture = generate(cache, "a tree", model_id="stabilityai/sd-turbo", seed=0, steps=1, **SMALL).images[0]
    blank = Image.new("RGB", picture.size, (255, 255, 255))
    scores = clip_scores(cache, "openai/clip-vit-base-patch32", "a tree", [picture, picture, blank])
    # the cosine of the model's own picture and text features, each picture on its own, clipped to [0, 1]
    with cache.use("openai/clip-vit-base-patch32") as clip:
        text = clip.processor(text=["a tree"], return_tensors="pt", padding=True)
        wanted = []
        for image in (picture, blank):
            pixels = clip.processor(images=[image], return_tensors="pt")["pixel_values"]
            with torch.inference_mode():
                out = clip.model(**text, pixel_values=pixels)
            wanted.append(max(0.0, min(1.0, torch.cosine_similarity(out.image_embeds, out.text_embeds).item())))
    assert 0 < wanted[0] < 1 and 0 < wanted[1] < 1 and wanted[0] != wanted[1], wanted  # no clipping hides a bug
    assert scores == pytest.approx([wanted[0], wanted[0], wanted[1]], abs=1e-5)
    hub_judge = judge_for(cache, registry.get("stabilityai/sd-turbo"))
    assert hub_judge.world is None and judge_for(cache, registry.get("starter/shapes-diffusion")).world is not None
    result = generate_verified(
        cache,
        "a tree",
        "stabilityai/sd-turbo",
        seed=0,
        candidates=2,
        rounds=2,
        expand_with="Qwen/Qwen2.5-0.5B-Instruct",
        steps=1,
    )
    assert len(result.images) == len(result.checks()["scores"]) >= 2
    if len(result.checks()["rounds"]) == 2:  # the chat model rewrote the prompt from the captions of the misses
        assert result.checks()["rounds"][1]["prompt"] != "" and result.checks()["rounds"][0]["captions"]
