"""The Zoo tab: every registry entry with its state; load and unload by hand."""

from __future__ import annotations

import gradio as gr

from pipelines.backend import BUSY, UNLOADED
from ui.i18n import t
from ui.jobs import LOADING, handler
from ui.studio import Studio
from zoo import hub

HEADERS = ["id", "task", "licence", "memory", "state", "description"]


def rows(studio: Studio) -> list[list]:
    states = studio.backend.model_states()
    return [
        [e.id, e.task, e.licence, f"{e.memory_gb:g} GB", states[e.id], e.description]
        for e in studio.registry.entries.values()
    ]


def load(studio: Studio, model_id, progress=gr.Progress(track_tqdm=True)):
    studio.backend.load(model_id)
    return rows(studio), f"Loaded **{model_id}**."


def unload(studio: Studio, model_id):
    answer = studio.backend.unload(model_id)
    if answer == UNLOADED:
        message = f"Unloaded **{model_id}**."
    elif answer == BUSY:
        message = f"**{model_id}** is busy with a job; unload it when the job is done."
    else:
        message = f"**{model_id}** is not loaded."
    return rows(studio), message


def summary(studio: Studio) -> str:
    text = studio.backend.where() + f" Defaults: {studio.defaults_reason}."
    text += " The hub is **offline**: only models already on this machine can load." if hub.offline() else ""
    return text + cpu_levers(studio)


def cpu_levers(studio: Studio) -> str:
    """On a CPU: which levers the diffusion models load with (zoo/cpu_path.py), and why."""
    levers = getattr(studio.backend, "cpu_levers", lambda: [])()
    if not levers:
        return ""
    lines = [f"- {'on' if lever.on else 'off'}: **{lever.name}**: {lever.why}" for lever in levers]
    return "\n\n**CPU path** (real diffusion models and tiny autoencoders):\n\n" + "\n".join(lines)


def build(studio: Studio, tab: gr.Tab) -> None:
    gr.Markdown(summary(studio))
    table = gr.Dataframe(rows(studio), interactive=False, wrap=True, headers=HEADERS)
    default = studio.default("text-to-image")
    with gr.Row():
        model = gr.Dropdown(
            list(studio.registry.entries), value=default.id if default else None, label=t("model"), scale=3
        )
        with gr.Column(scale=2), gr.Row():
            load_button = gr.Button("Load", variant="primary", min_width=80)
            unload_button = gr.Button("Unload", min_width=80)
            refresh_button = gr.Button("Refresh", min_width=80)
    status = gr.Markdown()
    refresh = handler(rows, studio)
    load_button.click(
        handler(load, studio, gpu_seconds=120),
        inputs=[model],
        outputs=[table, status],
        api_visibility="private",
        **LOADING,
    )
    unload_button.click(
        handler(unload, studio),
        inputs=[model],
        outputs=[table, status],
        api_visibility="private",
        queue=False,
        preprocess=False,
    )
    refresh_button.click(refresh, outputs=[table], api_visibility="private", queue=False)
    tab.select(refresh, outputs=[table], api_visibility="private", queue=False)
