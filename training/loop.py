"""The training loop the starter trainers share: seeded, resumable, with a progress bar."""

from __future__ import annotations

import json
import pickle
import random
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

_STOP_AFTER: ContextVar[int | None] = ContextVar("stop_after", default=None)


class TrainingError(Exception):
    """A run that cannot start or go on as asked; its message is one sentence for the person running it."""


class Stopped(Exception):
    """A run stopped on purpose (`stopping_after`) with a state that `--resume` continues."""


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


@contextmanager
def stopping_after(step: int | None) -> Iterator[None]:
    """Within it, a `train` phase that reaches `step` before its end saves its state and raises Stopped,
    as an interrupted run would, with the schedule still spanning all its steps."""
    token = _STOP_AFTER.set(step)
    try:
        yield
    finally:
        _STOP_AFTER.reset(token)


def rng_states(generators: Sequence[torch.Generator] = ()) -> dict:
    """Every random state a step draws from: python's, numpy's and torch's global ones (dropout uses
    torch's) and the trainer's own generators."""
    return {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
        "generators": [g.get_state() for g in generators],
    }


def set_rng_states(states: dict, generators: Sequence[torch.Generator] = ()) -> None:
    random.setstate(states["python"])
    np.random.set_state(states["numpy"])
    torch.set_rng_state(states["torch"])
    for generator, state in zip(generators, states["generators"], strict=True):
        generator.set_state(state)


def train(
    name: str,
    modules: dict[str, torch.nn.Module],
    step_loss: Callable[[int], torch.Tensor],
    steps: int,
    lr: float,
    work_dir: Path,
    resume: bool,
    warmup: int = 100,
    generators: Sequence[torch.Generator] = (),
) -> list[float]:
    """Runs `steps` optimiser steps of `step_loss(step)`, saving a resumable state in work_dir.

    The batch drawn at step i depends only on (seed, i); the state holds the weights, the optimiser,
    the schedule, the global random states and `generators` (the trainer's own), so a run resumed
    with the same --steps computes bit for bit what an uninterrupted one does. Returns the loss of
    every step of this run.
    """
    params = [p for m in modules.values() for p in m.parameters() if p.requires_grad]
    optimiser = torch.optim.AdamW(params, lr=lr, weight_decay=0.01)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda s: min(1.0, (s + 1) / warmup) * 0.5 * (1 + np.cos(np.pi * min(s, steps) / steps))
    )
    state_path = work_dir / f"{name}.state.pt"
    start = _restore(state_path, modules, optimiser, schedule, steps, generators) if resume else 0
    work_dir.mkdir(parents=True, exist_ok=True)
    for m in modules.values():
        m.train()
    stop_after = _STOP_AFTER.get()
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
        stopping = step + 1 == stop_after and step + 1 < steps
        if (step + 1) % 500 == 0 or step + 1 == steps or stopping:
            torch.save(
                {
                    "modules": {k: m.state_dict() for k, m in modules.items()},
                    "optimiser": optimiser.state_dict(),
                    "schedule": schedule.state_dict(),
                    "step": step + 1,
                    "steps": steps,
                    "rng": rng_states(generators),
                },
                state_path,
            )
        if stopping:
            bar.close()
            raise Stopped(
                f"{name} stopped after step {step + 1} of {steps}; its state is in {state_path}, "
                "continue with --resume."
            )
    for m in modules.values():
        m.eval()
    return losses


def _restore(state_path: Path, modules: dict, optimiser, schedule, steps: int, generators) -> int:
    """Loads a saved state, if there is one, and returns the step it reached (0 without one)."""
    if not state_path.exists():
        return 0
    try:
        state = torch.load(state_path, weights_only=False)
    except (OSError, RuntimeError, EOFError, pickle.UnpicklingError) as e:
        raise TrainingError(
            f"{state_path} is not a training state this trainer wrote ({type(e).__name__}); "
            "delete it, or start without --resume."
        ) from None
    if state.get("steps", steps) != steps:
        raise TrainingError(
            f"The state in {state_path} was started with {state['steps']} steps, not {steps}; "
            f"resume with the same steps, since the learning-rate schedule spans them."
        )
    for key, module in modules.items():
        module.load_state_dict(state["modules"][key])
    optimiser.load_state_dict(state["optimiser"])
    schedule.load_state_dict(state["schedule"])
    if "rng" in state:  # states saved before the random states were kept resume, but not bit for bit
        set_rng_states(state["rng"], generators)
    return state["step"]


def write_card(folder: Path, title: str, body: str, config: dict) -> None:
    """The model card, as on the hub: what it is, how it was trained, and how well it does."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "training_config.json").write_text(json.dumps(config, indent=2) + "\n")
    (folder / "README.md").write_text(f"---\nlicense: apache-2.0\nlibrary_name: atelier\n---\n# {title}\n\n{body}\n")
