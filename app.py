"""Atelier's browser studio: the Gradio Blocks UI over pipelines/, and the command line that starts it.

    python app.py [--host 127.0.0.1] [--port 7860] [--share] [--offline] [--registry FILE] [--memory-budget GB]

Every tab is also an API endpoint: /generate (prompt, ...), /stylize (image, style, ...),
/caption (image, ...) and /expand (prompt, ...); `Client(url).view_api()` lists their parameters.
The events pass raw values to the handlers (preprocess=False): every number, model id and picture
is checked by pipelines/, so a bad request gets the pipelines' own sentence, in the UI and the API.
"""
from __future__ import annotations

import argparse
import atexit
import functools
import logging
import os
import shutil
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import gradio as gr

from pipelines import captioning, metadata, prompt_expansion, style_transfer, text2image, verify
from zoo import hub
from zoo.cache import ModelCache
from zoo.errors import AtelierError, BadInput
from zoo.registry import DEFAULT_REGISTRY, ModelEntry, load_registry

ASSETS = Path(__file__).resolve().parent / "assets"
NONE = "none"  # "Expand with: none" draws the text as it is
GPU = "gpu"  # the concurrency group of every event that runs a model: one job at a time
QUEUE_SIZE = 32
EXAMPLE_PROMPTS = [
    "big red ball on the left",
    "an outlined tiny blue box up top on a dark background",
    "two shapes: a green triangle to the left and a violet plus to the right",
]
STYLE_EXAMPLES = [("two-shapes.png", "outline style"), ("green-triangle-outline.png", "flat style"),
                  ("purple-cross-yellow-circle.png", "outline style")]
GENERIC_ERROR = "Something went wrong on the server (it has been logged); try again, or pick another model."

log = logging.getLogger("atelier")


# ------------------------------------------------------------------ plumbing

def on_zero_gpu_space() -> bool:
    """On a Hugging Face Space with the `spaces` package: GPU work runs under spaces.GPU."""
    if not os.environ.get("SPACE_ID"):
        return False
    try:
        import spaces  # noqa: F401
    except ImportError:
        return False
    return True


def gpu_task(fn):
    if on_zero_gpu_space():
        import spaces

        return spaces.GPU(fn)
    return fn


def guarded(fn):
    """Turns Atelier's errors into one sentence for the person; anything else is logged and answered
    with a short generic sentence, never a traceback. Keeps fn's signature (Gradio reads it)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except gr.Error:
            raise
        except AtelierError as e:
            log.info("%s refused: %s", fn.__name__, e)
            raise gr.Error(str(e), print_exception=False) from None
        except Exception:
            log.exception("%s failed", fn.__name__)
            raise gr.Error(GENERIC_ERROR, print_exception=False) from None

    return wrapper


class Runs:
    """The stop flags of the runs in progress, one per browser session and tab."""

    def __init__(self):
        self._flags: dict[tuple[str, str], threading.Event] = {}
        self._lock = threading.Lock()

    @staticmethod
    def key(request: gr.Request | None, tab: str) -> tuple[str, str]:
        return str(getattr(request, "session_hash", None) or id(request)), tab

    @contextmanager
    def start(self, key: tuple[str, str]):
        flag = threading.Event()
        with self._lock:
            self._flags[key] = flag
        try:
            yield flag
        finally:
            with self._lock:
                if self._flags.get(key) is flag:
                    del self._flags[key]

    def flag(self, key: tuple[str, str]) -> threading.Event | None:
        with self._lock:
            return self._flags.get(key)

    def stop(self, key: tuple[str, str]) -> bool:
        flag = self.flag(key)
        if flag is not None:
            flag.set()
        return flag is not None


class Downloads:
    """PNG files offered for download, carrying their generation parameters, in this app's temp folder."""

    def __init__(self, keep_seconds: float = 3600):
        self.root = Path(tempfile.mkdtemp(prefix="atelier-"))
        self.keep_seconds = keep_seconds
        atexit.register(shutil.rmtree, self.root, ignore_errors=True)

    def save(self, images, parameters: list[dict]) -> list[str]:
        self._prune()
        folder = Path(tempfile.mkdtemp(dir=self.root))
        return [str(metadata.save_png(image, folder / f"atelier-{i:02d}-seed{p.get('seed')}.png", p))
                for i, (image, p) in enumerate(zip(images, parameters))]

    def _prune(self) -> None:
        for old in self.root.iterdir():
            if time.time() - old.stat().st_mtime > self.keep_seconds:
                shutil.rmtree(old, ignore_errors=True)


def picture_path(payload) -> str:
    """The server-side path of an uploaded picture (the raw value of a gr.Image or gr.File).

    Gradio has already checked that the file was uploaded through it; a bare string is refused, so
    no request can name another file on the server."""
    if payload is None:
        raise BadInput("No picture was given; upload one.")
    path = payload.get("path") if isinstance(payload, dict) else getattr(payload, "path", None)
    if not path:
        raise BadInput("Send the picture as an uploaded file.")
    return str(path)


def with_parameters(image, params: dict):
    """The picture with its parameters in its info: PNGs Gradio writes from it carry them too."""
    image.info["parameters"] = metadata.to_text(params)
    return image


def progress_reporter(progress, what: str):
    return lambda done, total: progress(done / max(total, 1), desc=f"{what}: step {done} of {total}")


def _choices(entries: list[ModelEntry]) -> list[str]:
    return [e.id for e in entries]


def _default_id(cache: ModelCache, task: str) -> str | None:
    try:
        return cache.registry.default(task).id
    except AtelierError:
        return None


def _expander_value(entry: ModelEntry | None) -> str:
    return entry.expander if entry is not None and entry.expander else NONE


def zoo_rows(cache: ModelCache) -> list[list]:
    return [[e.id, e.task, e.licence, f"{e.memory_gb:g} GB", cache.state(e), e.description]
            for e in cache.registry.entries.values()]


def startup_summary(cache: ModelCache) -> str:
    lines = [f"Atelier: {len(cache.registry.entries)} models in {cache.registry.source}, running on {cache.device} "
             f"with a memory budget of {cache.budget_bytes / 2**30:.1f} GB"]
    lines += [f"  {e.id:<48} {e.task:<17} {cache.state(e)}" for e in cache.registry.entries.values()]
    return "\n".join(lines)


# ------------------------------------------------------------------ the UI

def build_app(cache: ModelCache) -> gr.Blocks:
    registry = cache.registry
    runs, downloads = Runs(), Downloads()
    t2i = registry.for_task("text-to-image")
    expanders = registry.for_task("prompt-expansion")
    captioners = registry.for_task("captioning")
    t2i_default = _default_id(cache, "text-to-image")
    entry0 = registry.entries.get(t2i_default) if t2i_default else None
    run0 = text2image.settings(entry0) if entry0 else {"steps": 25, "guidance": 7.5, "width": 512, "height": 512}
    expander_choices = [(NONE, NONE)] + [(e.id, e.id) for e in expanders]

    @gpu_task
    def run_model(job, args: tuple = (), kwargs: dict | None = None, steps: str | None = None,
                  stop: tuple[str, str] | None = None):
        """Every call that runs a model goes through here. On ZeroGPU this runs in a GPU worker process,
        so it takes plain values only and makes its own per-step progress (`steps` names the work) and
        stop flag (looked up by key; there, Stop relies on Gradio's cancels instead)."""
        kwargs = dict(kwargs or {})
        if steps:
            kwargs["progress"] = progress_reporter(gr.Progress(), steps)
        if stop:
            kwargs["cancel"] = runs.flag(stop)
        return job(cache, *args, **kwargs)

    # ---------------------------------------------------------------- handlers

    @guarded
    def generate(prompt, negative_prompt=None, model=None, expand_with=None, rewritten_prompt=None, steps=None,
                 guidance=None, width=None, height=None, seed=None, num_images=None, verify_and_refine=None,
                 candidates=None, rounds=None, expanded_last=None, request: gr.Request = None,
                 progress=gr.Progress()):
        """Draws pictures for a request. `rewritten_prompt`, when given, is drawn as it is (no expansion);
        otherwise `expand_with` (a prompt-expansion model id, or "none") rewrites `prompt` first."""
        rewritten = " ".join(str(rewritten_prompt or "").split())
        # the person edited the prompt shown (or an API caller gave one): draw exactly that text
        as_is = bool(rewritten) and rewritten != " ".join(str(expanded_last or "").split())
        text = rewritten if as_is else prompt
        # "" (not None) means no expansion at all; None would let a starter-world model pick its own
        expander = "" if as_is or expand_with in (None, "", NONE) else expand_with
        progress(0, desc="loading models and rewriting the request" if expander else "loading the model")
        key = runs.key(request, "generate")
        with runs.start(key):
            if verify_and_refine:
                result = run_model(verify.generate_verified, (text,), dict(
                    model_id=model or None, seed=seed, candidates=candidates, rounds=rounds, expand_with=expander,
                    steps=steps, guidance=guidance, negative_prompt=negative_prompt), "drawing candidates", key)
            else:
                result = run_model(text2image.generate, (text, negative_prompt), dict(
                    model_id=model or None, steps=steps, guidance=guidance, width=width, height=height, seed=seed,
                    num_images=num_images, expand_with=expander), "drawing", key)
        if verify_and_refine:
            captions, scores = result.extra.get("captions", []), result.extra.get("scores", [])
            labels = [f"score {s:.2f} — {c}" for s, c in zip(scores, captions)]
        else:
            labels = [f"seed {p['seed']}" for p in result.parameters]
        gallery = [(with_parameters(im, p), label) for im, p, label in zip(result.images, result.parameters, labels)]
        shown = {"prompt used": result.used_prompt, "pictures": result.parameters}
        if verify_and_refine:
            shown.update(result.extra)
        files = downloads.save(result.images, result.parameters)
        return gallery, result.used_prompt, shown, files, None if as_is else result.used_prompt

    @guarded
    def expand(prompt, expand_with=None, seed=None, progress=gr.Progress()):
        """Rewrites a request into a prompt with a prompt-expansion model (default: the starter prompter)."""
        if expand_with in (None, "", NONE):
            raise BadInput("Pick a prompt-expansion model in 'Expand with' to rewrite the request.")
        progress(0, desc="rewriting the request")
        text = run_model(prompt_expansion.expand, (prompt, expand_with, seed))
        return text, None  # None: the text shown is drawn as it is by the next Generate

    @guarded
    def stylize(image, style=None, model=None, strength=None, seed=None, request: gr.Request = None,
                progress=gr.Progress()):
        """Redraws a picture in a style ("outline style", "flat style") with a text-to-image model."""
        path = picture_path(image)
        progress(0, desc="describing the picture")
        key = runs.key(request, "stylize")
        with runs.start(key):
            result = run_model(style_transfer.stylize, (path, style),
                               dict(model_id=model or None, strength=strength, seed=seed), "redrawing", key)
        files = downloads.save([result.image], [result.parameters])
        return with_parameters(result.image, result.parameters), result.used_prompt, result.caption or "", files[0]

    @guarded
    def caption(image, images=None, model=None, progress=gr.Progress()):
        """Describes one picture (`image`) and/or several (`images`) with a captioning model."""
        files = list(images or [])
        batch = ([picture_path(image)] if image is not None else []) + [picture_path(f) for f in files]
        progress(0, desc="describing")
        texts = run_model(captioning.caption, (batch,), dict(model_id=model or None))
        first, rest = (texts[0], texts[1:]) if image is not None else ("", texts)
        names = [(f.get("orig_name") if isinstance(f, dict) else None) or Path(picture_path(f)).name for f in files]
        return first, [[n, t] for n, t in zip(names, rest)]

    @guarded
    def defaults_for(model):
        """The selected model's recommended settings, and its own prompt expander."""
        entry = registry.entries.get(model)
        if entry is None or entry.task != "text-to-image":
            return [gr.update()] * 5
        run = text2image.settings(entry)
        return run["steps"], run["guidance"], run["width"], run["height"], _expander_value(entry)

    @guarded
    def style_defaults_for(model):
        entry = registry.entries.get(model)
        return entry.defaults.get("strength", 0.6) if entry is not None else gr.update()

    def stop_generate(request: gr.Request):
        if runs.stop(runs.key(request, "generate")):
            gr.Info("Stopping after the current step.")

    def stop_stylize(request: gr.Request):
        if runs.stop(runs.key(request, "stylize")):
            gr.Info("Stopping after the current step.")

    @guarded
    def load_model(model_id):
        run_model(ModelCache.get, (model_id,))
        return zoo_rows(cache), f"Loaded **{model_id}**."

    @guarded
    def unload_model(model_id):
        if cache.unload(model_id):
            message = f"Unloaded **{model_id}**."
        elif model_id in cache.loaded():
            message = f"**{model_id}** is busy with a job; unload it when the job is done."
        else:
            message = f"**{model_id}** is not loaded."
        return zoo_rows(cache), message

    @guarded
    def refresh():
        return zoo_rows(cache)

    # ---------------------------------------------------------------- layout

    run_events = dict(concurrency_id=GPU, concurrency_limit=1, preprocess=False)
    with gr.Blocks(title="Atelier", analytics_enabled=False, delete_cache=(3600, 3600)) as demo:
        gr.Markdown("# Atelier\nLanguage-guided picture making with a model zoo that works offline.")
        with gr.Tab("Generate", id="generate"):
            with gr.Row():
                with gr.Column(scale=2):
                    prompt = gr.Textbox(label="Request", placeholder=EXAMPLE_PROMPTS[0], lines=2, max_lines=6,
                                        elem_id="request")
                    with gr.Row(equal_height=True):
                        expand_with = gr.Dropdown(expander_choices, value=_expander_value(entry0), label="Expand with",
                                                  scale=4)
                        rewrite_button = gr.Button("Rewrite", scale=1, min_width=90, size="md")
                    rewritten = gr.Textbox(label="Prompt used", lines=2, max_lines=6, elem_id="rewritten",
                                           info="Edit it and press Generate to draw exactly this text.")
                    negative = gr.Textbox(label="Negative prompt", placeholder="what to keep out")
                    model = gr.Dropdown(_choices(t2i), value=t2i_default, label="Model")
                    with gr.Accordion("Settings", open=True):
                        with gr.Row():
                            steps = gr.Slider(1, text2image.MAX_STEPS, value=run0["steps"], step=1, label="Steps")
                            guidance = gr.Slider(0, 30, value=run0["guidance"], step=0.5, label="Guidance")
                        with gr.Row():
                            width = gr.Slider(64, 2048, value=run0["width"], step=8, label="Width")
                            height = gr.Slider(64, 2048, value=run0["height"], step=8, label="Height")
                        with gr.Row():
                            seed = gr.Number(-1, precision=0, label="Seed (-1: random)")
                            num_images = gr.Slider(1, text2image.MAX_IMAGES, value=1, step=1, label="Number of images")
                    with gr.Group():
                        verify_box = gr.Checkbox(False, label="Verify and refine (caption every candidate, keep the "
                                                              "best, rewrite the prompt when none matches)")
                        with gr.Row():
                            candidates = gr.Slider(1, verify.MAX_CANDIDATES, value=4, step=1, label="Candidates (N)")
                            rounds = gr.Slider(1, verify.MAX_ROUNDS, value=2, step=1, label="Rounds (R)")
                    with gr.Row():
                        generate_button = gr.Button("Generate", variant="primary", elem_id="generate-button")
                        stop_generate_button = gr.Button("Stop", variant="stop")
                    gr.Examples([[p] for p in EXAMPLE_PROMPTS], inputs=[prompt], label="Example requests")
                with gr.Column(scale=3):
                    gallery = gr.Gallery(label="Pictures", format="png", columns=4, height="auto", preview=False,
                                         fit_columns=False, object_fit="contain", elem_id="gallery")
                    parameters = gr.JSON(label="Parameters")
                    pngs = gr.File(label="PNG files", file_count="multiple")
            expanded_last = gr.State(None)  # the prompt the app itself expanded last: not an edit

        with gr.Tab("Style transfer", id="style"):
            with gr.Row():
                with gr.Column():
                    style_image = gr.Image(label="Picture", type="filepath", sources=["upload", "clipboard"])
                    style = gr.Textbox(label="Style", value="outline style", placeholder="outline style, flat style")
                    style_model = gr.Dropdown(_choices(t2i), value=t2i_default, label="Model")
                    strength = gr.Slider(0.05, 1, step=0.05, label="Strength",
                                         value=entry0.defaults.get("strength", 0.6) if entry0 else 0.6)
                    style_seed = gr.Number(-1, precision=0, label="Seed (-1: random)")
                    with gr.Row():
                        stylize_button = gr.Button("Stylize", variant="primary")
                        stop_stylize_button = gr.Button("Stop", variant="stop")
                    examples = [[str(ASSETS / f), s] for f, s in STYLE_EXAMPLES if (ASSETS / f).is_file()]
                    if examples:
                        gr.Examples(examples, inputs=[style_image, style], label="Example pictures")
                with gr.Column():
                    style_out = gr.Image(label="Result", format="png", type="pil", interactive=False)
                    style_prompt = gr.Textbox(label="Prompt used", interactive=False)
                    style_caption = gr.Textbox(label="Caption", interactive=False)
                    style_png = gr.File(label="PNG file")

        with gr.Tab("Caption", id="caption"):
            with gr.Row():
                with gr.Column():
                    caption_image = gr.Image(label="Picture", type="filepath", sources=["upload", "clipboard"])
                    caption_files = gr.File(label="Or several pictures", file_count="multiple", file_types=["image"])
                    caption_model = gr.Dropdown(_choices(captioners), value=_default_id(cache, "captioning"),
                                                label="Model")
                    caption_button = gr.Button("Caption", variant="primary")
                    examples = [[str(ASSETS / f)] for f, _ in STYLE_EXAMPLES if (ASSETS / f).is_file()]
                    if examples:
                        gr.Examples(examples, inputs=[caption_image], label="Example pictures")
                with gr.Column():
                    caption_text = gr.Textbox(label="Caption", interactive=False)
                    caption_table = gr.Dataframe(headers=["file", "caption"], label="Captions",
                                                 interactive=False, wrap=True)

        with gr.Tab("Zoo", id="zoo") as zoo_tab:
            gr.Markdown(
                f"Models run on **{cache.device}** with a memory budget of **{cache.budget_bytes / 2**30:.1f} GB**; "
                "they load on first use and the least recently used ones are unloaded to make room."
                + (" The hub is **offline**: only models already on this machine can load." if hub.offline() else ""))
            zoo_table = gr.Dataframe(zoo_rows(cache), interactive=False, wrap=True,
                                     headers=["id", "task", "licence", "memory", "state", "description"])
            with gr.Row():
                zoo_model = gr.Dropdown(list(registry.entries), value=t2i_default, label="Model", scale=3)
                with gr.Column(scale=2):
                    with gr.Row():
                        load_button = gr.Button("Load", variant="primary", min_width=80)
                        unload_button = gr.Button("Unload", min_width=80)
                        refresh_button = gr.Button("Refresh", min_width=80)
            zoo_status = gr.Markdown()

        # ------------------------------------------------------------ events
        generating = gr.on(
            [generate_button.click, prompt.submit], generate,
            inputs=[prompt, negative, model, expand_with, rewritten, steps, guidance, width, height, seed, num_images,
                    verify_box, candidates, rounds, expanded_last],
            outputs=[gallery, rewritten, parameters, pngs, expanded_last], api_name="generate", **run_events)
        # the flag stops a running job after its current step; cancels= drops one still waiting in the queue
        stop_generate_button.click(stop_generate, cancels=[generating], concurrency_limit=None,
                            api_visibility="private")
        rewrite_button.click(expand, inputs=[prompt, expand_with, seed], outputs=[rewritten, expanded_last],
                             api_name="expand", **run_events)
        # a new request makes the prompt shown stale: clear it in the browser, no server round trip
        prompt.input(None, outputs=[rewritten], js="() => ''", api_visibility="private", queue=False)
        model.change(defaults_for, inputs=[model], outputs=[steps, guidance, width, height, expand_with],
                     api_visibility="private", queue=False)
        # verify and refine draws N candidates at the model's own size
        verify_box.change(lambda on: [gr.update(interactive=not on)] * 3, inputs=[verify_box],
                          outputs=[width, height, num_images], api_visibility="private", queue=False)

        stylizing = stylize_button.click(stylize, inputs=[style_image, style, style_model, strength, style_seed],
                                         outputs=[style_out, style_prompt, style_caption, style_png],
                                         api_name="stylize", **run_events)
        stop_stylize_button.click(stop_stylize, cancels=[stylizing], concurrency_limit=None,
                                  api_visibility="private")
        style_model.change(style_defaults_for, inputs=[style_model], outputs=[strength], api_visibility="private",
                           queue=False)

        caption_button.click(caption, inputs=[caption_image, caption_files, caption_model],
                             outputs=[caption_text, caption_table], api_name="caption", **run_events)

        load_button.click(load_model, inputs=[zoo_model], outputs=[zoo_table, zoo_status], api_visibility="private",
                          concurrency_id=GPU, concurrency_limit=1)
        unload_button.click(unload_model, inputs=[zoo_model], outputs=[zoo_table, zoo_status],
                            api_visibility="private", queue=False)
        refresh_button.click(refresh, outputs=[zoo_table], api_visibility="private", queue=False)
        zoo_tab.select(refresh, outputs=[zoo_table], api_visibility="private", queue=False)
    demo.queue(max_size=QUEUE_SIZE, default_concurrency_limit=1)
    return demo


# ------------------------------------------------------------------ command line

def go_offline() -> None:
    """No network, ever: for huggingface_hub (already imported by gradio) and for what imports it later."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    from huggingface_hub import constants

    constants.HF_HUB_OFFLINE = True


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python app.py", description="Atelier: the browser studio and its API.")
    # a Hugging Face Space sets GRADIO_SERVER_NAME=0.0.0.0: honour it, or the Space cannot reach the app
    p.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
                   help="interface to listen on (0.0.0.0: every interface; default 127.0.0.1)")
    p.add_argument("--port", type=int, default=int(os.environ.get("GRADIO_SERVER_PORT", 7860)))
    p.add_argument("--share", action="store_true", help="also open a public Gradio share link (it expires)")
    p.add_argument("--offline", action="store_true", help="never touch the network; serve the starter zoo")
    p.add_argument("--registry", default=str(DEFAULT_REGISTRY), help="the model registry (default: zoo/registry.toml)")
    p.add_argument("--memory-budget", type=float, metavar="GB",
                   help="memory the loaded models may hold (default: most of the free GPU memory, or half the "
                        "free system memory)")
    return p.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per HTTP request otherwise
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    if args.offline or (not hub.offline() and not hub.reachable()):
        go_offline()
        reason = "" if args.offline else "The Hugging Face Hub cannot be reached. "
        print(f"{reason}Offline: serving the starter zoo (and hub models already in the local cache); "
              "nothing is downloaded.")
    budget = args.memory_budget
    if budget is None and on_zero_gpu_space():
        budget = 40.0  # ZeroGPU: the GPU cannot be queried outside spaces.GPU; a slice has about 70 GB
    try:
        cache = ModelCache(load_registry(args.registry), budget_gb=budget)
    except AtelierError as e:
        sys.exit(f"atelier: {e}")
    print(startup_summary(cache), flush=True)
    if on_zero_gpu_space():
        # ZeroGPU runs each GPU call in a worker process: models loaded there would not stay, so the
        # default models load now, in the main process (the starter ones are small)
        default = cache.registry.default("text-to-image")
        for model_id in filter(None, (default.id, default.expander, default.captioner)):
            try:
                cache.get(model_id)
            except AtelierError as e:
                print(f"atelier: {e}")
    if args.share:
        print("The share link is public: anyone with it can use this app until it expires.")
    build_app(cache).launch(server_name=args.host, server_port=args.port, share=args.share,
                            allowed_paths=[str(ASSETS)], show_error=False)


if __name__ == "__main__":
    main()
