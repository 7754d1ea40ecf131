"""`python -m training lora --ray-workers N`: the same LoRA run, data-parallel on Ray Train.

A TorchTrainer starts N workers in a gloo process group (CPU). Each builds the same job from the same
seed, takes its share of every batch (batch i is the same for every run, sliced by worker), and the
gradients are averaged across workers before each step, so the adapter is that of one batch of the same
size; worker 0 draws the prior pictures first (the others then read them), samples, and writes DIR.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from training.loop import TrainingError


def run_on_ray(args) -> dict:
    try:
        import ray
        from ray.train import RunConfig, ScalingConfig
        from ray.train.torch import TorchConfig, TorchTrainer
    except ImportError:
        raise TrainingError("--ray-workers needs Ray Train: pip install -r requirements-ray.txt.") from None
    if args.resume:
        raise TrainingError("--resume continues single-process runs; start a Ray run afresh.")
    if args.batch % args.ray_workers:
        raise TrainingError(f"--batch {args.batch} must be a multiple of --ray-workers {args.ray_workers}.")
    if not ray.is_initialized():
        ray.init(num_cpus=args.ray_workers, include_dashboard=False, log_to_driver=False)
    config = vars(args) | {"data": str(args.data), "out": str(Path(args.out).resolve()), "ray_workers": 0}
    config["data"] = str(Path(args.data).resolve())
    trainer = TorchTrainer(
        _worker,
        train_loop_config={"args": config, "workers": args.ray_workers},
        scaling_config=ScalingConfig(num_workers=args.ray_workers, use_gpu=False),
        torch_config=TorchConfig(backend="gloo"),
        run_config=RunConfig(name="lora", storage_path=str(Path(args.out).resolve() / "ray")),
    )
    result = trainer.fit()
    if result.error:
        raise TrainingError(f"The Ray run failed ({type(result.error).__name__}); see its log above.")
    import json

    return json.loads((Path(args.out) / "training_config.json").read_text())["figures"]  # what worker 0 wrote


def _worker(config: dict) -> None:
    import torch
    import torch.distributed as dist
    from ray import train

    from training.loop import seed_everything, write_card
    from training.lora import Flag, Job, card

    torch.set_num_threads(1)
    args = argparse.Namespace(**config["args"])
    rank, workers = train.get_context().get_world_rank(), config["workers"]
    started = time.time()
    if rank != 0:
        dist.barrier()  # worker 0 draws the prior pictures first; the others read them
    job = Job(args, rank, workers)
    if rank == 0:
        dist.barrier()

    def sync(params: dict) -> None:
        for p in params.values():
            if p.grad is not None:
                dist.all_reduce(p.grad)
                p.grad /= workers

    state = Path(args.out) / "state" / (f"worker{rank}" if rank else "")
    figures = job.train(state, Flag(), seed_everything, sync)
    if rank == 0:
        job.save(Path(args.out))
        figures["minutes"] = round((time.time() - started) / 60, 2)
        figures["ray_workers"] = workers
        write_card(
            Path(args.out), f"LoRA for {job.entry.id}", card(args, job, figures), job.config() | {"figures": figures}
        )
    train.report({k: v for k, v in figures.items() if isinstance(v, (int, float, bool))})
