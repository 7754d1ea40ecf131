"""The Gradio Blocks UI over pipelines/: one module per tab, handlers as plain functions of a Studio."""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr
from starlette.middleware import Middleware

from ui import caption, chat, decode_full, edit, feedback, generate, style, train, zoo_tab
from ui.guard import RequestGuard
from ui.i18n import I18N, t
from ui.people import People
from ui.quotas import Logins, UploadLimits, Uploads
from ui.studio import Studio

CSS = (
    ".pixelated img { image-rendering: pixelated; }"  # a 64 x 64 picture scaled up without smoothing
    " table.receipt { font-size: 0.85em; width: auto; } table.receipt tr.miss td { color: #c62828; }"
)


@dataclass(frozen=True)
class ServeLimits:
    queue_size: int = 256  # jobs waiting at most; past it a sentence says to retry
    per_person: int = 4  # jobs one person (a login, or else an address) may have waiting or running
    max_file_size: str = "20mb"  # per upload request, all files together
    trust_proxy: bool = False  # count people by the address a proxy in front appended to X-Forwarded-For
    share: bool = False  # a share link: the tunnel's X-Forwarded-For is trusted from loopback peers
    uploads: UploadLimits | None = None  # per-hour and on-disk upload limits (default: UploadLimits())


def build_app(studio: Studio | object, limits: ServeLimits = ServeLimits()) -> gr.Blocks:
    studio = studio if isinstance(studio, Studio) else Studio(studio)  # a bare ModelCache works too
    train.register_trained(studio)  # adapters trained before this start are listed in Generate too
    with gr.Blocks(title="Atelier", analytics_enabled=False, delete_cache=(900, 3600)) as demo:
        gr.Markdown("# Atelier")
        gr.Markdown(t("tagline"))
        with gr.Tab(t("tab_generate"), id="generate"):
            decode_full.wire(studio, generate.build(studio, demo))
        with gr.Tab(t("tab_style"), id="style"):
            style.build(studio)
        with gr.Tab(t("tab_edit"), id="edit"):
            edit.build(studio)
        with gr.Tab(t("tab_chat"), id="chat"):
            chat.build(studio, demo)
        with gr.Tab(t("tab_caption"), id="caption"):
            caption.build(studio)
        with gr.Tab(t("tab_train"), id="train"):
            train.build(studio)
        with gr.Tab(t("tab_zoo"), id="zoo") as tab:
            zoo_tab.build(studio, tab)
            feedback.plots(studio, tab)
        gr.Markdown(feedback.where(studio), elem_id="ratings-kept")
        feedback.api(studio)
    # api_open=False: /run and /api may not start queued work beside the queue (and its limits)
    demo.queue(max_size=limits.queue_size, default_concurrency_limit=1, api_open=False)
    return demo


def launch_options(
    demo: gr.Blocks, auth: tuple[str, str] | None = None, mcp: bool = True, limits: ServeLimits = ServeLimits()
) -> dict:
    """What launch() needs besides host and port: the request guard, upload limits, readable errors, and
    the MCP server (every API endpoint with its docstring becomes a tool). `limits`: those build_app got."""
    return dict(
        allowed_paths=[str(style.ASSETS)],
        show_error=True,
        css=CSS,
        mcp_server=mcp,
        i18n=I18N,
        max_file_size=limits.max_file_size,
        auth=auth,
        app_kwargs={"middleware": [Middleware(RequestGuard, blocks=demo, **guard_options(limits))]},
    )


def guard_options(limits: ServeLimits) -> dict:
    from gradio.utils import _parse_file_size

    per_request = _parse_file_size(limits.max_file_size) or UploadLimits.per_request
    return dict(
        per_person=limits.per_person,
        people=People(trust_proxy=limits.trust_proxy, trust_loopback_proxy=limits.share),
        uploads=Uploads(limits.uploads or UploadLimits(per_request=per_request, on_disk=max(100 * 2**20, per_request))),
        logins=Logins(),
    )
