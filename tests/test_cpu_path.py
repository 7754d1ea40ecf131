"""The CPU path (zoo/cpu_path.py), fast and full decode with kept latents (pipelines/models/decode.py), previews
through the tiny autoencoder, and the CPU default, on the tiny hub's random-weight models."""

from __future__ import annotations

import sys

import pytest
import torch

from pipelines.core.control import RunControl
from pipelines.core.results import GenerateRequest
from pipelines.models import decode
from pipelines.tasks import generate as text2image
from zoo import cpu_path, defaults
from zoo.cache import ModelCache
from zoo.errors import BadInput, InvalidRegistry
from zoo.registry import DEFAULT_REGISTRY, load_registry

SD_TURBO = "stabilityai/sd-turbo"
EPYC = cpu_path.Cpu(2, frozenset({"avx2", "avx512f", "avx512_bf16"}))
OLD = cpu_path.Cpu(2, frozenset({"avx2"}))
SLOW = cpu_path.Cpu(1, frozenset({"avx2"}))


@pytest.fixture
def hub_cache(offline_hub):
    return ModelCache(load_registry(DEFAULT_REGISTRY), device="cpu", budget_gb=4)


def draw(cache, mode, **more):
    job = GenerateRequest("a red cat", model=SD_TURBO, seed=3, width=64, height=64, decode=mode, **more)
    return text2image.run(cache, job)


def test_cpuinfo_gives_physical_cores_and_flags(tmp_path):
    info = tmp_path / "cpuinfo"
    block = "processor\t: {n}\nphysical id\t: 0\ncore id\t: {core}\nflags\t\t: fpu avx512f avx512_bf16\n\n"
    info.write_text("".join(block.format(n=n, core=n // 2) for n in range(4)))  # 2 cores, 2 threads each
    cpu = cpu_path.read_cpu(info)
    assert cpu.cores == 2 and cpu.bf16
    assert not cpu_path.read_cpu(tmp_path / "missing").bf16


def test_bf16_levers_only_where_the_cpu_has_native_bf16():
    bf16 = {"bfloat16 UNet", "bfloat16 text encoder", "bfloat16 decoders", "channels-last decoders"}
    on = {lever.name for lever in cpu_path.plan(EPYC) if lever.on}
    assert bf16 <= on
    off = {lever.name for lever in cpu_path.plan(OLD) if not lever.on}
    assert bf16 <= off
    assert all(lever.why for lever in cpu_path.plan(EPYC))


def test_glibc_takes_the_keep_freed_memory_settings():
    assert cpu_path.keep_freed_memory() is (sys.platform == "linux")


def test_bf16_inside_keeps_a_float32_face_and_the_timestep(hub_cache):
    pipe = _build_turbo(hub_cache)
    unet = pipe.unet
    sample, states = torch.randn(1, 4, 4, 4), torch.randn(1, 77, 32)
    seen = []
    unet.time_proj.register_forward_hook(lambda m, args, out: seen.append(args[0]))
    with torch.inference_mode():
        before = unet(sample, 999.0, states).sample
        cpu_path.bf16_inside(unet)
        after = unet(sample, torch.tensor(999.0), encoder_hidden_states=states).sample
    assert next(unet.parameters()).dtype == torch.bfloat16 and after.dtype == torch.float32
    assert float(seen[-1].max()) == 999.0  # 999 would be 1000 in bfloat16
    assert (after - before).abs().max() < 0.05 * before.abs().max()


def _build_turbo(cache):
    from zoo import hub
    from zoo.cache import _build

    entry = cache.registry.get(SD_TURBO)
    return _build(entry, hub.resolve(entry), torch.float32)


def test_the_cache_loads_real_diffusion_models_through_the_cpu_path(hub_cache, monkeypatch):
    kept: list[bool] = []
    monkeypatch.setattr(cpu_path, "keep_freed_memory", lambda: kept.append(True))
    monkeypatch.setattr(cpu_path, "this_cpu", lambda: EPYC)
    hub_cache.cpu_levers = cpu_path.plan(EPYC)
    pipe = hub_cache.get(SD_TURBO)
    assert next(pipe.unet.parameters()).dtype == torch.bfloat16
    assert next(pipe.vae.decoder.parameters()).dtype == torch.bfloat16
    assert next(pipe.vae.encoder.parameters()).dtype == torch.float32  # image-to-image encodes as before
    assert next(pipe.text_encoder.encoder.parameters()).dtype == torch.bfloat16
    assert pipe.text_encoder.dtype == torch.float32  # diffusers keeps prompt embeddings and latents float32
    conv = pipe.vae.decoder.conv_in.weight
    assert conv.is_contiguous(memory_format=torch.channels_last) and not conv.is_contiguous()
    assert kept  # glibc was asked to keep freed memory
    upsamplers = [m for m in pipe.vae.decoder.modules() if type(m).__name__ == "Upsample2D"]
    assert upsamplers and all("subpixel" in m.forward.__module__ for m in upsamplers)
    starter = hub_cache.get("starter/shapes-diffusion")  # small: stays as trained
    assert next(starter.unet.parameters()).dtype == torch.float32


def test_fast_decode_keeps_latents_and_decode_in_full_matches_a_full_run(hub_cache):
    fast = draw(hub_cache, "fast")
    picture = fast.pictures[0]
    assert picture.parameters["decode"] == "fast" and picture.latents
    assert SD_TURBO in hub_cache.loaded() and "madebyollin/taesd" in hub_cache.loaded()
    full = draw(hub_cache, "full").pictures[0]
    assert full.parameters["decode"] == "full" and full.latents is None
    assert list(fast.images[0].getdata()) != list(full.image.getdata())  # another autoencoder drew it
    again, parameters = decode.in_full(hub_cache, picture.latents)
    assert list(again.getdata()) == list(full.image.getdata())  # the same latents, the same full decode
    assert parameters == full.parameters


def test_decode_choices_and_kept_latents_refuse_bad_values(hub_cache):
    entry, starter = hub_cache.registry.get(SD_TURBO), hub_cache.registry.get("starter/shapes-diffusion")
    assert decode.choice(None, entry, "cpu") == "fast" and decode.choice(None, entry, "cuda") == "full"
    assert decode.choice("fast", starter, "cpu") == "full"  # no tiny autoencoder: its own is its fastest
    for bad in ("quick", 3, ["fast"]):
        with pytest.raises(BadInput, match="Decode takes 'fast' or 'full'"):
            decode.choice(bad, entry, "cpu")
    store = decode.KeptLatents(size=2)
    keys = [store.keep(SD_TURBO, torch.zeros(4, 2, 2)) for _ in range(3)]
    store.get(keys[2])
    for gone in (keys[0], "../../etc/passwd", None, {"a": 1}):
        with pytest.raises(BadInput, match="no longer kept"):
            store.get(gone)


def test_previews_go_through_the_tiny_autoencoder(hub_cache, monkeypatch):
    from pipelines.models import previews

    used = []
    real = previews._tiny_decode
    monkeypatch.setattr(previews, "_tiny_decode", lambda *a: used.append(a[1].shape) or real(*a))
    shown = []
    job = GenerateRequest("a red cat", model=SD_TURBO, seed=3, steps=8, width=64, height=64, decode="fast")
    text2image.run(hub_cache, job, RunControl(preview=shown.append))
    assert shown and used and all(p.size == (64, 64) for pictures in shown for p in pictures)


def test_a_cpu_machine_that_reaches_the_hub_gets_sd_turbo_where_its_fast_path_fits():
    registry = load_registry(DEFAULT_REGISTRY)
    fits = defaults.choose(registry, "cpu", budget_gb=8, hub_reachable=True, cpu=EPYC)
    assert fits.models["text-to-image"] == SD_TURBO
    assert "fast decode" in fits.reason and "s per picture" in fits.reason and "under the 10 s limit" in fits.reason
    slow = defaults.choose(registry, "cpu", budget_gb=8, hub_reachable=True, cpu=SLOW)
    assert slow.models["text-to-image"] == "starter/shapes-diffusion" and "over the 10 s limit" in slow.reason
    assert slow.models["prompt-expansion"] == fits.models["prompt-expansion"] == "starter/shapes-prompter"
    offline = defaults.choose(registry, "cpu", budget_gb=8, hub_reachable=False, cpu=EPYC)  # nothing on disk
    assert offline.models["text-to-image"] == "starter/shapes-diffusion"


def test_the_zoo_tab_says_which_levers_are_on_and_why_and_the_default(monkeypatch):
    from ui.studio import Studio
    from ui.zoo_tab import summary

    registry = load_registry(DEFAULT_REGISTRY)
    choice = defaults.choose(registry, "cpu", budget_gb=8, hub_reachable=True, cpu=EPYC)
    cache = ModelCache(registry.with_defaults(choice.models), device="cpu", budget_gb=4)
    cache.cpu_levers = cpu_path.plan(EPYC)
    text = summary(Studio(cache, defaults_reason=choice.reason))
    assert "on: **bfloat16 UNet**" in text and "off: **torch.compile**" in text and "fast decode" in text
    assert "s per picture" in text


def test_the_registry_checks_tiny_vae_names(tmp_path):
    text = DEFAULT_REGISTRY.read_text().replace('tiny_vae = "madebyollin/taesdxl"', 'tiny_vae = "acme/nothing"')
    bad = tmp_path / "registry.toml"
    bad.write_text(text)
    with pytest.raises(InvalidRegistry, match="names 'acme/nothing' as its vae model"):
        load_registry(bad)


def test_decode_in_full_from_the_ui_refuses_what_it_did_not_keep(hub_cache):
    from ui.decode_full import decode_full
    from ui.studio import Studio

    studio = Studio(hub_cache)
    bad = [None, "x", {}, {"kept latents": "abc"}, {"kept latents": ["nope"]}, {"kept latents": [1] * 999}]
    for parameters in bad:
        with pytest.raises(BadInput):
            decode_full(studio, parameters)
    job = GenerateRequest("a red cat", model=SD_TURBO, seed=3, width=64, height=64, decode="fast")
    fast = studio.backend.generate(job)
    gallery, prompt, details, files = decode_full(studio, {"kept latents": [fast.pictures[0].latents]})
    assert len(files) == 1 and details["pictures"][0]["decode"] == "full" and "kept latents" not in details


def test_a_kept_key_names_its_model_and_the_ray_backend_routes_decode_in_full_by_it(hub_cache):
    from serving.ray_backend import RayBackend

    fast = draw(hub_cache, "fast").pictures[0]
    assert decode.model_of(fast.latents) == SD_TURBO
    for bad in (None, 3, "nodot", ".x", "abc."):
        with pytest.raises(BadInput, match="no longer kept"):
            decode.model_of(bad)
    backend, asked = object.__new__(RayBackend), []  # no cluster: its call to a replica is answered here

    def ask(model, task, method, args, control=None):
        asked.append((model, task, method))
        return decode.all_in_full(hub_cache, *args)

    backend._ask = ask  # type: ignore[method-assign]
    result = backend.decode_full([fast.latents])
    assert asked == [(SD_TURBO, "text-to-image", "decode_full")]
    assert result.pictures[0].parameters["decode"] == "full"
    with pytest.raises(BadInput, match="one answer at a time"):
        backend.decode_full([fast.latents, "token.starter/shapes-diffusion"])


def test_upsampling_without_the_copy_equals_diffusers_own():
    from diffusers.models.upsampling import Upsample2D

    from zoo import subpixel

    torch.manual_seed(0)
    for channels_last in (False, True):
        upsampler = Upsample2D(16, use_conv=True, out_channels=8).eval()
        x = torch.randn(2, 16, 7, 9)
        if channels_last:
            upsampler.to(memory_format=torch.channels_last)
            x = x.contiguous(memory_format=torch.channels_last)
        with torch.no_grad():
            before = upsampler(x)
            assert subpixel.install(upsampler)
            after = upsampler(x)
            sized = upsampler(x, output_size=(15, 19))  # an asked output size: diffusers' own way
        assert after.shape == before.shape and (after - before).abs().max() < 1e-5
        assert after.is_contiguous(memory_format=torch.channels_last) == channels_last
        assert sized.shape[-2:] == (15, 19)
    assert not subpixel.install(Upsample2D(16, use_conv=False))  # nothing to fold


def test_explained_pictures_of_a_model_on_the_cpu_path(hub_cache, monkeypatch):
    """Explain reads the text encoder's layers again (the rollout): in bf16 on the CPU path, as drawn."""
    monkeypatch.setattr(cpu_path, "this_cpu", lambda: EPYC)
    hub_cache.cpu_levers = cpu_path.plan(EPYC)
    picture = draw(hub_cache, "full", explain=True).pictures[0]
    assert next(hub_cache.get(SD_TURBO).text_encoder.encoder.parameters()).dtype == torch.bfloat16
    assert picture.words and {w.word for w in picture.words} >= {"red", "cat"}
