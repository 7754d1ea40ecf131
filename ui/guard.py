"""An ASGI middleware in front of Gradio's routes, for the requests Gradio would refuse or take
badly before Atelier's own code runs:

- POST /gradio_api/call/<api_name> (and /run/) with fewer values than the endpoint takes runs with the
  defaults for the rest (each handler treats a missing value as its default), instead of failing silently.
- A body of the wrong shape (not JSON, not an object, "data" not a list) gets a sentence that says the shape.
- A picture input that names anything but a file uploaded to this app is refused with one sentence,
  before Gradio would touch the path (the same sentence whether or not the file exists).
- One browser session may have at most `per_session` jobs waiting or running: a crowd shares the queue.
- A full queue is answered with a sentence that says to retry.
"""

from __future__ import annotations

import inspect
import json
import re

import gradio as gr
from starlette.responses import JSONResponse

from ui.files import NOT_UPLOADED, uploaded_picture
from zoo.errors import BadInput

# the routes that take a call's values: (kind, api name) from the path
ROUTES = [
    (re.compile(r"^/gradio_api/call/v2/([A-Za-z0-9_-]{1,64})/?$"), "named"),
    (re.compile(r"^/gradio_api/(?:call|run)/([A-Za-z0-9_-]{1,64})/?$"), "values"),
    (re.compile(r"^/gradio_api/queue/join/?$"), "join"),
]
MAX_BODY = 2**20  # JSON bodies only: pictures arrive through /upload
BUSY = "Atelier is busy with {n} waiting jobs; try again in a minute."
TOO_MANY = "You already have {n} jobs waiting; wait for one to finish, then send the next."
SHAPE = {
    "values": 'Send a JSON object like {"data": [...]} with the values in the order /gradio_api/info lists them.',
    "join": 'Send a JSON object with "data" (a list of values), "fn_index" (a number) and "session_hash" (text).',
    "named": "Send a JSON object of the endpoint's named parameters, as /gradio_api/info lists them.",
}


class RequestGuard:
    def __init__(self, app, blocks, per_session: int):
        self.app, self.blocks, self.per_session = app, blocks, per_session

    async def __call__(self, scope, receive, send):
        route = _route(scope)
        if route is None:
            return await self.app(scope, receive, send)
        kind, api_name = route
        if api_name == "predict":  # Gradio's own /run/predict names the event by fn_index in the body
            api_name = None
        body = await _read(receive)
        if body is None:
            return await _answer(scope, receive, send, 413, "The request is too large.")
        try:
            data = json.loads(body) if body else None
        except (ValueError, RecursionError):  # not JSON, or nested past what a parser should follow
            data = None
        values = data.get("data") if isinstance(data, dict) else None
        if not _well_formed(data, kind, values):
            return await _answer(scope, receive, send, 422, SHAPE[kind])
        if refusal := self._refusal(data, kind == "join"):
            return await _answer(scope, receive, send, 503, refusal)
        fn = self._fn(api_name, data.get("fn_index"))
        if fn is None and api_name is not None:
            return await _answer(
                scope, receive, send, 404, f"There is no endpoint '/{api_name}'; /gradio_api/info lists them."
            )
        if fn is not None:
            if kind == "named":
                if unknown := set(data) - set(_names(fn)) - {"oauth_token"}:
                    return await _answer(
                        scope, receive, send, 422, f"/{api_name} takes no parameter '{sorted(unknown)[0][:40]}'."
                    )
                values = _positional(fn, data)
                body = json.dumps({**dict(zip(_names(fn), values)), **data}).encode()  # missing ones: defaults
            if bad := first_foreign_file(fn, values):
                detail = [{"__type__": "validate", "is_valid": False, "message": NOT_UPLOADED, "parameter_name": bad}]
                return await JSONResponse({"detail": detail}, 422)(scope, receive, send)
            if kind == "values" and len(values) < len(fn.inputs):
                data["data"] = values + [None] * (len(fn.inputs) - len(values))
                body = json.dumps(data).encode()
        return await self.app(_with_length(scope, body), _replay(body, receive), send)

    def _refusal(self, data: dict, joins: bool) -> str | None:
        queue = self.blocks._queue
        if queue.max_size is not None and len(queue) >= queue.max_size:
            return BUSY.format(n=len(queue))
        session = data.get("session_hash")
        if joins and isinstance(session, str):
            waiting = len(queue.pending_event_ids_session.get(session, ()))
            if waiting >= self.per_session:
                return TOO_MANY.format(n=waiting)
        return None

    def _fn(self, api_name: str | None, fn_index):
        for key, fn in self.blocks.fns.items():
            if (api_name is not None and fn.api_name == api_name) or (api_name is None and key == fn_index):
                return fn
        return None


def _route(scope) -> tuple[str, str | None] | None:
    if scope["type"] != "http" or scope.get("method") != "POST":
        return None
    for pattern, kind in ROUTES:
        if m := pattern.match(scope.get("path", "")):
            return kind, (m.group(1) if m.groups() else None)
    return None


async def _answer(scope, receive, send, status: int, sentence: str) -> None:
    await JSONResponse({"detail": sentence}, status)(scope, receive, send)


def _well_formed(data, kind: str, values) -> bool:
    """A JSON object; with a list of values (except named calls); session_hash a string, fn_index a number."""
    if not isinstance(data, dict) or (kind != "named" and not isinstance(values, list)):
        return False
    session, index = data.get("session_hash"), data.get("fn_index")
    return (session is None or isinstance(session, str)) and (index is None or type(index) is int)


def _names(fn) -> list[str]:
    """The parameter names of an endpoint's handler, one per input."""
    return list(inspect.signature(fn.fn).parameters)[: len(fn.inputs)] if fn.fn else []


def _positional(fn, named: dict) -> list:
    """The values of a call by parameter name, in the handler's order (missing ones None)."""
    return [named.get(name) for name in _names(fn)]


def first_foreign_file(fn, values) -> str | None:
    """The name of the first picture input that names anything but a file uploaded to this app."""
    if not isinstance(values, list):
        return None
    names = inspect.signature(fn.fn).parameters if fn.fn else {}
    for index, (block, value) in enumerate(zip(fn.inputs, values)):
        if isinstance(block, gr.File | gr.Image | gr.ImageEditor) and value is not None:
            items = _file_items(block, value)
            if not all(_uploaded(item) for item in items):
                return list(names)[index] if index < len(names) else f"parameter_{index}"
    return None


def _file_items(block, value) -> list:
    """The file references a picture input's value holds: one, a list, or an ImageEditor's parts."""
    if isinstance(block, gr.ImageEditor):
        if not isinstance(value, dict):
            return [value]
        parts = [value.get("background"), value.get("composite"), *(value.get("layers") or [])]
        return [p for p in parts if p is not None]
    if isinstance(value, list) and getattr(block, "file_count", "single") != "single":
        return value
    return [value]


def _uploaded(item) -> bool:
    try:
        uploaded_picture(item)
        return True
    except BadInput:
        return False


async def _read(receive) -> bytes | None:
    chunks, size = [], 0
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


def _replay(body: bytes, receive_more):
    """The body once, then whatever the client sends next (its disconnect)."""
    sent = False

    async def receive():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive_more()

    return receive


def _with_length(scope, body: bytes):
    headers = [(k, v) for k, v in scope["headers"] if k.lower() != b"content-length"]
    return dict(scope, headers=headers + [(b"content-length", str(len(body)).encode())])
