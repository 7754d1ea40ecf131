"""What the request guard checks in a call's body, on every route that runs a function: the shape of the
body, the function that will actually run (as Gradio itself picks it), its named parameters, and every
file it names. A file is either an upload of this app or a picture this app served (its own
/gradio_api/file= URL, mapped back to the file); no other URL is ever fetched."""

from __future__ import annotations

import inspect
from urllib.parse import unquote, urlsplit

import gradio as gr

from ui.files import NOT_UPLOADED, uploaded_picture
from zoo.errors import BadInput

SHAPE = {
    "call": 'Send a JSON object like {"data": [...]} with the values in the order /gradio_api/info lists them.',
    "run": 'Send a JSON object like {"data": [...]} with the values in the order /gradio_api/info lists them.',
    "join": 'Send a JSON object with "data" (a list of values), "fn_index" (a number) and "session_hash" (text).',
    "named": "Send a JSON object of the endpoint's named parameters, as /gradio_api/info lists them.",
}
FILE_ROUTE = "/gradio_api/file="
PICTURE_BLOCKS = (gr.File, gr.Image, gr.ImageEditor)


def well_formed(data, kind: str) -> bool:
    """A JSON object; with a list of values (except named calls); session_hash text, fn_index a number."""
    if not isinstance(data, dict) or (kind != "named" and not isinstance(data.get("data"), list)):
        return False
    session, index = data.get("session_hash"), data.get("fn_index")
    index_ok = type(index) is int if kind == "join" else (index is None or type(index) is int)
    return (session is None or isinstance(session, str)) and index_ok


def function_that_runs(blocks, kind: str, api_name: str | None, data: dict):
    """The function Gradio will run for this body: by fn_index where the route honours one (/run, /api,
    /queue/join), else by name; None when there is none."""
    index = data.get("fn_index") if kind in ("run", "join") else None
    if index is not None or api_name is None:
        return blocks.fns.get(index)
    return next((fn for fn in blocks.fns.values() if fn.api_name == api_name), None)


def names(fn) -> list[str]:
    """The parameter names of an endpoint's handler, one per input."""
    return list(inspect.signature(fn.fn).parameters)[: len(fn.inputs)] if fn.fn else []


def localize_files(fn, values: list) -> tuple[list, str | None]:
    """The values with every file reference checked (and this app's own file URLs mapped to their files),
    and the name of the first input that names anything else (None when all are fine)."""
    labels = names(fn)
    out = list(values)
    for index, (block, value) in enumerate(zip(fn.inputs, values)):
        if value is None:
            continue
        try:
            out[index] = _localize(block, value)
        except BadInput:
            return values, labels[index] if index < len(labels) else f"parameter_{index}"
    return out, None


def _localize(block, value):
    if isinstance(block, gr.ImageEditor) and isinstance(value, dict):
        return {k: _localize_parts(v) if k in ("background", "composite", "layers") else v for k, v in value.items()}
    if isinstance(block, PICTURE_BLOCKS):
        many = isinstance(value, list) and getattr(block, "file_count", "single") != "single"
        return [local_file(item) for item in value] if many else local_file(value)
    return _walk(value)


def _localize_parts(part):
    if part is None:
        return None
    return [local_file(p) for p in part] if isinstance(part, list) else local_file(part)


def _walk(value, depth: int = 0):
    """Any other input: every file object inside (a gallery's pictures) must be an upload too."""
    if depth > 8:
        raise BadInput(NOT_UPLOADED)
    if isinstance(value, dict):
        meta = value.get("meta")
        if isinstance(meta, dict) and meta.get("_type") == "gradio.FileData":
            return local_file(value)
        return {k: _walk(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [_walk(v, depth + 1) for v in value]
    return value


def local_file(item):
    """A file reference (FileData, or a bare path or URL) made to name a file of this app, or BadInput."""
    if isinstance(item, str):
        item = {"path": item}
    if not isinstance(item, dict):
        raise BadInput(NOT_UPLOADED)
    where = item.get("path") or item.get("url")
    if isinstance(where, str) and where.lower().startswith(("http://", "https://")):
        where = served_path(where)
    path = uploaded_picture({"path": where})
    return {**item, "path": path, "url": None, "meta": {"_type": "gradio.FileData"}}


def served_path(url: str) -> str | None:
    """The server file behind one of this app's own file URLs (any host: nothing is fetched), or None."""
    try:
        route = urlsplit(url).path
    except ValueError:
        return None
    at = route.find(FILE_ROUTE)
    return unquote(route[at + len(FILE_ROUTE) :]) if at >= 0 else None
