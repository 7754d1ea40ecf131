"""Gradio's MCP server, made fit for strangers. Its tool calls reach the app through a gradio_client over
loopback; by itself it keeps one such client (one session) for every MCP client, and answers bad calls with
its own short messages. Here:

- each MCP client (person, and MCP session where the transport has one) gets a gradio_client of its own,
  whose calls carry the person vouched (ui/people.py): limits, login and Stop hold per MCP client;
- MCP bodies are capped; error results and JSON-RPC errors are rewritten into full sentences.
"""

from __future__ import annotations

import json
import re
import threading
from collections import OrderedDict

from starlette.responses import JSONResponse

from ui.answers import answer, read_body, replay, with_length
from ui.people import VOUCH, People, header, with_header

MAX_BODY = 40 * 2**20  # a tool call may carry pictures as data: URLs
CLIENTS = 64  # MCP clients remembered at once; the least recently used one is closed first
GENERIC = "The tool call failed; check its arguments against the tool's description in tools/list."
PICTURES = "Give each picture as the URL of a result this app made, or as a data:image/png;base64 URL."


class McpBridge:
    def __init__(self, app, blocks, people: People, queue_refusal):
        self.app, self.blocks, self.people = app, blocks, people
        self.queue_refusal = queue_refusal  # person -> the guard's sentence when they may not queue more
        self._clients: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    async def __call__(self, scope, receive, send, person: str):
        server = getattr(self.blocks, "mcp_server_obj", None)
        if server is not None and not getattr(server, "_atelier_bridge", False):
            self.install(server)
        scope = with_header(scope, VOUCH, self.people.vouch(person))
        if scope.get("method") == "POST":
            body = await read_body(scope, receive, MAX_BODY)
            if body is None:
                return await answer(scope, receive, send, 413, "The request is too large.")
            if (call_id := _tool_call_id(body)) is not None and (refusal := self.queue_refusal(person)):
                reply = {"jsonrpc": "2.0", "id": call_id, "result": {"content": [_text(refusal)], "isError": True}}
                return await JSONResponse(reply)(scope, receive, send)
            scope, receive = with_length(scope, body), replay(body, receive)
        await self.app(scope, receive, sentences(send))

    def install(self, server) -> None:
        """A client per MCP client, and tool schemas a validator can follow (see hoisted)."""
        schema_of = server.get_input_schema

        def input_schema(*args, **kwargs):
            schema, positions = schema_of(*args, **kwargs)
            return hoisted(schema), positions

        server.get_input_schema = input_schema
        server._get_or_create_client = lambda: self.client_for(server)
        server._atelier_bridge = True

    def client_for(self, server):
        """The gradio_client of the MCP client behind the current tool call (made on its first call)."""
        from gradio_client import Client

        request = server.mcp_server.request_context.request
        vouch = header(request.scope, VOUCH) or ""
        key = (vouch, request.headers.get("mcp-session-id") or request.query_params.get("session_id"))
        with self._lock:
            if key in self._clients:
                self._clients.move_to_end(key)
                return self._clients[key]
        base = server.local_url or str(request.base_url).split("/gradio_api/")[0] + "/"
        client = Client(
            base,
            download_files=False,
            verbose=False,
            analytics_enabled=False,
            ssl_verify=False,
            _skip_components=False,
            headers={"x-gradio-user": "mcp", VOUCH.decode(): vouch},
        )
        with self._lock:
            self._clients[key] = client
            while len(self._clients) > CLIENTS:
                _, old = self._clients.popitem(last=False)
                old.close()
        return client


def _tool_call_id(body: bytes):
    """The JSON-RPC id of a tools/call request (None for anything else)."""
    try:
        message = json.loads(body)
    except (ValueError, RecursionError):
        return None
    if isinstance(message, dict) and message.get("method") == "tools/call" and isinstance(message.get("id"), str | int):
        return message["id"]
    return None


def _text(sentence: str) -> dict:
    return {"type": "text", "text": sentence}


def hoisted(schema: dict) -> dict:
    """The schema with each parameter's own "$defs" moved to the top (Gradio leaves them inside the
    parameter while its "$ref"s point at the top) and no "type" that is not one (see _typed): either makes
    the validator fail on every call, so the tool (repaint, caption's list, chat) could not be called."""
    schema = dict(schema)
    properties = dict(schema.get("properties") or {})
    defs = dict(schema.get("$defs") or {})
    for name, prop in properties.items():
        if isinstance(prop, dict) and "$defs" in prop:
            defs.update(prop["$defs"])
            prop = {k: v for k, v in prop.items() if k != "$defs"}
        properties[name] = _typed(prop)
    schema["properties"] = properties
    if defs:
        schema["$defs"] = defs
    return schema


def _typed(node):
    """The schema without "type" values that are not types (Gradio gives a JSON parameter "type": {}, which
    makes the validator refuse every call): such a parameter takes any value."""
    if isinstance(node, dict):
        kind = node.get("type")
        keep = not isinstance(kind, dict) and not (isinstance(kind, list) and not all(isinstance(k, str) for k in kind))
        return {k: _typed(v) for k, v in node.items() if k != "type" or keep}
    if isinstance(node, list):
        return [_typed(v) for v in node]
    return node


def sentences(send):
    """`send` with MCP error results and JSON-RPC errors rewritten as sentences (server-sent events or JSON)."""
    state: dict = {"buffer": b""}

    async def rewriting(message):
        if message["type"] == "http.response.start":
            headers = [(k, v) for k, v in message["headers"] if k.lower() != b"content-length"]
            state["sized"] = len(headers) != len(message["headers"])
            return await send({**message, "headers": headers})
        if message["type"] != "http.response.body":
            return await send(message)
        state["buffer"] += message.get("body", b"")
        more = message.get("more_body", False)
        if state["sized"] and more:
            return
        if state["sized"] or not more:
            out, state["buffer"] = _rewrite_all(state["buffer"]), b""
        else:  # a stream: pass on each complete event
            cut = state["buffer"].rfind(b"\n\n")
            if cut < 0:
                return
            out, state["buffer"] = _rewrite_all(state["buffer"][: cut + 2]), state["buffer"][cut + 2 :]
        await send({"type": "http.response.body", "body": out, "more_body": more})

    return rewriting


def _rewrite_all(body: bytes) -> bytes:
    if b"isError" not in body and b'"error"' not in body and b"Not Acceptable" not in body:
        return body
    lines = body.split(b"\n")
    for i, line in enumerate(lines):
        prefix = b"data: " if line.startswith(b"data: ") else b""
        if prefix or line.startswith(b"{"):
            lines[i] = prefix + _rewrite(line[len(prefix) :])
    return b"\n".join(lines)


def _rewrite(raw: bytes) -> bytes:
    try:
        reply = json.loads(raw)
    except ValueError:
        return raw
    if not isinstance(reply, dict):
        return raw
    result, error = reply.get("result"), reply.get("error")
    if isinstance(result, dict) and result.get("isError"):
        texts = [c.get("text", "") for c in result.get("content", []) if isinstance(c, dict)]
        result["content"] = [_text(sentence(" ".join(texts)))]
    elif isinstance(error, dict):
        error["message"] = sentence(str(error.get("message", "")), jsonrpc=True)
    else:
        return raw
    return json.dumps(reply, ensure_ascii=False).encode()


KNOWN = [
    (re.compile(r"^\d+ parameter\(s\) failed validation:\s*- [^:]*: (.*)$", re.S), lambda m: m.group(1).strip()),
    (re.compile(r"^Unknown tool for this Gradio app: (.{0,60})", re.S), lambda m: f"There is no tool '{m.group(1)}'."),
    (re.compile(r"^Invalid file data format", re.S), lambda m: PICTURES),
    (re.compile(r"^Input validation error: '?(.{0,60}?)'? is a required property", re.S), None),
    (re.compile(r"^Input validation error", re.S), lambda m: "The arguments do not fit the tool's input schema."),
    (re.compile(r"^Not Acceptable", re.S), lambda m: "Send Accept: application/json, text/event-stream."),
]


def sentence(text: str, jsonrpc: bool = False) -> str:
    """A sentence for an MCP error text: Gradio's and the MCP library's short forms mapped, Atelier's own
    sentences kept, anything else answered with a generic one."""
    text = text.strip()
    for prefix in ("Error: ", "Error executing tool ", "The upstream Gradio app has raised an exception: "):
        text = text.removeprefix(prefix)
    for pattern, make in KNOWN:
        if m := pattern.match(text):
            if make is None:
                return f"The argument '{m.group(1)}' is required; tools/list describes each one."
            text = make(m)
            break
    if readable(text):
        return text
    return "The MCP request is not one this server takes (check its JSON-RPC shape)." if jsonrpc else GENERIC


def readable(text: str) -> bool:
    return 0 < len(text) <= 300 and "\n" not in text and text[0].isupper() and text.endswith((".", "?", "!"))
