"""How a handler runs a model job: errors become one sentence, progress reaches the page, Stop stops it."""

from __future__ import annotations

import contextvars
import functools
import inspect
import logging
import os
import queue
import threading
import time
import traceback
import typing
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import gradio as gr

from pipelines.core.control import RunControl
from ui.i18n import in_language
from zoo.errors import AtelierError

GENERIC_ERROR = "Something went wrong on the server (it has been logged); try again, or pick another model."
log = logging.getLogger("atelier")
T = TypeVar("T")


def events(group: str, limit: int) -> dict:
    """Queue options of an event that runs a model: its concurrency group and how many run at once.
    The cache lets one job at a time use each model; other models work meanwhile (within the budget).
    Handlers take raw values (preprocess=False): the pipelines check every one."""
    return dict(concurrency_id=group, concurrency_limit=limit, preprocess=False)


DRAWING = events("draw", 8)  # text-to-image requests in flight: enough to fill a batch (pipelines/batching.py)
DESCRIBING = events("describe", 4)  # captions and prompt rewrites
LOADING = events("load", 1)


def on_zero_gpu_space() -> bool:
    """On a Hugging Face Space with the `spaces` package: GPU work runs under spaces.GPU."""
    if not os.environ.get("SPACE_ID"):
        return False
    try:
        import spaces  # noqa: F401
    except ImportError:
        return False
    return True


def gpu_task(fn, duration: int = 60):
    """The handler itself, or on ZeroGPU the handler run in a GPU worker for at most `duration` seconds.
    There each call is a fresh process: Stop relies on Gradio's cancels rather than the stop flag."""
    if on_zero_gpu_space():
        import spaces

        return spaces.GPU(duration=duration)(fn)
    return fn


def guarded(fn):
    """Atelier's errors become one sentence for the person; anything else is logged (without the
    request's text) and answered with a short generic sentence, never a traceback. Keeps fn's
    signature, which Gradio reads. Works for plain handlers and generator handlers alike."""

    def refuse(e: BaseException, args, kwargs):
        request = next((a for a in (*args, *kwargs.values()) if isinstance(a, gr.Request)), None)
        if isinstance(e, gr.Error):
            return e
        if isinstance(e, AtelierError):
            log.info("%s refused: %s", fn.__name__, type(e).__name__)
            return gr.Error(in_language(str(e), request), print_exception=False)
        # where it failed, but not the message: an exception's text may quote what the person typed
        where = "".join(traceback.format_tb(e.__traceback__))
        log.error("%s failed with %s:\n%s", fn.__name__, type(e).__name__, where)
        return gr.Error(in_language(GENERIC_ERROR, request), print_exception=False)

    if inspect.isgeneratorfunction(fn):

        @functools.wraps(fn)
        def streaming(*args, **kwargs):
            try:
                yield from fn(*args, **kwargs)
            except Exception as e:
                raise refuse(e, args, kwargs) from None

        return streaming

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except Exception as e:
            raise refuse(e, args, kwargs) from None

    return wrapper


def handler(fn, studio, gpu_seconds: int | None = None):
    """fn(studio, ...) as a Gradio handler: the studio bound, errors guarded, and on ZeroGPU run on a GPU
    for at most gpu_seconds. Gradio reads the handler's name, docstring, signature and type hints (a
    gr.Request parameter is found by its hint): they are fn's, without `studio`."""
    if inspect.isgeneratorfunction(fn):

        def bound(*args, **kwargs):
            yield from fn(studio, *args, **kwargs)
    else:

        def bound(*args, **kwargs):
            return fn(studio, *args, **kwargs)

    signature = inspect.signature(fn)
    bound.__signature__ = signature.replace(parameters=list(signature.parameters.values())[1:])  # type: ignore
    bound.__name__, bound.__qualname__, bound.__doc__ = fn.__name__, fn.__qualname__, fn.__doc__
    hints = typing.get_type_hints(fn)  # gr.Request and gr.SelectData parameters are found by their hints
    bound.__annotations__ = {k: v for k, v in hints.items() if k in signature.parameters and k != "studio"}
    wrapped = guarded(bound)
    return gpu_task(wrapped, gpu_seconds) if gpu_seconds else wrapped


class Runs:
    """The stop flags of the runs in progress, one per browser session and tab."""

    def __init__(self):
        self._flags: dict[tuple[str, str], threading.Event] = {}
        self._lock = threading.Lock()

    @staticmethod
    def key(request: gr.Request | None, tab: str) -> tuple[str, str]:
        return str(getattr(request, "session_hash", None) or id(request)), tab

    @contextmanager
    def start(self, request: gr.Request | None, tab: str, progress=None, what: str = "working") -> Iterator[RunControl]:
        """The one way to run a model job: `with runs.start(request, "generate", progress, "drawing") as control:`
        then pass the control to the backend."""
        key, flag = self.key(request, tab), threading.Event()
        with self._lock:
            self._flags[key] = flag
        try:
            yield RunControl(step_reporter(progress, what), flag)
        finally:
            with self._lock:
                if self._flags.get(key) is flag:
                    del self._flags[key]

    def stop(self, request: gr.Request | None, tab: str) -> bool:
        with self._lock:
            flag = self._flags.get(self.key(request, tab))
        if flag is not None:
            flag.set()
        return flag is not None


def streamed(work: Callable[[Callable], T]) -> Iterator[tuple[str, object]]:
    """Runs work(preview) in a thread of its own; yields ("preview", pictures) as they come, then
    ("result", value). An exception in work is raised here, in the handler's thread."""
    updates: queue.Queue = queue.Queue()

    def target():
        try:
            updates.put(("result", work(lambda pictures: updates.put(("preview", pictures)))))
        except BaseException as e:  # handed to the handler's thread
            updates.put(("error", e))

    threading.Thread(target=contextvars.copy_context().run, args=(target,), daemon=True).start()
    while True:
        kind, value = updates.get()
        if kind == "error":
            raise value
        yield kind, value
        if kind == "result":
            return


def step_reporter(progress, what: str, every_seconds: float = 0.2):
    """Step counts for the progress bar, at most one message every `every_seconds`: a fast run sends none."""
    if progress is None:
        return None
    last = [time.monotonic()]

    def report(done: int, total: int) -> None:
        now = time.monotonic()
        if now - last[0] >= every_seconds:
            last[0] = now
            progress(done / max(total, 1), desc=f"{what}: step {done} of {total}")

    return report
