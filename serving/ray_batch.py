"""python cli.py generate|evaluate --ray: the prompts as a Ray dataset, drawn by model actors.

Each actor (Painter) holds its own ModelCache and draws its batch of rows with the same
functions, seeds and batch shapes as the local path, so the pictures are the local path's
pixel for pixel. Ray Data keeps the prompt order (preserve_order) and restarts an actor that
dies, retrying its batch (its actor pools default to max_restarts=-1, max_task_retries=-1).
The driver writes DIR/NNNN.png and DIR/results.jsonl as the rows come back, under a progress bar.
"""

from __future__ import annotations

import io
import json
import time
from dataclasses import asdict
from pathlib import Path

from PIL import Image, PngImagePlugin
from tqdm.auto import tqdm

from pipelines.core import inputs
from pipelines.core.metadata import to_text
from pipelines.core.results import GenerateRequest
from serving.batching import run_jobs
from serving.cluster import connect, registry_for_workers, torch_threads
from serving.config import load_config
from zoo.errors import AtelierError, BadInput
from zoo.registry import load_registry


def png_bytes(image: Image.Image, params: dict, receipt: list[dict] | None = None) -> bytes:
    """The bytes pipelines.core.metadata.save_png writes."""
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", to_text(params))
    if receipt is not None:
        info.add_itxt("receipt", json.dumps(receipt, ensure_ascii=False))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", pnginfo=info)
    return buffer.getvalue()


class Painter:
    """A Ray Data actor: its own ModelCache; turns rows of jobs into rows of pictures."""

    def __init__(self, registry_path: str, threads: int | None, memory_budget_gb: float | None = None):
        import torch

        from zoo.cache import ModelCache

        torch.set_num_threads(threads or torch_threads())
        self.cache = ModelCache(load_registry(registry_path), budget_gb=memory_budget_gb)

    def __call__(self, batch: dict) -> dict:
        if "chunk" in batch:
            return self.evaluate(batch)
        jobs = [GenerateRequest(**json.loads(text)) for text in batch["job"]]
        out: dict[str, list] = {"row": [], "png": [], "error": []}
        for index, job, result in zip(batch["index"], jobs, run_jobs(self.cache, jobs)):
            try:
                if isinstance(result, AtelierError):
                    raise result
                row, png = self.written(int(index), job, result)
                error = ""
            except AtelierError as e:
                row, png, error = "", b"", str(e)
            for key, value in (("row", row), ("png", png), ("error", error)):
                out[key].append(value)
        return {"index": batch["index"]} | out

    def written(self, index: int, job: GenerateRequest, result) -> tuple[str, bytes]:
        """What cmd_generate writes for one prompt: its results.jsonl row and its PNG file."""
        picture = result.pictures[0]
        row = {
            "prompt": job.prompt,
            "used_prompt": result.used_prompt,
            "seed": picture.parameters["seed"],
            "image": f"{index:04d}.png",
            "receipt": picture.receipt,
        }
        return (
            json.dumps(row | result.checks(), ensure_ascii=False),
            png_bytes(picture.image, picture.parameters, picture.receipt),
        )

    def evaluate(self, batch: dict) -> dict:
        """Rows of evaluate chunks (see evaluate_on_ray) to one row per prompt."""
        out: dict[str, list] = {"index": [], "png": [], "used": []}
        for text in batch["chunk"]:
            chunk = json.loads(text)
            images, used = evaluate_chunk(self.cache, **chunk)
            out["index"] += list(range(chunk["start"], chunk["start"] + len(images)))
            out["png"] += [png_bytes(image, {"prompt": u}) for image, u in zip(images, used)]
            out["used"] += used
        return out


def _dataset(rows: list[dict], registry_path, config_path, concurrency: int | None = None):
    """Rows through the Painter actors, in order."""
    import ray

    mode = connect()
    config = load_config(config_path, load_registry(registry_path)).batch
    context = ray.data.DataContext.get_current()
    context.execution_options.preserve_order = True
    context.enable_progress_bars = False  # ours counts prompts
    actors = concurrency or config.actors
    kwargs = {"registry_path": registry_for_workers(registry_path, mode), "threads": config.threads}
    dataset = ray.data.from_items(rows, override_num_blocks=min(len(rows), 4 * actors))
    return dataset.map_batches(
        Painter,
        fn_constructor_kwargs=kwargs,
        batch_size=config.batch_size,
        compute=ray.data.ActorPoolStrategy(size=actors),
        num_cpus=config.cpus,
        num_gpus=config.gpus or None,
    )


def generate_on_ray(args, prompts: list[str], out: Path) -> None:
    """cmd_generate on Ray Data: the same files, rows, seeds (S + 1000 i) and pictures in the folder `out`."""
    expand_with = inputs.expander_choice(args.expand_with)
    verify = getattr(args, "verify", None)
    rows = []
    for index, prompt in enumerate(prompts):
        job = GenerateRequest(
            prompt,
            "",
            args.model,
            expand_with,
            args.steps,
            None if verify else args.guidance,
            seed=args.seed + index * 1000,
            verify=verify or None,
            rounds=args.rounds,
        )
        rows.append({"index": index, "job": json.dumps(asdict(job))})
    dataset = _dataset(rows, args.registry, getattr(args, "ray_config", None))
    bar = tqdm(total=len(rows), desc="generate (ray)", unit="prompt")
    with open(out / "results.jsonl", "w") as results, bar:
        for batch in dataset.iter_batches(batch_format="numpy", batch_size=None):
            for index, row, png, error in zip(batch["index"], batch["row"], batch["png"], batch["error"]):
                if error:
                    raise AtelierError(f"Prompt {int(index) + 1}: {error}")
                (out / f"{int(index):04d}.png").write_bytes(png)
                results.write(row + "\n")
                results.flush()
                bar.update(1)


def evaluate_on_ray(args, prompts: list[str]) -> dict:
    """pipelines.evaluation.evaluate.evaluate on Ray Data: the same chunks, seeds and table."""
    from pipelines.evaluation.evaluate import BATCH

    entry = load_registry(args.registry).pick(args.model, "text-to-image")
    prompts = [inputs.prompt(p) for p in prompts]
    if not prompts:
        raise BadInput("Give at least one prompt to evaluate.")
    size = 1 if args.verify else BATCH
    common = {
        "model_id": entry.id,
        "verify": args.verify,
        "rounds": args.rounds,
        "seed": args.seed,
        "steps": args.steps,
        "expand_with": args.expand_with,
    }
    chunks = [
        {"chunk": json.dumps(common | {"prompts": prompts[s : s + size], "start": s})}
        for s in range(0, len(prompts), size)
    ]
    started = time.perf_counter()
    images: list = [None] * len(prompts)
    with tqdm(total=len(prompts), desc="evaluate (ray)", unit="prompt") as bar:
        for batch in _dataset(chunks, args.registry, getattr(args, "ray_config", None)).iter_batches(
            batch_format="numpy", batch_size=None
        ):
            for index, png in zip(batch["index"], batch["png"]):
                images[int(index)] = Image.open(io.BytesIO(png)).convert("RGB")
                bar.update(1)
    seconds = (time.perf_counter() - started) / len(prompts)
    return fidelity(args, entry, prompts, images) | {"seconds_per_prompt": seconds}


def evaluate_chunk(
    cache,
    model_id: str,
    prompts: list[str],
    start: int,
    verify: int | None,
    rounds: int,
    seed: int,
    steps: int | None,
    expand_with: str | None,
) -> tuple[list, list[str]]:
    """The pictures pipelines.evaluation.evaluate.evaluate draws for prompts start, start + 1, ...: the same
    seeds (S + 100 i; expansion S + i) and, without verify, the same chunks of BATCH in one diffusion call."""
    from pipelines.judges import judge_for
    from pipelines.tasks.generate import draw, settings
    from pipelines.tasks.prompts import prompt_for
    from pipelines.tasks.verify import generate_verified

    entry = cache.registry.pick(model_id, "text-to-image")
    if verify:
        result = generate_verified(cache, prompts[0], entry.id, seed + start * 100, verify, rounds, expand_with, steps)
        return [result.images[0]], [result.used_prompt]
    judge = judge_for(cache, entry)
    used = [prompt_for(cache, judge, p, expand_with, seed + start + k) for k, p in enumerate(prompts)]
    seeds = [seed + i * 100 for i in range(start, start + len(used))]
    return draw(cache, entry, used, "", settings(entry, steps), seeds)[0], used


def fidelity(args, entry, prompts: list[str], images: list) -> dict:
    """The table pipelines.evaluation.evaluate.evaluate returns, from pictures drawn elsewhere (the scoring
    models, such as the captioner for the distribution figures, load here)."""
    from pipelines.evaluation.evaluate import fidelity_table
    from zoo.cache import ModelCache

    cache = ModelCache(load_registry(args.registry), budget_gb=args.memory_budget)
    table = fidelity_table(cache, entry, prompts, images, None)
    return table | {"model": entry.id, "prompts": len(prompts), "verify": args.verify or 0}
