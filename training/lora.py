"""python -m training lora: a LoRA adapter (peft) for a registry text-to-image model, from a clean imagefolder.

What is adapted: the UNet (always); new words (--text-encoder): each caption word the base tokenizer has no
token for gets a token of its own with a learnt embedding (textual inversion), the text encoder's layers
staying frozen, so prompts without the new words reach the UNet exactly as before (--text-encoder-lora adds
LoRA layers to the text encoder too); and the autoencoder's decoder, only when it reproduces the new pictures
measurably worse than the base model's own (a VAE that has seen four shapes may not draw a fifth). Half of
each batch is pictures the base model draws of its own prompts (for models of a synthetic world whose
sentences we can draw); on those rows the UNet learns the base UNet's own predictions (distillation), so old
prompts stay.

DIR gets pytorch_lora_weights.safetensors (UNet and text encoder, diffusers' format, for load_lora_weights),
embeddings/WORD.safetensors per new word (diffusers' textual-inversion format), vae_decoder_lora.safetensors
when the decoder was adapted, training_config.json and README.md. A run stops on SIGINT/SIGTERM (or
--stop-after) with its state in DIR/state; --resume continues it, bit for bit as a straight run.
"""

from __future__ import annotations

import json
import random
import signal
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from tqdm.auto import tqdm

from training.augment import Augment
from training.datasets import to_unit_range
from training.loop import _STOP_AFTER, Stopped, TrainingError, rng_states, set_rng_states, write_card
from zoo.adapters import DECODER_TARGETS, DECODER_WEIGHTS, WORD, WORDS_FOLDER  # the files the zoo loads

# measured with python -m bench.teach (README, Figures): 1500 steps of rank 16 teach the star; 600 of rank 8 did not.
# recolour only acts for models of a world with a palette (the starter's)
DEFAULTS = {
    "steps": 1500,
    "rank": 16,
    "batch": 8,
    "lr": 1e-3,
    "vae_steps": 400,
    "prior": 512,
    "prior_weight": 3.0,
    "recolour": 0.5,
}
UNET_TARGETS = [
    "to_q",
    "to_k",
    "to_v",
    "to_out.0",
    "proj_in",
    "proj_out",
    "ff.net.0.proj",
    "ff.net.2",
    "conv1",
    "conv2",
]
TEXT_TARGETS = ["q_proj", "k_proj", "v_proj", "out_proj", "fc1", "fc2"]
MAX_NEW_WORDS = 8
DECODER_NEEDED = 1.5  # the decoder is adapted when its error on the new pictures is this many times that on old ones


class Flag:
    """Set by SIGINT / SIGTERM (the Train tab's Stop): the loop saves its state and stops after the step."""

    def __init__(self) -> None:
        self.set = False

    @contextmanager
    def catching(self):
        def handler(signum, frame):
            self.set = True

        try:
            old = [signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)]
        except ValueError:  # not the main thread: no signals, --stop-after still works
            yield
            return
        try:
            yield
        finally:
            for s, h in zip((signal.SIGINT, signal.SIGTERM), old):
                signal.signal(s, h)


def emit(**line) -> None:
    """One JSON line on stdout, for whoever runs this as a subprocess (the Train tab reads them)."""
    print(json.dumps(line), flush=True)


def load_base(base: str):
    from diffusers import StableDiffusionPipeline

    from zoo import hub
    from zoo.registry import load_registry

    entry = load_registry().pick(base, "text-to-image")
    if entry.loader != "StableDiffusionPipeline":
        raise TrainingError(f"LoRA training takes StableDiffusionPipeline models; '{entry.id}' is {entry.loader}.")
    pipe = StableDiffusionPipeline.from_pretrained(hub.resolve(entry), dtype=torch.float32, use_safetensors=True)
    pipe.set_progress_bar_config(disable=True)
    return entry, pipe


class Pictures:
    """The clean imagefolder in memory; batch i (with its augmentation) depends only on (seed, i)."""

    def __init__(self, folder: Path, side: int, augment: Augment, seed: int):
        metadata = folder / "metadata.jsonl"
        if not metadata.is_file():
            raise TrainingError(f"--data {folder} has no metadata.jsonl; run `python -m training prepare` first.")
        rows = [json.loads(line) for line in metadata.read_text(encoding="utf-8").splitlines() if line.strip()]
        if not rows:
            raise TrainingError(f"{metadata} lists no pictures; nothing to learn from.")
        self.images = [Image.open(folder / r["file_name"]).convert("RGB").resize((side, side)) for r in rows]
        self.texts = [r["text"] for r in rows]
        self.augment, self.seed = augment, seed

    def batch(self, step: int, size: int) -> tuple[np.ndarray, list[str]]:
        rng = random.Random(self.seed * 1_000_003 + step)
        pictures, texts = [], []
        for i in [rng.randrange(len(self.images)) for _ in range(size)]:
            image, text = self.augment(self.images[i], self.texts[i], rng)
            pictures.append(np.asarray(image))
            texts.append(text)
        return np.stack(pictures), texts


def prior_pictures(entry, pipe, count: int, seed: int, cache_file: Path) -> tuple[np.ndarray, list[str]]:
    """Pictures the base model draws of its world's own sentences (kept in the state for --resume)."""
    from worlds import world_for

    world = world_for(entry.world)
    if world is None or count == 0:
        return np.zeros((0, 1, 1, 3), np.uint8), []
    if cache_file.exists():
        kept = np.load(cache_file, allow_pickle=False)
        return kept["pictures"], [str(t) for t in kept["texts"]]
    texts = [world.complete("", seed * 100_003 + i) for i in range(count)]
    pictures = []
    for start in tqdm(range(0, count, 32), desc="prior pictures"):
        chunk = texts[start : start + 32]
        out = pipe(
            prompt=chunk,
            num_inference_steps=int(entry.defaults.get("steps", 4)),
            guidance_scale=float(entry.defaults.get("guidance", 1.0)),
            generator=[torch.Generator().manual_seed(seed + start + i) for i in range(len(chunk))],
            output_type="np",
        )
        pictures.append((out.images * 255).round().astype(np.uint8))
    cache_file.parent.mkdir(parents=True, exist_ok=True)
    np.savez(cache_file, pictures=np.concatenate(pictures), texts=np.array(texts))
    return np.concatenate(pictures), texts


def augmentation(entry, recolour: float) -> Augment:
    """Flips always; recolouring where the base model's world names a palette (and --recolour asks for it)."""
    from worlds import world_for

    world = world_for(entry.world)
    palette = tuple(world.palette.items()) if world is not None and recolour else ()
    return Augment(flip=True, palette=palette, recolour=recolour if palette else 0.0)


def mixed_batch(data: Pictures, prior, step: int, size: int, seed: int) -> tuple[np.ndarray, list[str]]:
    """Half new pictures, half the base model's own (all new when there is no prior)."""
    prior_pictures_, prior_texts = prior
    n_prior = size // 2 if prior_texts else 0
    pictures, texts = data.batch(step, size - n_prior)
    if n_prior:
        rng = random.Random(seed * 7_919 + step)
        chosen = [rng.randrange(len(prior_texts)) for _ in range(n_prior)]
        pictures = np.concatenate([pictures, prior_pictures_[chosen]])
        texts = texts + [prior_texts[i] for i in chosen]
    return pictures, texts


def decoder_error(vae, pictures: np.ndarray) -> float:
    with torch.no_grad():
        x = to_unit_range(pictures)
        return float(F.mse_loss(vae.decode(vae.encode(x).latent_dist.mode()).sample, x))


def new_words(tokenizer, texts: list[str]) -> list[str]:
    """Caption words the base tokenizer has no token of their own for (it spells them in pieces), commonest
    first, at most MAX_NEW_WORDS: each gets its own token with a learnt embedding (textual inversion)."""
    counts: dict[str, int] = {}
    for text in texts:
        for word in set(WORD.findall(text.lower())):
            counts[word] = counts.get(word, 0) + 1
    split = [w for w in counts if len(tokenizer.tokenize(w)) > 1]
    return sorted(split, key=lambda w: (-counts[w], w))[:MAX_NEW_WORDS]


class NewWords(torch.nn.Module):
    """The learnt embeddings of new words, written over the text encoder's token embeddings of their ids by a
    hook: the text encoder itself stays frozen, so a prompt without the new words reaches the UNet exactly as
    before. Each starts from the mean of the pieces the base tokenizer spelt it with."""

    def __init__(self, pipe, words: list[str]):
        super().__init__()
        tokenizer, table = pipe.tokenizer, pipe.text_encoder.get_input_embeddings()
        pieces = [tokenizer(w, add_special_tokens=False).input_ids for w in words]
        tokenizer.add_tokens(words)
        self.first = len(tokenizer) - len(words)
        pipe.text_encoder.resize_token_embeddings(len(tokenizer), mean_resizing=False)
        pipe.text_encoder.get_input_embeddings().requires_grad_(False)
        with torch.no_grad():
            start = torch.stack([table.weight[ids].mean(0) for ids in pieces]) if words else table.weight[:0]
        self.words = words
        self.vectors = torch.nn.Parameter(start.clone().float())
        pipe.text_encoder.get_input_embeddings().register_forward_hook(self._write)

    def _write(self, module, args, output):
        ids = args[0]
        new = ids >= self.first
        if not bool(new.any()):
            return output
        output = output.clone()
        output[new] = self.vectors[ids[new] - self.first].to(output.dtype)
        return output

    def state(self) -> dict[str, dict[str, torch.Tensor]]:
        return {w: {w: self.vectors[i].detach().clone().contiguous()} for i, w in enumerate(self.words)}


@contextmanager
def base_only(module: torch.nn.Module):
    """`module` with its LoRA layers switched off: the base model's own answer, for prior preservation."""
    from peft.tuners.tuners_utils import BaseTunerLayer

    layers = [m for m in module.modules() if isinstance(m, BaseTunerLayer)]
    for layer in layers:
        layer.enable_adapters(False)
    try:
        yield
    finally:
        for layer in layers:
            layer.enable_adapters(True)


def add_adapters(pipe, rank: int, text_encoder: bool, decoder: bool) -> None:
    """LoRA layers on the UNet (and the text encoder, the decoder): the base weights stay frozen."""
    from peft import LoraConfig, inject_adapter_in_model

    for module in (pipe.unet, pipe.text_encoder, pipe.vae):
        module.requires_grad_(False)
    pipe.unet.add_adapter(
        LoraConfig(r=rank, lora_alpha=rank, target_modules=UNET_TARGETS, init_lora_weights="gaussian")
    )
    if text_encoder:
        pipe.text_encoder.add_adapter(LoraConfig(r=rank, lora_alpha=rank, target_modules=TEXT_TARGETS))
    if decoder:
        inject_adapter_in_model(LoraConfig(r=rank, lora_alpha=rank, target_modules=DECODER_TARGETS), pipe.vae.decoder)


def trainable(modules: dict[str, torch.nn.Module]) -> dict[str, torch.nn.Parameter]:
    return {f"{k}.{n}": p for k, m in modules.items() for n, p in m.named_parameters() if p.requires_grad}


def fit(
    name: str, params: dict, step_loss, steps: int, lr: float, state: Path, resume: bool, flag: Flag, gens, sync=None
) -> list:
    """`steps` AdamW steps of `step_loss(step)` over `params`, resumable from `state` bit for bit."""
    optimiser = torch.optim.AdamW(list(params.values()), lr=lr, weight_decay=0.0)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda s: min(1.0, (s + 1) / 20) * 0.5 * (1 + np.cos(np.pi * min(s, steps) / steps))
    )
    start = _restore(state, params, optimiser, schedule, steps, gens) if resume else 0
    stop_after, losses = _STOP_AFTER.get(), []
    bar = tqdm(range(start, steps), desc=name, initial=start, total=steps, file=sys.stderr)
    for step in bar:
        loss = step_loss(step)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        if sync is not None:  # data-parallel workers average their gradients (training/lora_ray.py)
            sync(params)
        torch.nn.utils.clip_grad_norm_(list(params.values()), 1.0)
        optimiser.step()
        schedule.step()
        losses.append(loss.item())
        if step % 10 == 0 or step + 1 == steps:
            bar.set_postfix(loss=f"{np.mean(losses[-10:]):.4f}")
            emit(phase=name, step=step + 1, steps=steps, loss=round(float(np.mean(losses[-10:])), 5))
        stopping = (flag.set or step + 1 == stop_after) and step + 1 < steps
        if stopping or step + 1 == steps:
            _save(state, params, optimiser, schedule, step + 1, steps, gens)
        if stopping:
            bar.close()
            raise Stopped(f"{name} stopped after step {step + 1} of {steps}; continue with --resume.")
    return losses


def _save(path: Path, params, optimiser, schedule, step: int, steps: int, gens) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {
        "params": {k: p.detach().clone() for k, p in params.items()},
        "optimiser": optimiser.state_dict(),
        "schedule": schedule.state_dict(),
        "step": step,
        "steps": steps,
        "rng": rng_states(gens),
    }
    torch.save(state, path.with_suffix(".tmp"))
    path.with_suffix(".tmp").replace(path)


def _restore(path: Path, params, optimiser, schedule, steps: int, gens) -> int:
    if not path.exists():
        return 0
    try:
        state = torch.load(path, weights_only=False)
    except Exception as e:  # noqa: BLE001 - a damaged state file, whatever torch says
        raise TrainingError(f"{path} is not a state this trainer wrote ({type(e).__name__}); delete it.") from None
    if state["steps"] != steps or set(state["params"]) != set(params):
        raise TrainingError(f"The state in {path} was started with other settings; resume with the same ones.")
    with torch.no_grad():
        for k, p in params.items():
            p.copy_(state["params"][k])
    optimiser.load_state_dict(state["optimiser"])
    schedule.load_state_dict(state["schedule"])
    set_rng_states(state["rng"], gens)
    return state["step"]


def run(args) -> dict:
    """The whole job of `python -m training lora` (args as its command line parses them). Torch's thread count
    is set for the run and given back after, so a caller in the same process keeps its own."""
    threads = torch.get_num_threads()
    torch.set_num_threads(max(1, getattr(args, "threads", 1)))  # 2 threads on 2 busy cores spin: 15x slower
    try:
        return _run(args)
    finally:
        torch.set_num_threads(threads)


def _run(args) -> dict:
    from training.loop import seed_everything

    if args.ray_workers:
        from training.lora_ray import run_on_ray

        return run_on_ray(args)
    started = time.time()
    out, state = Path(args.out), Path(args.out) / "state"
    if out.exists() and not out.is_dir():
        raise TrainingError(f"--out {out} is a file, not a folder; give a folder (it is made if missing).")
    if not args.resume and any(state.glob("*.pt")):
        raise TrainingError(f"{out} holds a run already; continue it with --resume, or give a new --out.")
    job = Job(args)
    flag = Flag()
    with flag.catching():
        figures = job.train(state, flag, seed_everything)
    job.save(out)
    figures["minutes"] = round((time.time() - started) / 60, 2)
    write_card(out, f"LoRA for {job.entry.id}", card(args, job, figures), job.config() | {"figures": figures})
    return figures


class Job:
    """One LoRA run: the base pipeline with its adapters, the pictures, the prior and the loss functions."""

    def __init__(self, args, rank_of_worker: int = 0, workers: int = 1):
        from training.loop import seed_everything

        self.args, self.worker, self.workers = args, rank_of_worker, workers
        self.entry, self.pipe = load_base(args.base)
        self.side = int(self.entry.defaults.get("width", 512))
        self.augment = augmentation(self.entry, args.recolour)
        self.data = Pictures(Path(args.data), self.side, self.augment, args.seed)
        self.prior = prior_pictures(
            self.entry, self.pipe, args.prior, args.seed, Path(args.out) / "state" / "prior.npz"
        )
        sample = self.data.batch(10**9, min(32, len(self.data.texts) * 2))[0]
        old = self.prior[0][:32] if self.prior[1] else sample
        self.decoder_errors = (decoder_error(self.pipe.vae, sample), decoder_error(self.pipe.vae, old))
        self.adapt_decoder = bool(self.prior[1]) and self.decoder_errors[0] > DECODER_NEEDED * self.decoder_errors[1]
        seed_everything(args.seed)
        add_adapters(self.pipe, args.rank, getattr(args, "text_encoder_lora", False), self.adapt_decoder)
        words = new_words(self.pipe.tokenizer, self.data.texts) if args.text_encoder else []
        self.new_words = NewWords(self.pipe, words)
        self.generator = torch.Generator().manual_seed(args.seed * 31 + rank_of_worker)
        self._latents: dict[bytes, tuple[torch.Tensor, torch.Tensor]] = {}

    def batch(self, step: int) -> tuple[np.ndarray, list[str], torch.Tensor]:
        """This worker's share of batch `step`: pictures, captions, and which rows are the base model's own."""
        pictures, texts = mixed_batch(self.data, self.prior, step, self.args.batch, self.args.seed)
        own = torch.arange(len(texts)) >= len(texts) - (len(texts) // 2 if self.prior[1] else 0)
        share = slice(self.worker, None, self.workers)
        return pictures[share], texts[share], own[share]

    def encoded(self, pictures: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        """(mean, std) of the encoder's latent distribution per picture, each picture encoded once: the
        encoder is frozen, and at 64 x 64 it costs as much as a training step. One at a time, so that a
        picture's latent never depends on which others shared its batch (a resumed run meets them in
        other company): kernels round differently by batch size."""
        for p in pictures:
            if p.tobytes() not in self._latents:
                with torch.no_grad():
                    dist = self.pipe.vae.encode(to_unit_range(p[None])).latent_dist
                self._latents[p.tobytes()] = (dist.mean[0], dist.std[0])
        means, stds = zip(*(self._latents[p.tobytes()] for p in pictures))
        return torch.stack(means), torch.stack(stds)

    def decoder_loss(self, step: int) -> torch.Tensor:
        pictures, _, own = self.batch(step)
        pictures, own = pictures[::2], own[::2]  # half a batch, new and own alike: the decoder runs at full size
        mean, _ = self.encoded(pictures)
        target = to_unit_range(pictures)
        if bool(own.any()):  # the base model's own pictures: what the base decoder makes of them
            with torch.no_grad(), base_only(self.pipe.vae.decoder):
                target[own] = self.pipe.vae.decode(mean[own]).sample
        return F.mse_loss(self.pipe.vae.decode(mean).sample, target)

    def unet_loss(self, step: int) -> torch.Tensor:
        from diffusers import DDPMScheduler

        pipe, g = self.pipe, self.generator
        pictures, texts, own = self.batch(step)
        tok = pipe.tokenizer
        ids = tok(texts, padding="max_length", max_length=tok.model_max_length, truncation=True, return_tensors="pt")
        mean, std = self.encoded(pictures)
        latents = (mean + std * torch.randn(mean.shape, generator=g)) * pipe.vae.config.scaling_factor
        noise = torch.randn(latents.shape, generator=g)
        schedule = DDPMScheduler.from_config(pipe.scheduler.config)
        total = schedule.config.num_train_timesteps
        t = torch.randint(0, total, (len(texts),), generator=g)
        t[: len(texts) // 2] = torch.randint(int(0.8 * total), total, (len(texts) // 2,), generator=g)
        noisy, states = schedule.add_noise(latents, noise, t), pipe.text_encoder(ids.input_ids)[0]
        predicted = pipe.unet(noisy, t, states).sample
        kind = schedule.config.prediction_type
        target = (
            latents if kind == "sample" else noise if kind == "epsilon" else schedule.get_velocity(latents, noise, t)
        )
        if not bool(own.any()):
            return F.mse_loss(predicted, target)
        with torch.no_grad(), base_only(pipe.unet):  # the base model's own pictures: what the base UNet predicts
            target[own] = pipe.unet(noisy[own], t[own], states[own]).sample
        weights = 1.0 + (self.args.prior_weight - 1.0) * own.float()
        per_row = F.mse_loss(predicted, target, reduction="none").mean(dim=(1, 2, 3))
        return (weights * per_row).sum() / weights.sum()

    def train(self, state: Path, flag: Flag, seed_everything, sync=None) -> dict:
        args, figures = self.args, {}
        if self.adapt_decoder:
            seed_everything(args.seed + 1)
            params = trainable({"decoder": self.pipe.vae.decoder})
            losses = fit(
                "decoder",
                params,
                self.decoder_loss,
                args.vae_steps,
                1e-3,
                state / "decoder.pt",
                args.resume,
                flag,
                [],
                sync,
            )
            figures["decoder_loss_last_20"] = _mean(losses[-20:])
        seed_everything(args.seed + 2)
        modules = {"unet": self.pipe.unet, "text_encoder": self.pipe.text_encoder, "words": self.new_words}
        params = trainable(modules)
        every = max(1, args.sample_every)

        def step_loss(step: int) -> torch.Tensor:
            if step and step % every == 0 and self.worker == 0:
                self.sample(step)
            return self.unet_loss(step)

        losses = fit(
            "unet", params, step_loss, args.steps, args.lr, state / "unet.pt", args.resume, flag, [self.generator], sync
        )
        after = decoder_error(self.pipe.vae, self.data.batch(10**9, min(32, len(self.data.texts) * 2))[0])
        figures |= {
            "pictures": len(self.data.texts),
            "prior_pictures": len(self.prior[1]),
            "unet_loss_first_20": _mean(losses[:20]),
            "unet_loss_last_20": _mean(losses[-20:]),
            "decoder_error_new": round(self.decoder_errors[0], 5),
            "decoder_error_old": round(self.decoder_errors[1], 5),
            "decoder_adapted": self.adapt_decoder,
            "decoder_error_new_after": round(after, 5),
        }
        self.sample(args.steps)
        return figures

    def sample(self, step: int) -> None:
        """A picture of the first caption with the adapter as it is, for the person watching."""
        with torch.no_grad():
            image = self.pipe(
                prompt=self.data.texts[0],
                num_inference_steps=int(self.entry.defaults.get("steps", 4)),
                guidance_scale=float(self.entry.defaults.get("guidance", 1.0)),
                generator=torch.Generator().manual_seed(0),
            ).images[0]
        folder = Path(self.args.out) / "samples"
        folder.mkdir(parents=True, exist_ok=True)
        image.save(folder / f"step{step:05d}.png")
        emit(sample=str(folder / f"step{step:05d}.png"), step=step, caption=self.data.texts[0])

    def save(self, out: Path) -> None:
        from diffusers import StableDiffusionPipeline
        from peft.utils import get_peft_model_state_dict
        from safetensors.torch import save_file

        unet, te = self.pipe.unet, self.pipe.text_encoder
        text = getattr(self.args, "text_encoder_lora", False)
        StableDiffusionPipeline.save_lora_weights(
            out,
            # peft's own key names: load_lora_weights reads them as they are (the older names it converts to
            # would lose the attention layers on the way back)
            unet_lora_layers=get_peft_model_state_dict(unet),
            text_encoder_lora_layers=get_peft_model_state_dict(te, save_embedding_layers=False) if text else None,
            safe_serialization=True,
            unet_lora_adapter_metadata=unet.peft_config["default"].to_dict(),
            text_encoder_lora_adapter_metadata=te.peft_config["default"].to_dict() if text else None,
        )
        if self.new_words.words:
            (out / WORDS_FOLDER).mkdir(exist_ok=True)
            for word, tensors in self.new_words.state().items():
                save_file(tensors, out / WORDS_FOLDER / f"{word}.safetensors")
        if self.adapt_decoder:
            weights = {k: v.contiguous() for k, v in get_peft_model_state_dict(self.pipe.vae.decoder).items()}
            save_file(
                weights, out / DECODER_WEIGHTS, metadata={"rank": str(self.args.rank), "targets": DECODER_TARGETS}
            )

    def config(self) -> dict:
        a = self.args
        return {
            "base": self.entry.id,
            "data": str(a.data),
            "steps": a.steps,
            "rank": a.rank,
            "batch": a.batch,
            "lr": a.lr,
            "seed": a.seed,
            "text_encoder": a.text_encoder,
            "new_words": self.new_words.words,
            "text_encoder_lora": getattr(a, "text_encoder_lora", False),
            "decoder": self.adapt_decoder,
            "decoder_steps": a.vae_steps if self.adapt_decoder else 0,
            "prior_pictures": a.prior,
            "prior_weight": a.prior_weight,
            "unet_targets": UNET_TARGETS,
            "text_encoder_targets": TEXT_TARGETS if getattr(a, "text_encoder_lora", False) else [],
            "decoder_targets": DECODER_TARGETS if self.adapt_decoder else "",
            "augmentation": self.augment.describe(),
            "prior_preservation": f"{len(self.prior[1])} pictures the base model drew of its world's sentences, "
            "half of every batch",
            "ray_workers": a.ray_workers,
        }


def _mean(values: list[float]) -> float:
    return round(float(np.mean(values)), 5) if values else float("nan")


def card(args, job: Job, figures: dict) -> str:
    flags = " --text-encoder" if args.text_encoder else ""
    return f"""A LoRA adapter (peft) for `{job.entry.id}`, trained by Atelier on {figures["pictures"]} pictures.

## Training
    python -m training lora --base {job.entry.id} --data {args.data} --out {args.out} --steps {args.steps} \\
        --rank {args.rank} --seed {args.seed}{flags}

{figures["minutes"]} minutes on this machine ({torch.get_num_threads()} torch threads). Configuration:
training_config.json beside this card. Augmentation: {job.augment.describe()}.
Prior preservation: {len(job.prior[1])} pictures the base model drew of its own world's sentences made
half of every batch, so that what it drew before stays.

## The decoder
The base autoencoder reproduced the new pictures with a mean squared error of {figures["decoder_error_new"]}
(its own pictures: {figures["decoder_error_old"]}); the decoder was
{"adapted" if job.adapt_decoder else "left as it was"} (adapted when the first is over {DECODER_NEEDED} times
the second). After training: {figures["decoder_error_new_after"]}.

## Loss
UNet loss, mean of the first 20 steps {figures["unet_loss_first_20"]}, of the last 20 {figures["unet_loss_last_20"]}.
How well it draws is measured by `python -m bench.teach` for the adapter it trains.
"""
