"""The Generate tab: a request, the prompt the model draws, the pictures."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

import gradio as gr

from pipelines.core import inputs, metadata
from pipelines.core import settings as model_settings
from pipelines.core.results import AUTO, NONE, GenerateRequest, Generation
from pipelines.judges.receipt import receipt_text
from pipelines.models import decode as decoding
from pipelines.tasks import verify
from ui import explain as explain_view
from ui import feedback, history, receipts
from ui.files import uploaded_picture
from ui.i18n import t
from ui.jobs import DESCRIBING, DRAWING, handler, streamed
from ui.studio import Studio
from zoo.errors import BadInput, Cancelled

EXAMPLE_PROMPTS = [
    "big red ball on the left",
    "an outlined tiny blue box up top on a dark background",
    "two shapes: a green triangle to the left and a violet plus to the right",
    "画一个大的红色圆形在左边",
    "左边一个小的蓝色方块，右边一个绿色三角形，黑色背景，空心",
]


def generate(
    studio: Studio,
    prompt,
    negative_prompt=None,
    model=None,
    expand_with=None,
    rewritten_prompt=None,
    steps=None,
    guidance=None,
    width=None,
    height=None,
    seed=None,
    num_images=None,
    verify_and_refine=None,
    candidates=None,
    rounds=None,
    embed_parameters=None,
    explain=None,
    lora=None,
    lora_scale=None,
    decode=None,
    request: gr.Request = None,
    progress=gr.Progress(track_tqdm=True),
):
    """Draws pictures for a request in words (a prompt model may rewrite it first); streams previews.

    Args:
        prompt: the request, e.g. "big red ball on the left" (English or Chinese).
        negative_prompt: what to keep out of the picture.
        model: a text-to-image model id (default: the default model of this machine).
        expand_with: "auto" (the model's own prompt model where it needs one), "none", or a model id.
        rewritten_prompt: a prompt to draw exactly as written (no rewriting).
        steps: denoising steps (default: the model's).
        guidance: classifier-free guidance scale (default: the model's).
        width: picture width in pixels (default: the model's).
        height: picture height in pixels (default: the model's).
        seed: the seed; -1 or empty for a random one. The same seed and settings give the same picture.
        num_images: how many pictures (1 to 8).
        verify_and_refine: caption and score every candidate, keep the best, rewrite and retry on misses.
        candidates: with verify_and_refine, pictures drawn per round.
        rounds: with verify_and_refine, rounds at most.
        embed_parameters: write the prompt and settings into the PNGs (default true).
        explain: also map where each word of the prompt went (plain runs; see /explain for the maps).
        lora: a LoRA adapter's id for the chosen model (the registry's, or one trained in the Train tab), or none.
        lora_scale: the adapter's strength, 0 to 2 (default: the adapter's own).
        decode: "fast" (the model's tiny autoencoder; /decode_full redoes it in full later) or "full"
            (default: fast on a CPU where the model has a tiny autoencoder).
    Returns: the pictures (each labelled with its receipt), the prompt used, the parameters, the PNG files.
    """
    raw = (prompt, rewritten_prompt, negative_prompt, model, expand_with, steps, guidance, width, height)
    job = _job(*raw, seed, num_images, verify_and_refine, candidates, rounds, decode)
    job = replace(job, explain=_flag(explain) and not job.verify, lora=lora or None, lora_scale=lora_scale)
    embed = _flag(embed_parameters, studio.embed_parameters)
    if not studio.backend.loaded():  # the first request of a fresh app waits for its models: say so
        progress(0, desc="loading models and rewriting the request")
    yield from _stream(studio, job, embed, request, progress)


def _job(
    prompt,
    rewritten_prompt,
    negative_prompt,
    model,
    expand_with,
    steps,
    guidance,
    width,
    height,
    seed,
    num_images,
    verify_and_refine,
    candidates,
    rounds,
    decode=None,
) -> GenerateRequest:
    """The typed request of /generate's raw values (None: the default); the pipelines check each value."""
    written = " ".join(str(rewritten_prompt or "").split())
    return GenerateRequest(
        prompt=written or prompt,
        negative_prompt=negative_prompt or "",
        model=model or None,
        expand_with=inputs.expander_choice(expand_with),
        steps=steps,
        guidance=guidance,
        width=width,
        height=height,
        seed=seed,
        num_images=1 if num_images is None else num_images,
        verify=_candidates(candidates) if _flag(verify_and_refine) else None,
        rounds=2 if rounds is None else rounds,
        draw_as_is=bool(written),
        decode=decode or None,
    )


def _stream(studio: Studio, job: GenerateRequest, embed: bool, request, progress):
    """Previews as they come, then the pictures; Stop (or a cancelled event) keeps the last preview."""
    with studio.runs.start(request, "generate", progress, "drawing") as run:
        work = lambda preview: studio.backend.generate(job, replace(run, preview=preview))
        try:
            for kind, value in streamed(work):
                if kind == "preview":
                    yield [(p, "preview") for p in value], gr.skip(), gr.skip(), gr.skip()
                else:
                    studio.explanations.keep(explain_view.session(request), value)
                    yield shown(studio, value, embed)
        except Cancelled:
            gr.Info("Stopped: the last preview stays on screen; nothing else was drawn.")
        finally:
            run.cancel.set()  # a cancelled event closes this generator: the drawing stops after its step


def shown(studio: Studio, result: Generation, embed: bool):
    """The outputs of /generate: gallery, prompt used, parameters, PNG files (each picture written once)."""
    receipts = [p.receipt for p in result.pictures]
    files = studio.downloads.save(result.images, result.parameters, embed, receipts)
    if result.rounds:
        labels = [f"score {p.score:.2f} — {p.caption}" for p in result.pictures]
    else:
        labels = [f"seed {p.parameters['seed']}" for p in result.pictures]
    labels = [f"{label}\n{receipt_text(r)}" if r else label for label, r in zip(labels, receipts)]
    details = {
        "prompt used": result.used_prompt,
        "pictures": result.parameters,
        "receipts": receipts,
        **result.checks(),
    }
    if kept := [p.latents for p in result.pictures if p.latents]:
        details["kept latents"] = kept  # ui/decode_full.py decodes them again in full
    return list(zip(files, labels)), result.used_prompt, details, files


def _candidates(value) -> int:
    """Candidates per round when verify-and-refine is on: 1 to MAX_CANDIDATES (0 would quietly draw a plain run)."""
    return inputs.number(4 if value is None else value, "Candidates", 1, verify.MAX_CANDIDATES, integer=True)


def _flag(value, default: bool = False) -> bool:
    if value is None:
        return default
    if not isinstance(value, bool | int) or value not in (0, 1):
        raise BadInput("Switches take true or false.")
    return bool(value)


def example(studio: Studio, prompt):
    """An example request drawn with the default model and seed 0 (examples are cached after one draw)."""
    job = GenerateRequest(prompt=prompt, seed=0)
    return shown(studio, studio.backend.generate(job), studio.embed_parameters)


def expand(
    studio: Studio,
    prompt,
    expand_with=None,
    seed=None,
    request: gr.Request = None,
    progress=gr.Progress(track_tqdm=True),
):
    """Rewrites a request into a prompt the image model understands, with a prompt-expansion model.

    Args:
        prompt: the request in words.
        expand_with: a prompt-expansion model id, or "auto" for the default model's own.
        seed: the seed; the same seed gives the same rewrite.
    Returns:
        the rewritten prompt.
    """
    choice = inputs.expander_choice(expand_with)
    if choice == NONE:
        raise BadInput("Pick a prompt-expansion model in 'Expand with' to rewrite the request.")
    progress(0, desc="rewriting the request")
    return studio.backend.expand(prompt, None if choice == AUTO else choice, seed)


def defaults_for(studio: Studio, model):
    """The selected model's recommended settings, size range and own prompt expander."""
    entry = studio.registry.entries.get(model) if isinstance(model, str) else None
    if entry is None or entry.task != "text-to-image":
        return [gr.update()] * 5
    run = model_settings.settings(entry)
    return (
        run["steps"],
        run["guidance"],
        gr.update(value=run["width"], **size_range(entry)),
        gr.update(value=run["height"], **size_range(entry)),
        entry.expander or AUTO,
    )


def adapter_choices(studio: Studio, model) -> list[str]:
    return ["none"] + ([e.id for e in studio.registry.adapters_for(model)] if isinstance(model, str) else [])


def adapter_list(studio: Studio, model, current=None):
    """The adapter dropdown for a model: its adapters, the current one kept where it still fits."""
    choices = adapter_choices(studio, model)
    return gr.update(choices=choices, value=current if current in choices else "none")


def size_range(entry) -> dict:
    """The size sliders' range for a model: what it draws (a fixed size shows, greyed out)."""
    low, high = model_settings.side_range(entry) if entry else (64, 2048)
    return {"minimum": low, "maximum": max(high, low + 8), "interactive": high > low}


def png_info(studio: Studio, image, request: gr.Request = None):
    """Reads the generation settings a PNG carries (Atelier's or AUTOMATIC1111's `parameters` text).

    Args:
        image: a PNG file (an upload).
    Returns:
        a dict with prompt, negative_prompt, steps, guidance, seed, width, height and model, plus sampler
        and request where the PNG has them.
    """
    return metadata.png_info(uploaded_picture(image))


def fill_from_png(studio: Studio, info):
    if not isinstance(info, dict):
        return [gr.update()] * 9
    return history.form_values(studio, info | {"request": info.get("request") or info.get("prompt")})


def stop(studio: Studio, request: gr.Request):
    if studio.runs.stop(request, "generate"):
        gr.Info("Stopping after the current step.")


def build(studio: Studio, demo: gr.Blocks) -> SimpleNamespace:
    """The tab's layout and events, inside the app's gr.Blocks; its components, for other modules' events."""
    c = layout(studio)
    wire(studio, demo, c)
    # the adapters that fit the model; listed afresh on a click, so one trained meanwhile is there
    for event in (c.model.change, c.lora.focus):
        event(
            handler(adapter_list, studio),
            inputs=[c.model, c.lora],
            outputs=[c.lora],
            queue=False,
            api_visibility="private",
        )
    return c


def layout(studio: Studio) -> SimpleNamespace:
    # made first, shown on the right: the examples below the request need them as their outputs
    c = SimpleNamespace(
        gallery=gr.Gallery(
            label=t("pictures"),
            format="png",
            columns=2,
            height="auto",
            preview=True,
            render=False,
            object_fit="contain",
            elem_id="gallery",
            elem_classes=["pixelated"],
        ),
        parameters=gr.JSON(label=t("parameters"), open=False, render=False),
        pngs=gr.File(label=t("png_files"), file_count="multiple", render=False),
    )
    with gr.Row():
        with gr.Column(scale=2):
            with gr.Row(equal_height=True):
                c.prompt = gr.Textbox(
                    label=t("request"), placeholder=EXAMPLE_PROMPTS[0], lines=2, max_lines=6, elem_id="request", scale=4
                )
                with gr.Column(scale=1, min_width=110):
                    c.generate = gr.Button(t("generate"), variant="primary", elem_id="generate-button")
                    c.stop = gr.Button(t("stop"), variant="stop", size="sm")
            c.explain = gr.Checkbox(False, label=t("explain"), elem_id="explain", info=t("explain_info"))
            c.rewritten = gr.Textbox(
                label=t("prompt_used"), lines=2, max_lines=6, elem_id="rewritten", info=t("prompt_used_info")
            )
            # a click on an example shows its pictures at once: drawn on the first click, then kept
            gr.Examples(
                [[p] for p in EXAMPLE_PROMPTS],
                inputs=[c.prompt],
                label=t("examples"),
                outputs=[c.gallery, c.rewritten, c.parameters, c.pngs],
                fn=handler(example, studio),
                cache_examples=True,
                cache_mode="lazy",
            )
            with gr.Accordion(t("settings"), open=False):
                settings_panel(studio, c)
        with gr.Column(scale=3):
            c.gallery.render()
            c.decode_full = gr.Button(t("decode_full"), size="sm", elem_id="decode-full")  # ui/decode_full.py
            c.receipt = gr.HTML(elem_id="receipt")
            explain_view.layout(c)
            for shown_now in (c.parameters, c.pngs):
                shown_now.render()
            c.rating = feedback.widget(studio)
            c.history = gr.Gallery(
                label=t("history"),
                elem_id="history",
                columns=6,
                height=160,
                allow_preview=False,
                elem_classes=["pixelated"],
            )
            with gr.Row():
                c.clear_history = gr.Button(t("clear_history"), size="sm")
                c.png_file = gr.File(label=t("png_drop"), file_types=[".png"], elem_id="png-info", height=90)
            c.png_settings = gr.JSON(visible=False)
    c.saved = gr.BrowserState([], storage_key="atelier-history", secret=history.history_secret())
    c.form = [c.prompt, c.rewritten, c.negative, c.model, c.steps, c.guidance, c.width, c.height, c.seed]
    return c


def settings_panel(studio: Studio, c: SimpleNamespace) -> None:
    entry = studio.default("text-to-image")
    run0 = model_settings.settings(entry) if entry else {"steps": 25, "guidance": 7.5, "width": 512, "height": 512}
    with gr.Row(equal_height=True):
        c.expand_with = gr.Dropdown(
            [AUTO, NONE] + studio.choices("prompt-expansion"),
            label=t("expand_with"),
            value=(entry.expander if entry else None) or AUTO,
            scale=4,
        )
        c.rewrite = gr.Button(t("rewrite"), scale=1, min_width=90, size="md")
    c.negative = gr.Textbox(label=t("negative"), placeholder="what to keep out")
    c.model = gr.Dropdown(studio.choices("text-to-image"), value=entry.id if entry else None, label=t("model"))
    with gr.Row():
        c.steps = gr.Slider(1, model_settings.MAX_STEPS, value=run0["steps"], step=1, label=t("steps"))
        c.guidance = gr.Slider(0, 30, value=run0["guidance"], step=0.5, label=t("guidance"))
    with gr.Row():
        c.width = gr.Slider(value=run0["width"], step=8, label=t("width"), **size_range(entry))
        c.height = gr.Slider(value=run0["height"], step=8, label=t("height"), **size_range(entry))
    with gr.Row():
        c.seed = gr.Number(-1, precision=0, label=t("seed"), minimum=-1, maximum=inputs.MAX_SEED, elem_id="seed")
        c.num_images = gr.Slider(1, model_settings.MAX_IMAGES, value=1, step=1, label=t("num_images"))
    with gr.Row():
        c.lora = gr.Dropdown(
            adapter_choices(studio, entry.id if entry else None),
            value="none",
            label=t("adapter"),
            allow_custom_value=True,
            elem_id="adapter",
            scale=3,
        )
        c.lora_scale = gr.Slider(0, 2, value=1.0, step=0.05, label=t("adapter_scale"), scale=2)
    c.embed = gr.Checkbox(studio.embed_parameters, label=t("embed"))
    c.decode = gr.Radio(
        list(decoding.DECODES),
        value=decoding.FAST if studio.backend.device == "cpu" else decoding.FULL,
        label=t("decode"),
        info=t("decode_info"),
    )
    c.verify = gr.Checkbox(False, label=t("verify"))
    with gr.Row():
        c.candidates = gr.Slider(1, verify.MAX_CANDIDATES, value=4, step=1, label=t("candidates"))
        c.rounds = gr.Slider(1, verify.MAX_ROUNDS, value=2, step=1, label=t("rounds"))


def wire(studio: Studio, demo: gr.Blocks, c: SimpleNamespace) -> None:
    private = dict(api_visibility="private")
    generating = gr.on(
        [c.generate.click, c.prompt.submit],
        handler(generate, studio, gpu_seconds=120),
        inputs=[
            c.prompt,
            c.negative,
            c.model,
            c.expand_with,
            c.rewritten,
            c.steps,
            c.guidance,
            c.width,
            c.height,
            c.seed,
            c.num_images,
            c.verify,
            c.candidates,
            c.rounds,
            c.embed,
            c.explain,
            c.lora,
            c.lora_scale,
            c.decode,
        ],
        outputs=[c.gallery, c.rewritten, c.parameters, c.pngs],
        api_name="generate",
        **DRAWING,
    )
    wire_history(studio, demo, c, generating)
    explain_view.wire(studio, c, generating)
    generating.then(receipts.first, inputs=[c.parameters], outputs=[c.receipt], **private)
    c.gallery.select(receipts.picked, inputs=[c.parameters], outputs=[c.receipt], **private)
    feedback.watch_generate(studio, c, generating)
    # the flag stops a running job after its current step; cancels= drops one still waiting in the queue
    c.stop.click(handler(stop, studio), cancels=[generating], concurrency_limit=None, **private)
    c.rewrite.click(
        handler(expand, studio, gpu_seconds=30),
        inputs=[c.prompt, c.expand_with, c.seed],
        outputs=[c.rewritten],
        api_name="expand",
        **DESCRIBING,
    )
    # a new request makes the prompt shown stale: clear it in the browser, no server round trip
    c.prompt.input(None, outputs=[c.rewritten], js="() => ''", queue=False, **private)
    c.model.change(
        handler(defaults_for, studio),
        inputs=[c.model],
        outputs=[c.steps, c.guidance, c.width, c.height, c.expand_with],
        queue=False,
        **private,
    )
    # verify and refine shows every candidate: one picture per request
    c.verify.change(
        lambda on: gr.update(value=1, interactive=not on),
        inputs=[c.verify],
        outputs=[c.num_images],
        queue=False,
        **private,
    )


def wire_history(studio: Studio, demo: gr.Blocks, c: SimpleNamespace, generating) -> None:
    """History kept in the browser, and settings read from a PNG, both filling the form."""
    private = dict(api_visibility="private")
    generating.then(
        handler(history.remember, studio),
        inputs=[c.saved, c.parameters, c.pngs],
        outputs=[c.saved, c.history],
        preprocess=False,
        **private,
    )
    demo.load(handler(history.gallery, studio), inputs=[c.saved], outputs=[c.history], **private)
    c.history.select(handler(history.restore, studio), inputs=[c.saved], outputs=c.form, **private)
    c.clear_history.click(handler(history.clear, studio), outputs=[c.saved, c.history], **private)
    c.png_file.upload(
        handler(png_info, studio), inputs=[c.png_file], outputs=[c.png_settings], api_name="png_info", **DESCRIBING
    ).then(handler(fill_from_png, studio), inputs=[c.png_settings], outputs=c.form, **private)
