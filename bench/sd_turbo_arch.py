"""The full-size SD-Turbo architecture with random weights, as a local registry entry (for bench.cpu_speed).

The configs are stabilityai/sd-turbo's (UNet of SD 2.1 base, cross-attention 1024; the OpenCLIP-H text
encoder as a CLIPTextModel; the SD VAE; Euler, trailing timesteps) and madebyollin/taesd's
AutoencoderTiny. Random weights cost what real ones cost. Built once into bench/.cache/ (gitignored),
safetensors only, with a registry.toml naming both entries.
"""

from __future__ import annotations

import time
from pathlib import Path

CACHE = Path(__file__).resolve().parent / ".cache" / "sd-turbo-arch"
MODEL, TINY = "bench/sd-turbo-arch", "bench/taesd-arch"
REGISTRY = f"""
[[model]]
id = "{MODEL}"
task = "text-to-image"
path = "sd-turbo"
loader = "StableDiffusionPipeline"
licence = "none (random weights)"
memory_gb = 2.6
dtype = {{ cuda = "float16", mps = "float16", cpu = "float32" }}
defaults = {{ steps = 1, guidance = 0.0, width = 512, height = 512, strength = 0.5, min_side = 64, max_side = 1024 }}
tiny_vae = "{TINY}"
description = "SD-Turbo's architecture with random weights (bench.cpu_speed)."

[[model]]
id = "{TINY}"
task = "vae"
path = "taesd"
loader = "AutoencoderTiny"
licence = "none (random weights)"
memory_gb = 0.01
dtype = {{ cuda = "float16", mps = "float16", cpu = "float32" }}
description = "TAESD's architecture with random weights (bench.cpu_speed)."
"""

UNET = dict(
    sample_size=64,
    in_channels=4,
    out_channels=4,
    layers_per_block=2,
    block_out_channels=(320, 640, 1280, 1280),
    down_block_types=("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"),
    up_block_types=("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"),
    cross_attention_dim=1024,
    attention_head_dim=(5, 10, 20, 20),
    use_linear_projection=True,
    flip_sin_to_cos=True,
    freq_shift=0,
    norm_num_groups=32,
    act_fn="silu",
)
TEXT = dict(
    vocab_size=49408,
    hidden_size=1024,
    intermediate_size=4096,
    num_hidden_layers=23,
    num_attention_heads=16,
    max_position_embeddings=77,
    hidden_act="gelu",
    projection_dim=512,
    layer_norm_eps=1e-5,
)
VAE = dict(
    in_channels=3,
    out_channels=3,
    latent_channels=4,
    block_out_channels=(128, 256, 512, 512),
    layers_per_block=2,
    norm_num_groups=32,
    down_block_types=("DownEncoderBlock2D",) * 4,
    up_block_types=("UpDecoderBlock2D",) * 4,
    sample_size=768,
    scaling_factor=0.18215,
)
SCHEDULER = dict(
    beta_start=0.00085,
    beta_end=0.012,
    beta_schedule="scaled_linear",
    num_train_timesteps=1000,
    prediction_type="epsilon",
    steps_offset=1,
    timestep_spacing="trailing",
)


def build(folder: Path = CACHE) -> Path:
    """The registry.toml of the built entries (built on the first call, then reused)."""
    registry = folder / "registry.toml"
    if registry.exists():
        return registry
    import torch
    from diffusers import (
        AutoencoderKL,
        AutoencoderTiny,
        EulerDiscreteScheduler,
        StableDiffusionPipeline,
        UNet2DConditionModel,
    )
    from transformers import CLIPTextConfig, CLIPTextModel

    from training.vocab import clip_tokenizer

    started = time.perf_counter()
    torch.manual_seed(0)
    tokenizer = clip_tokenizer(["a", "photo", "of", "cat", "red", "ball"], max_length=77)
    text = CLIPTextModel(CLIPTextConfig(**TEXT, bos_token_id=tokenizer.bos_token_id, eos_token_id=2))
    pipe = StableDiffusionPipeline(
        vae=AutoencoderKL(**VAE),
        text_encoder=text,
        tokenizer=tokenizer,
        unet=UNet2DConditionModel(**UNET),
        scheduler=EulerDiscreteScheduler(**SCHEDULER),
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    pipe.save_pretrained(folder / "sd-turbo", safe_serialization=True)
    del pipe
    AutoencoderTiny().save_pretrained(folder / "taesd", safe_serialization=True)  # the defaults are taesd's
    registry.write_text(REGISTRY.lstrip())
    print(f"built the SD-Turbo architecture into {folder} in {time.perf_counter() - started:.0f} s")
    return registry


if __name__ == "__main__":
    print(build())
