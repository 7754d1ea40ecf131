"""Trains a small StableDiffusionPipeline from scratch: first the VAE, then the UNet together
with the CLIP text encoder. The UNet predicts the clean latents ("sample" prediction); in the
starter world every sentence has exactly one picture, and predicting it directly lets a few
DDIM steps reach it.
"""

from __future__ import annotations

import time
from pathlib import Path

import torch
import torch.nn.functional as F

from training.datasets import ImageFolder, StarterWorld, to_unit_range
from training.loop import seed_everything, train, write_card
from training.vocab import clip_tokenizer, words_of

CONFIG = {
    "resolution": 64,
    "vae": {"block_out_channels": [16, 32, 32], "layers_per_block": 1, "latent_channels": 4, "norm_num_groups": 8},
    "text_encoder": {
        "hidden_size": 128,
        "intermediate_size": 256,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "max_position_embeddings": 32,
    },
    "unet": {"block_out_channels": [32, 64, 64], "layers_per_block": 1, "attention_head_dim": 4, "norm_num_groups": 16},
    "scheduler": {
        "num_train_timesteps": 1000,
        "beta_start": 0.00085,
        "beta_end": 0.012,
        "beta_schedule": "scaled_linear",
        "prediction_type": "sample",
        "timestep_spacing": "trailing",
        "clip_sample": False,
        "set_alpha_to_one": False,
        "steps_offset": 0,
    },
    "vae_steps": 3000,
    "vae_batch": 16,
    "vae_lr": 1e-3,
    "kl_weight": 1e-6,
    "unet_steps": 8000,
    "unet_batch": 32,
    "unet_lr": 1e-3,
    "caption_dropout": 0.1,
}


def build(config: dict, words: list[str]):
    from diffusers import AutoencoderKL, DDIMScheduler, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    tokenizer = clip_tokenizer(words, config["text_encoder"]["max_position_embeddings"])
    v = config["vae"]
    n = len(v["block_out_channels"])
    vae = AutoencoderKL(
        in_channels=3,
        out_channels=3,
        sample_size=config["resolution"],
        down_block_types=["DownEncoderBlock2D"] * n,
        up_block_types=["UpDecoderBlock2D"] * n,
        **v,
    )
    te = config["text_encoder"]
    text_encoder = CLIPTextModel(
        CLIPTextConfig(
            vocab_size=len(tokenizer),
            bos_token_id=tokenizer.bos_token_id,
            eos_token_id=tokenizer.eos_token_id,
            pad_token_id=tokenizer.pad_token_id,
            **te,
        )
    )
    u = config["unet"]
    unet = UNet2DConditionModel(
        sample_size=config["resolution"] // 2 ** (n - 1),
        in_channels=v["latent_channels"],
        out_channels=v["latent_channels"],
        down_block_types=["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"],
        up_block_types=["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"],
        cross_attention_dim=te["hidden_size"],
        **u,
    )
    scheduler = DDIMScheduler(**config["scheduler"])
    return tokenizer, vae, text_encoder, unet, scheduler


def kept_tokenizer(tokenizer, work_dir: Path, resume: bool):
    """The tokenizer a resumed run started with, kept in work_dir: the BPE trainer does not number the
    tokens the same way twice, and the text encoder's embeddings follow the numbering."""
    from transformers import CLIPTokenizer

    folder = work_dir / "tokenizer"
    if resume and folder.is_dir():
        return CLIPTokenizer.from_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return tokenizer


def run(
    out: Path,
    work_dir: Path,
    seed: int = 0,
    data: Path | None = None,
    resume: bool = False,
    overrides: dict | None = None,
    crop: float = 0.0,
    flip: bool = False,
) -> dict:
    from diffusers import DDPMScheduler, StableDiffusionPipeline

    config = {**CONFIG, **(overrides or {})}
    seed_everything(seed)
    source = ImageFolder(data, config["resolution"], seed, crop, flip) if data else StarterWorld(seed)
    tokenizer, vae, text_encoder, unet, scheduler = build(config, words_of(source.captions()))
    tokenizer = kept_tokenizer(tokenizer, work_dir, resume)
    started = time.time()

    def vae_loss(step: int) -> torch.Tensor:
        x = to_unit_range(source.batch(step, config["vae_batch"])[0])
        posterior = vae.encode(x).latent_dist
        recon = vae.decode(posterior.sample()).sample
        return F.mse_loss(recon, x) + config["kl_weight"] * posterior.kl().mean()

    train("vae", {"vae": vae}, vae_loss, config["vae_steps"], config["vae_lr"], work_dir, resume)
    vae.requires_grad_(False)
    with torch.no_grad():
        sample = to_unit_range(source.batch(10**9, 256)[0])
        # its own generator, so a resumed run (which skips the VAE phase) measures the same scale
        latents = vae.encode(sample).latent_dist.sample(torch.Generator().manual_seed(seed))
        vae.register_to_config(scaling_factor=float(1.0 / latents.std()))
    scale = vae.config.scaling_factor
    ddim_only = ("set_alpha_to_one", "steps_offset")
    noise_schedule = DDPMScheduler(**{k: v for k, v in config["scheduler"].items() if k not in ddim_only})
    generator = torch.Generator().manual_seed(seed)

    def unet_loss(step: int) -> torch.Tensor:
        pictures, texts = source.batch(step, config["unet_batch"])
        drop = torch.rand(len(texts), generator=generator) < config["caption_dropout"]
        texts = ["" if d else t for d, t in zip(drop, texts)]
        ids = tokenizer(
            texts, padding="max_length", max_length=tokenizer.model_max_length, truncation=True, return_tensors="pt"
        ).input_ids
        with torch.no_grad():
            latents = vae.encode(to_unit_range(pictures)).latent_dist.sample(generator) * scale
        noise = torch.randn(latents.shape, generator=generator)
        # half the batch at uniform timesteps, half near pure noise, where few-step sampling starts
        t = torch.randint(0, 1000, (len(texts),), generator=generator)
        t[: len(texts) // 2] = torch.randint(800, 1000, (len(texts) // 2,), generator=generator)
        noisy = noise_schedule.add_noise(latents, noise, t)
        predicted = unet(noisy, t, encoder_hidden_states=text_encoder(ids)[0]).sample
        return F.mse_loss(predicted, latents)

    train(
        "unet",
        {"unet": unet, "text_encoder": text_encoder},
        unet_loss,
        config["unet_steps"],
        config["unet_lr"],
        work_dir,
        resume,
        generators=[generator],
    )
    pipe = StableDiffusionPipeline(
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        unet=unet,
        scheduler=scheduler,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    pipe.to(torch.float16).save_pretrained(out, safe_serialization=True)
    minutes = (time.time() - started) / 60
    write_card(
        out,
        "shapes-diffusion",
        CARD.format(minutes=minutes, seed=seed, data=data or "the starter world"),
        config | {"seed": seed, "data": str(data) if data else "starter world"},
    )
    return {"minutes": minutes}


CARD = """A StableDiffusionPipeline (VAE, CLIP text encoder and tokenizer, UNet, DDIM scheduler) for
64 x 64 pictures, trained from scratch by Atelier on {data}.

## Training
    python -m training diffusion --seed {seed}

Configuration: training_config.json beside this card. Hardware: 2-core CPU, {minutes:.0f} minutes.

A run stopped and resumed (`--resume`, same `--steps`) gives the same weights, bit for bit, as one run
straight through: the state in the work dir keeps the random states, the trainer's generator and the
tokenizer. Two runs from scratch differ: the BPE tokenizer numbers its tokens differently each build.

## Scores
See the table below, written by `python -m bench.starter_quality`. Its "fresh cases" use a seed this
trainer never uses, but they overlap with training: the world has only 1,920 one-object scenes, and
every one of them occurs in training; the table counts the overlap. This trainer draws from the whole
world, the held-out split (`worlds.shapes.world.held_out`) included, so the held-out figure is not a
measure of generalisation for a model it trains.
"""
