"""The request guard's plumbing: reading a capped body, passing it on, answering with a sentence, and
rewriting error answers so that none names a server path (Gradio's "Cannot move <dir>/x ..." messages)."""

from __future__ import annotations

import os
import re
import sys
import tempfile
from pathlib import Path

from starlette.responses import JSONResponse

NOT_OURS = "That file is not one this app received or made; upload it and try again."
CANNOT_MOVE = re.compile(r"Cannot move [^\"\n]*?(?:allowed_paths parameter of launch\(\)\.|uploaded by a user\.|\)\.)")
ERROR_MARKS = (b'"success": false', b'"success":false', b"event: error", b'"isError": true', b'"isError":true')


def server_folders() -> list[bytes]:
    """Folders whose names an error answer must not carry (longest first, so the deepest is replaced)."""
    folders = {Path(__file__).resolve().parent.parent, Path.cwd(), Path.home(), Path(sys.prefix)}
    folders |= {Path(tempfile.gettempdir()), Path(os.environ.get("GRADIO_TEMP_DIR", tempfile.gettempdir()))}
    return sorted({str(f).encode() for f in folders if len(str(f)) > 1}, key=len, reverse=True)


FOLDERS = server_folders()


def scrub(body: bytes) -> bytes:
    """An error answer with Gradio's path-naming messages replaced and no server folder named."""
    if b"Cannot move" in body:
        body = CANNOT_MOVE.sub(NOT_OURS, body.decode("utf-8", "replace")).encode()
    for folder in FOLDERS:
        body = body.replace(folder + b"/", b"").replace(folder, b"the server")
    return body


def scrubbed(send):
    """`send` that scrubs every error answer: a status of 400 or more (buffered, its length fixed) or an
    error event in a stream."""
    state: dict = {}

    async def scrubbing(message):
        if message["type"] == "http.response.start":
            state["error"] = message["status"] >= 400
            if state["error"]:
                state["start"], state["body"] = message, bytearray()
                return
            return await send(message)
        if message["type"] != "http.response.body":
            return await send(message)
        if state.get("error"):
            state["body"].extend(message.get("body", b""))
            if message.get("more_body"):
                return
            body = scrub(bytes(state["body"]))
            start = state["start"]
            headers = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
            await send({**start, "headers": [*headers, (b"content-length", str(len(body)).encode())]})
            return await send({"type": "http.response.body", "body": body})
        chunk = message.get("body", b"")
        if any(mark in chunk for mark in ERROR_MARKS):
            message = {**message, "body": scrub(chunk)}
        await send(message)

    return scrubbing


async def answer(scope, receive, send, status: int, sentence) -> None:
    await JSONResponse({"detail": sentence}, status)(scope, receive, send)


async def read_body(scope, receive, limit: int) -> bytes | None:
    """The request's body, or None when it is over `limit` bytes (told by Content-Length: nothing is read)."""
    for key, value in scope.get("headers", ()):
        if key.lower() == b"content-length" and value.isdigit() and int(value) > limit:
            return None
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return b"".join(chunks)
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


def replay(body: bytes, receive_more):
    """The body once, then whatever the client sends next (its disconnect)."""
    sent = False

    async def receive():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive_more()

    return receive


def with_length(scope, body: bytes):
    headers = [(k, v) for k, v in scope["headers"] if k.lower() != b"content-length"]
    return dict(scope, headers=headers + [(b"content-length", str(len(body)).encode())])
