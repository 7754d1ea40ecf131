"""The training loop the starter trainers share: seeded, resumable, with a progress bar."""
from __future__ import annotations

import json
import random
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def train(
    name: str,
    modules: dict[str, torch.nn.Module],
    step_loss: Callable[[int], torch.Tensor],
    steps: int,
    lr: float,
    work_dir: Path,
    resume: bool,
    warmup: int = 100,
) -> list[float]:
    """Runs `steps` optimiser steps of `step_loss(step)`, saving a resumable state in work_dir.

    The batch drawn at step i depends only on (seed, i), so a resumed run sees the same data
    as an uninterrupted one. Returns the loss of every step of this run.
    """
    params = [p for m in modules.values() for p in m.parameters() if p.requires_grad]
    optimiser = torch.optim.AdamW(params, lr=lr, weight_decay=0.01)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda s: min(1.0, (s + 1) / warmup) * 0.5 * (1 + np.cos(np.pi * min(s, steps) / steps))
    )
    state_path = work_dir / f"{name}.state.pt"
    start = 0
    if resume and state_path.exists():
        state = torch.load(state_path, weights_only=False)
        for key, module in modules.items():
            module.load_state_dict(state["modules"][key])
        optimiser.load_state_dict(state["optimiser"])
        schedule.load_state_dict(state["schedule"])
        start = state["step"]
    work_dir.mkdir(parents=True, exist_ok=True)
    for m in modules.values():
        m.train()
    losses = []
    bar = tqdm(range(start, steps), desc=name, initial=start, total=steps)
    for step in bar:
        loss = step_loss(step)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimiser.step()
        schedule.step()
        losses.append(loss.item())
        if step % 20 == 0:
            bar.set_postfix(loss=f"{np.mean(losses[-20:]):.4f}")
        if (step + 1) % 500 == 0 or step + 1 == steps:
            torch.save({"modules": {k: m.state_dict() for k, m in modules.items()}, "optimiser": optimiser.state_dict(),
                        "schedule": schedule.state_dict(), "step": step + 1}, state_path)
    for m in modules.values():
        m.eval()
    return losses


def write_card(folder: Path, title: str, body: str, config: dict) -> None:
    """The model card, as on the hub: what it is, how it was trained, and how well it does."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "training_config.json").write_text(json.dumps(config, indent=2) + "\n")
    (folder / "README.md").write_text(f"---\nlicense: apache-2.0\nlibrary_name: atelier\n---\n# {title}\n\n{body}\n")
