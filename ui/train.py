"""The Train tab: upload pictures (with captions or not), pick the base model and the steps, watch the
loss and a sample picture, Stop. The adapter appears in Generate's adapter list when it is done.

Training runs as a subprocess, `python -m training prepare` then `python -m training lora` (ui/ may not
import training/): the server stays free to draw, the trainer's stdout lines (JSON) carry the loss and
the samples, and Stop is a SIGINT that the trainer answers by saving its state.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import gradio as gr

from pipelines.core import inputs
from pipelines.core.training_upload import unpack
from ui.files import display_name, uploaded_picture
from ui.i18n import t
from ui.jobs import handler
from ui.studio import Studio
from zoo.adapters import trained_entries
from zoo.errors import BadInput

REPO = Path(__file__).resolve().parent.parent  # `python -m training` runs from the repository's root
NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
BUSY = "A training is running on this server already; wait for it to end (or stop it), then start yours."
MIN_STEPS, MAX_STEPS = 10, 5000
DEFAULT_STEPS = 1500  # python -m training lora's own default (ui/ may not import training/)


def _command(*args: str) -> list[str]:
    return [sys.executable, "-m", "training", *args]


def _environment() -> dict:
    """One thread and low priority for the trainer, so the server keeps drawing meanwhile."""
    return os.environ | {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}


def _checked(studio: Studio, files, base, steps, name) -> tuple[list[tuple[Path, str]], str, int, str]:
    if not isinstance(files, list) or not files:
        raise BadInput("Upload some pictures (several files, or one zip) first.")
    uploads = [(Path(uploaded_picture(f)), display_name(f)) for f in files]
    entry = studio.registry.pick(base or None, "text-to-image")
    if entry.loader != "StableDiffusionPipeline":
        raise BadInput(f"LoRA training takes Stable Diffusion models; '{entry.id}' is not one.")
    count = int(
        inputs.number(steps if steps is not None else DEFAULT_STEPS, "Steps", MIN_STEPS, MAX_STEPS, integer=True)
    )
    name = str(name or f"adapter-{time.strftime('%Y%m%d-%H%M%S')}").strip().lower()
    if not NAME.match(name):
        raise BadInput("Name the adapter with up to 40 lower-case letters, digits, '-' or '_'.")
    if f"trained/{name}" in studio.registry.entries or (studio.training.root / name).exists():
        raise BadInput(f"An adapter named '{name}' exists already; choose another name.")
    return uploads, entry.id, count, name


def train(studio: Studio, files, base=None, steps=None, name=None, request: gr.Request = None):
    """Fine-tunes a LoRA adapter of a text-to-image model on uploaded pictures; one training at a time.

    Args:
        files: pictures (PNG, JPEG...) with an optional metadata.jsonl of captions, or one zip of them.
        base: the text-to-image model to adapt (default: the default model).
        steps: training steps (10 to 5000).
        name: the adapter's name (lower-case letters, digits, '-', '_'); it is listed as trained/NAME.
    Returns: a status line, the loss so far (step, loss), and the latest sample picture.
    """
    slot = studio.training
    if not slot.lock.acquire(blocking=False):
        raise BadInput(BUSY)
    try:
        uploads, base_id, count, name = _checked(studio, files, base, steps, name)
        folder = slot.root / name
        try:
            received = unpack(uploads, folder / "raw")
            yield f"Received {received} files; cleaning them (python -m training prepare).", None, None
            yield from _prepare(folder, base_id)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)  # refused before training: the name stays free
            raise
        yield from _train(studio, folder, base_id, count, name)
    finally:
        slot.process, slot.stopping = None, False
        slot.lock.release()


def _prepare(folder: Path, base_id: str):
    done = subprocess.run(
        _command("prepare", "--data", str(folder / "raw"), "--out", str(folder / "clean"), "--base", base_id),
        capture_output=True,
        text=True,
        env=_environment(),
        cwd=REPO,
    )
    if done.returncode != 0:
        raise BadInput(_last_error(done.stderr, "The pictures could not be cleaned"))
    counts = json.loads(done.stdout.strip().splitlines()[-1])
    if not counts["kept"] + counts["repaired"]:
        raise BadInput("None of the uploaded pictures can be trained on; see the report of the dropped ones.")
    yield (
        f"{counts['kept']} pictures kept, {counts['repaired']} repaired, {counts['dropped']} dropped "
        "(clean/report.json says why); training starts.",
        None,
        None,
    )


def _train(studio: Studio, folder: Path, base_id: str, steps: int, name: str):
    import pandas as pd

    slot, out = studio.training, folder / "adapter"
    args = ["lora", "--base", base_id, "--data", str(folder / "clean"), "--out", str(out), "--steps", str(steps)]
    log = open(folder / "train.log", "w")  # progress bars go there: a pipe nobody reads would fill and stall
    slot.process = subprocess.Popen(
        ["nice", "-n", "10", *_command(*args, "--text-encoder")],
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
        env=_environment(),
        cwd=REPO,
    )
    losses: list[tuple[int, float]] = []
    for line in slot.process.stdout or []:
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            continue
        if "loss" in event and event.get("phase") == "unet":
            losses.append((event["step"], event["loss"]))
        sample = _sample_picture(event["sample"], out) if "sample" in event else None
        status = f"Training {name}: {_progress(event, steps)}."
        yield status, pd.DataFrame(losses, columns=["step", "loss"]), gr.skip() if sample is None else sample
    code = slot.process.wait()
    log.close()
    if slot.stopping:
        yield f"Stopped {name}; its state is kept in the server's training folder.", gr.skip(), gr.skip()
        return
    if code != 0:
        raise BadInput(_last_error((folder / "train.log").read_text(errors="replace"), "The training failed"))
    register_trained(studio)
    yield f"Adapter trained/{name} is ready: pick it under Adapter in Generate.", gr.skip(), gr.skip()


def _progress(event: dict, steps: int) -> str:
    """Where the run is: the decoder's steps come before the UNet's (training/lora.py), each counted apart."""
    if event.get("phase") == "decoder":
        return f"decoder step {event.get('step', 0)} of {event.get('steps', '?')}"
    return f"step {event.get('step', 0)} of {steps}"


def _sample_picture(path, out: Path):
    """The trainer's sample, read here and handed over as a picture: Gradio serves no file from the data
    folder (it lies outside its temp folder and the working directory), and only a file in `out` is read."""
    from PIL import Image

    try:
        resolved = Path(str(path)).resolve()
        if not resolved.is_relative_to(out.resolve()):
            return None
        with Image.open(resolved) as image:
            return image.convert("RGB")
    except (OSError, ValueError):
        return None


def _last_error(stderr: str, what: str) -> str:
    errors = [line[len("error: ") :] for line in stderr.splitlines() if line.startswith("error: ")]
    return errors[-1] if errors else f"{what}; try again with other pictures."


def stop(studio: Studio):
    if studio.training.stop():
        gr.Info("Stopping after the current step.")


def register_trained(studio: Studio) -> None:
    studio.backend.add_entries(trained_entries(studio.training.root))


def build(studio: Studio):
    models = [e.id for e in studio.registry.for_task("text-to-image") if e.loader == "StableDiffusionPipeline"]
    default = studio.default("text-to-image")
    with gr.Row():
        with gr.Column():
            files = gr.File(label=t("train_files"), file_count="multiple", elem_id="train-files")
            base = gr.Dropdown(models, value=default.id if default else None, label=t("model"))
            steps = gr.Slider(
                MIN_STEPS, MAX_STEPS, value=DEFAULT_STEPS, step=10, label=t("steps"), elem_id="train-steps"
            )
            name = gr.Textbox(label=t("train_name"), placeholder="my-star", elem_id="train-name")
            with gr.Row():
                start = gr.Button(t("train_start"), variant="primary", elem_id="train-start")
                halt = gr.Button(t("stop"), variant="stop")
        with gr.Column():
            status = gr.Markdown(elem_id="train-status")
            loss = gr.LinePlot(x="step", y="loss", label=t("train_loss"), elem_id="train-loss")
            sample = gr.Image(label=t("train_sample"), elem_classes=["pixelated"], elem_id="train-sample")
    training = start.click(
        handler(train, studio),
        inputs=[files, base, steps, name],
        outputs=[status, loss, sample],
        api_name="train",
        concurrency_id="train",
        concurrency_limit=1,
        preprocess=False,
    )
    # no cancels=: the trainer answers Stop by saving its state, and the run's own loop then says so
    halt.click(handler(stop, studio), concurrency_limit=None, api_visibility="private")
    return training
