"""An ASGI middleware in front of Gradio's routes, for the requests Gradio would refuse or take
badly before Atelier's own code runs:

- POST /gradio_api/call/<api_name> with fewer values than the endpoint takes runs with the defaults
  for the rest (each handler treats a missing value as its default), instead of failing silently.
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

CALL = re.compile(r"^/gradio_api/call/([A-Za-z0-9_-]{1,64})/?$")
JOIN = "/gradio_api/queue/join"
MAX_BODY = 2**20  # JSON bodies only: pictures arrive through /upload
BUSY = "Atelier is busy with {n} waiting jobs; try again in a minute."
TOO_MANY = "You already have {n} jobs waiting; wait for one to finish, then send the next."


class RequestGuard:
    def __init__(self, app, blocks, per_session: int):
        self.app, self.blocks, self.per_session = app, blocks, per_session

    async def __call__(self, scope, receive, send):
        path = scope.get("path", "")
        call = CALL.match(path)
        if scope["type"] != "http" or scope.get("method") != "POST" or not (call or path == JOIN):
            return await self.app(scope, receive, send)
        body = await _read(receive)
        if body is None:
            return await JSONResponse({"detail": "The request is too large."}, 413)(scope, receive, send)
        try:
            data = json.loads(body) if body else {}
        except ValueError:
            data = None
        if isinstance(data, dict):
            if refusal := self._refusal(data, path == JOIN):
                return await JSONResponse({"detail": refusal}, 503)(scope, receive, send)
            fn = self._fn(call.group(1) if call else None, data.get("fn_index"))
            if fn is not None and (bad := first_foreign_file(fn, data.get("data"))):
                detail = [{"__type__": "validate", "is_valid": False, "message": NOT_UPLOADED, "parameter_name": bad}]
                return await JSONResponse({"detail": detail}, 422)(scope, receive, send)
            if call and fn is not None and isinstance(data.get("data"), list):
                data["data"] += [None] * (len(fn.inputs) - len(data["data"]))
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
