"""The Zoo tab: every registry entry with its state; load and unload by hand."""

from __future__ import annotations

import gradio as gr

from ui.i18n import t
from ui.jobs import LOADING, handler
from ui.studio import Studio
from zoo import hub

HEADERS = ["id", "task", "licence", "memory", "state", "description"]


def rows(studio: Studio) -> list[list]:
    cache = studio.cache
    return [
        [e.id, e.task, e.licence, f"{e.memory_gb:g} GB", cache.state(e), e.description]
        for e in cache.registry.entries.values()
    ]


def load(studio: Studio, model_id, progress=gr.Progress(track_tqdm=True)):
    studio.registry.get(model_id)  # an unknown id gets its sentence before anything loads
    studio.cache.get(model_id)
    return rows(studio), f"Loaded **{model_id}**."


def unload(studio: Studio, model_id):
    studio.registry.get(model_id)
    if studio.cache.unload(model_id):
        message = f"Unloaded **{model_id}**."
    elif model_id in studio.cache.loaded():
        message = f"**{model_id}** is busy with a job; unload it when the job is done."
    else:
        message = f"**{model_id}** is not loaded."
    return rows(studio), message


def summary(studio: Studio) -> str:
    cache = studio.cache
    text = (
        f"Models run on **{cache.device}** with a memory budget of **{cache.budget_bytes / 2**30:.1f} GB**; "
        "they load on first use and the least recently used ones are unloaded to make room."
    )
    text += f" Defaults: {studio.defaults_reason}."
    text += " The hub is **offline**: only models already on this machine can load." if hub.offline() else ""
    return text + cpu_levers(cache)


def cpu_levers(cache) -> str:
    """On a CPU: which levers the diffusion models load with (zoo/cpu_path.py), and why."""
    if not cache.cpu_levers:
        return ""
    lines = [f"- {'on' if lever.on else 'off'}: **{lever.name}**: {lever.why}" for lever in cache.cpu_levers]
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
