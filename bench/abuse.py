"""A reliability check anyone can run: start the app and try what a stranger might.

    python -m bench.abuse [--clients 50] [--skip-crowd] [--skip-checkpoints]

It starts `python app.py --offline` on a free loopback port and sends
(a) over a thousand bad inputs through raw HTTP (every Gradio route that takes a call: /call, /call/v2, /run,
    /queue/join; the upload route, the file routes, the MCP server's tools) and through gradio_client:
    empty, over-long and non-text prompts; NaN, inf, negative, huge and string numbers; unknown and
    path-trick model ids; files that are not pictures, decompression bombs, truncated PNGs, uploads over
    the size limit; server paths with and without Gradio's FileData marker, symlinks, traversal,
    URL-encoding, folders, /proc/self/environ, the app's sources and weights, on every endpoint that takes
    a picture; wrong JSON shapes. Every answer is classified (see `classify`); an existing file and its
    missing twin must get the same answer;
(b) a crowd: N gradio_client clients each sending /expand, /caption and /generate at once;
(c) broken checkpoints: the starter prompter truncated, with a corrupted header (garbled, or a length past
    the end), with wrong tensor shapes, with its tokenizer or its weights missing and with invalid config
    JSON, each on a copy of zoo/;
(d) good /generate requests sent at once with bad ones that pass the checks: each good one must be answered;
(e) round two (bench/hardening.py): the PNG reader, per-person limits, every route, picture URLs, history,
    uploads, leaks, MCP, and the login on a second app started with --auth, each answered within 2 s while
    a bystander keeps being served. The app runs with --trust-proxy so that the bench's clients can stand
    for different people (X-Forwarded-For); everything stays on loopback.
It prints the counts per outcome and exits non-zero when a file is read or revealed, an error comes
without a readable sentence, a request hangs, the server dies, the crowd is not answered in full, a
broken checkpoint does not get its clear sentence, or a good request fails for a bad one beside it.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import zlib
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import httpx

REPO = Path(__file__).resolve().parent.parent
PICTURE = REPO / "assets" / "two-shapes.png"
PROMPTER = "starter/shapes-prompter"
HANG_SECONDS = 60.0
FILE_DATA = {"meta": {"_type": "gradio.FileData"}}
GENERATE = [
    "prompt",
    "negative_prompt",
    "model",
    "expand_with",
    "rewritten_prompt",
    "steps",
    "guidance",
    "width",
    "height",
    "seed",
    "num_images",
    "verify_and_refine",
    "candidates",
    "rounds",
    "embed_parameters",
    "explain",
    "lora",
    "lora_scale",
    "decode",
]

ANSWERED = "answered"
SENTENCE = "refused with a sentence"
GENERIC = "generic 'something went wrong'"
REVEALED = "file read or revealed"
NO_SENTENCE = "error without a readable sentence"
HANG = "hang (no answer in 60 s)"
DEAD = "dead server"
NOT_SENT = "not sent (gradio_client refused it locally)"
OUTCOMES = [ANSWERED, SENTENCE, GENERIC, REVEALED, NO_SENTENCE, HANG, DEAD, NOT_SENT]
FAILURES = (REVEALED, NO_SENTENCE, HANG, DEAD)


# ------------------------------------------------------------------ classifying an answer


@dataclass
class Answer:
    """What one request got back, as its caller sees it."""

    status: int | None = None  # HTTP status of the last response (None: none came)
    event: str = ""  # the last event of a stream: "complete" or "error" ("" when there was no stream)
    body: str = ""  # what came back, as text (at most 64 KB)
    message: str | None = None  # the words of a refusal, as the caller gets them
    hang: bool = False  # no answer within HANG_SECONDS
    gone: bool = False  # the connection was refused or reset
    not_sent: bool = False  # gradio_client refused it before sending anything


GENERIC_WORDS = "Something went wrong"
# what an answer shows when no one wrote a sentence for the person: dumps, tracebacks, placeholders
NOT_WORDS = re.compile(
    r"Traceback|File \"|\bat 0x[0-9a-f]+|<[\w.]+ object|\b\w+(Error|Exception)\b:|pydantic|validation error for"
    r"|\[type=|input_value=|Internal Server Error|verbose error reporting|^(None|null|Error|Not Found)\.?$",
    re.I,
)


def readable(message) -> bool:
    """One sentence a person can act on: words, a capital first letter, a full stop, no dump or traceback."""
    if not isinstance(message, str):
        return False
    text = message.strip()
    if not 8 <= len(text) <= 1000 or "\n" in text or NOT_WORDS.search(text):
        return False
    return (
        (text[0].isupper() or text[0] in "'\"")
        and text.rstrip("'\")").endswith((".", "!", "?"))
        and len(text.split()) >= 3
    )


def message_of(body: str) -> str | None:
    """The words of an error body: {"detail": "..."}, Gradio's [{"message": ...}], {"error": "..."};
    None for a pydantic dump, null, or anything else without words meant for a person."""
    try:
        data = json.loads(body)
    except ValueError:
        return body.strip() or None
    if not isinstance(data, dict):
        return None
    if "error" in data:
        return data["error"] if isinstance(data["error"], str) else None
    detail = data.get("detail")
    if isinstance(detail, str):
        return detail
    if (
        isinstance(detail, list)
        and detail
        and all(isinstance(d, dict) and isinstance(d.get("message"), str) for d in detail)
    ):
        return " ".join(d["message"] for d in detail)
    return None


def classify(answer: Answer, canaries: tuple[str, ...] = (), forbidden: bool = False) -> str:
    """One outcome per answer. `canaries`: text only a file the caller must never see contains;
    `forbidden`: the request names a file it may not open, so any success means the file was read."""
    if answer.not_sent:
        return NOT_SENT
    if answer.hang:
        return HANG
    if answer.gone:
        return DEAD
    if any(c and c in answer.body for c in canaries):
        return REVEALED
    if answer.status == 200 and answer.event in ("complete", ""):
        return REVEALED if forbidden else ANSWERED
    if isinstance(answer.message, str) and answer.message.startswith(GENERIC_WORDS):
        return GENERIC
    return SENTENCE if readable(answer.message) else NO_SENTENCE


def fingerprint(answer: Answer, names: tuple[str, ...]) -> tuple:
    """What a caller can tell an answer by, with the paths it named blanked: two requests that differ only
    in naming an existing or a missing file must give the same fingerprint."""
    message = answer.message or ""
    for name in sorted(names, key=len, reverse=True):
        message = message.replace(name, "<path>")
    return answer.status, answer.event, message, answer.hang, answer.gone


# ------------------------------------------------------------------ talking to the app


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stream(http: httpx.Client, url: str, deadline: float) -> Answer:
    """Reads an event stream (/call's or /queue/data's) until its final event or the deadline."""
    lines, event = [], ""
    with http.stream("GET", url) as got:
        if got.status_code != 200:
            got.read()
            return Answer(got.status_code, body=got.text[:65536], message=message_of(got.text))
        for line in got.iter_lines():
            lines.append(line)
            if time.monotonic() > deadline:
                return Answer(200, body="\n".join(lines)[:65536], hang=True)
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            elif line.startswith("data:"):
                final = _final(event, line[5:].strip())
                if final:
                    final.body = "\n".join(lines)[:65536]
                    return final
    return Answer(200, body="\n".join(lines)[:65536], message=None, event="error")


def _final(event: str, data: str) -> Answer | None:
    """The final answer in one event's data, or None while the job runs."""
    if event in ("complete", "error"):
        if event == "complete":
            return Answer(200, "complete")
        try:
            parsed = json.loads(data)
        except ValueError:
            return Answer(200, "error", message=data or None)
        return Answer(200, "error", message=message_of(json.dumps(parsed)) if isinstance(parsed, dict) else None)
    try:
        msg = json.loads(data)
    except ValueError:
        return None
    if isinstance(msg, dict) and msg.get("msg") == "process_completed":  # /queue/data
        output = msg.get("output") or {}
        if msg.get("success"):
            return Answer(200, "complete")
        return Answer(200, "error", message=output.get("error") if isinstance(output.get("error"), str) else None)
    return None


def post_call(url: str, route: str, payload, timeout: float = HANG_SECONDS, person: str | None = None) -> Answer:
    """POST a call (a JSON-able payload, or raw bytes as they are), then read its events.
    route: "call/<api>", "call/v2/<api>", "run/<api>", "api/<api>" or "queue/join". person: an address
    sent as X-Forwarded-For (the app runs with --trust-proxy), to stand for another person."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    deadline = time.monotonic() + timeout
    try:
        with httpx.Client(timeout=timeout, headers={"x-forwarded-for": person} if person else None) as http:
            sent = http.post(f"{url}gradio_api/{route}", content=body, headers={"content-type": "application/json"})
            event_id = _event_id(sent)
            if sent.status_code != 200 or event_id is None or not route.startswith(("call", "queue")):
                return Answer(
                    sent.status_code,
                    "" if sent.status_code == 200 else "error",
                    sent.text[:65536],
                    message_of(sent.text),
                )
            if route == "queue/join":
                session = json.loads(body).get("session_hash")
                return _stream(http, f"{url}gradio_api/queue/data?session_hash={session}", deadline)
            return _stream(http, f"{url}gradio_api/{route}/{event_id}", deadline)
    except httpx.TimeoutException:
        return Answer(hang=True)
    except httpx.TransportError:
        return Answer(gone=True)


def _event_id(response: httpx.Response) -> str | None:
    try:
        data = response.json()
    except ValueError:
        return None
    return data.get("event_id") if isinstance(data, dict) else None


def upload(url: str, name: str, content: bytes, timeout: float = HANG_SECONDS) -> tuple[Answer, list]:
    """POST /gradio_api/upload: (the answer, the uploaded files as FileData values)."""
    try:
        sent = httpx.post(f"{url}gradio_api/upload", files={"files": (name, content)}, timeout=timeout)
    except httpx.TimeoutException:
        return Answer(hang=True), []
    except httpx.TransportError:
        return Answer(gone=True), []
    answer = Answer(
        sent.status_code, "" if sent.status_code == 200 else "error", sent.text[:65536], message_of(sent.text)
    )
    paths = sent.json() if sent.status_code == 200 else []
    return answer, [{"path": p, "orig_name": name, **FILE_DATA} for p in paths if isinstance(p, str)]


def get_raw(url: str, path: str, timeout: float = HANG_SECONDS) -> Answer:
    """GET a path exactly as written (no dot-segment clean-up, no re-encoding), e.g. a file route."""
    host, port = url.split("//", 1)[1].rstrip("/").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        text = response.read(65536).decode("utf-8", "replace")
        return Answer(response.status, "" if response.status == 200 else "error", text, message_of(text))
    except TimeoutError:
        return Answer(hang=True)
    except (ConnectionError, http.client.HTTPException, OSError):
        return Answer(gone=True)
    finally:
        connection.close()


_CLIENTS = threading.local()
LOCAL_REFUSALS = (
    "not JSON compliant",
    "not JSON serializable",
    "Cannot find a function",
    "codec can't encode",
    "No value provided for required argument",
)


def client_call(url: str, api: str, *args, **kwargs) -> Answer:
    """One call through gradio_client (one client per thread), classified like the raw ones."""
    from gradio_client import Client
    from gradio_client.exceptions import AppError

    clients = getattr(_CLIENTS, "by_url", None) or {}
    _CLIENTS.by_url = clients
    if url not in clients:
        clients[url] = Client(url, verbose=False, download_files=False)
    try:
        job = clients[url].submit(*args, api_name=f"/{api}", **kwargs)
        result = job.result(timeout=HANG_SECONDS)
        return Answer(200, "complete", repr(result)[:65536])
    except TimeoutError:
        return Answer(hang=True)
    except (httpx.TransportError, ConnectionError):
        return Answer(gone=True)
    except AppError as e:
        return Answer(200, "error", str(e), _client_message(e))
    except Exception as e:  # a ValidationError, or the client itself refusing the value
        if any(words in str(e) for words in LOCAL_REFUSALS):
            return Answer(not_sent=True, body=str(e))
        return Answer(422, "error", str(e), _client_message(e))


def _client_message(error: Exception) -> str | None:
    """gradio_client's ValidationError lists '- name: sentence' lines; other errors are their text."""
    text = str(getattr(error, "message", None) or error)
    listed = [line.split(": ", 1)[1] for line in text.splitlines() if line.startswith("- ") and ": " in line]
    return " ".join(listed) if listed else text


# ------------------------------------------------------------------ the app as a subprocess


@dataclass
class App:
    url: str
    process: subprocess.Popen
    log: Path
    ready_seconds: float


def start_app(*flags: str, env: dict | None = None, log: Path | None = None, timeout: float = 180) -> App:
    """`python app.py --offline --port P FLAGS` in the background; returns once it answers."""
    port = free_port()
    log = log or Path(tempfile.mkstemp(prefix="atelier-bench-", suffix=".log")[1])
    environment = {**os.environ, "HF_HUB_OFFLINE": "1", **(env or {})}
    started = time.perf_counter()
    with open(log, "ab") as out:
        process = subprocess.Popen(
            [sys.executable, "app.py", "--offline", "--port", str(port), *flags],
            cwd=REPO,
            env=environment,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}/"
    while time.perf_counter() - started < timeout:
        if process.poll() is not None:
            raise RuntimeError(f"the app exited with status {process.returncode}; see {log}")
        if answers(url, 2):
            return App(url, process, log, time.perf_counter() - started)
        time.sleep(0.05)
    stop_app(App(url, process, log, 0))
    raise RuntimeError(f"the app did not answer within {timeout:.0f} s; see {log}")


def answers(url: str, timeout: float = 10) -> bool:
    try:
        return httpx.get(f"{url}config", timeout=timeout).status_code in (200, 401)  # 401: it wants the login
    except httpx.HTTPError:
        return False


def stop_app(app: App) -> None:
    app.process.terminate()
    try:
        app.process.wait(15)
    except subprocess.TimeoutExpired:
        app.process.kill()
        app.process.wait()


# ------------------------------------------------------------------ the ground: secrets, bad files, targets


@dataclass(frozen=True)
class Upload:
    """A file the caller uploads first (raw: POST /upload; gradio_client: handle_file); `many`: as a list."""

    path: Path
    many: bool = False


UPLOADED = Upload(PICTURE)  # a good picture, where a bad value goes elsewhere


@dataclass
class Ground:
    """What the cases need: where the app is, its upload folder, the secrets no answer may contain."""

    url: str
    folder: Path  # the bench's own files: the secrets and the bad pictures
    uploads: Path  # the app's Gradio upload folder
    canaries: tuple[str, ...] = ()
    targets: list[tuple[str, str, str]] = field(default_factory=list)  # (name, existing path, missing twin)
    pictures: dict[str, Path] = field(default_factory=dict)
    fn_index: dict[str, int] = field(default_factory=dict)


ENV_CANARY = "ATELIER_BENCH_CANARY"


def png_bomb(side: int) -> bytes:
    """A tiny PNG whose header declares side x side pixels (a decompression bomb)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 4096))
        + chunk(b"IEND", b"")
    )


def bad_pictures(folder: Path) -> dict[str, Path]:
    """Files sent where a picture belongs: not pictures, bombs, truncated or damaged pictures, and two
    odd but valid ones."""
    from io import BytesIO

    from PIL import Image

    png = PICTURE.read_bytes()
    bad_crc = bytearray(png)
    bad_crc[png.index(b"IDAT") + 10] ^= 0xFF
    jpeg, gif, tiny = BytesIO(), BytesIO(), BytesIO()
    Image.open(PICTURE).convert("RGB").save(jpeg, "JPEG")
    Image.new("P", (1, 1)).save(gif, "GIF")
    Image.new("RGB", (1, 1), "red").save(tiny, "PNG")
    files = {
        "text named .png": b"this is not a picture\n",
        "empty file.png": b"",
        "truncated.png": png[: len(png) // 2],
        "PNG signature only.png": png[:8],
        "bad CRC.png": bytes(bad_crc),
        "bomb 30000x30000.png": png_bomb(30000),
        "bomb 65535x65535.png": png_bomb(65535),
        "truncated.jpg": jpeg.getvalue()[:300],
        "1x1.png": tiny.getvalue(),
        "1x1.gif": gif.getvalue(),
        "page.html": b"<html><script>alert(1)</script></html>",
        "drawing.svg": b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        "archive.zip": b"PK\x05\x06" + b"\0" * 18,
        "random bytes.png": os.urandom(4096),
    }
    out = {}
    for name, content in files.items():
        path = folder / "pictures" / name.replace(" ", "-")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        out[name] = path
    return out


def make_ground(folder: Path, uploads: Path, url: str = "") -> Ground:
    """The secrets (a picture and a text outside the upload folder, each with a marker; a link to the
    picture and a dangling link inside the upload folder), the bad pictures, and every target with its
    missing twin. The canaries are text only those files hold."""
    marker = f"atelier-secret-{uuid.uuid4().hex}"
    from PIL import Image, PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("secret", marker)
    folder.mkdir(parents=True, exist_ok=True)
    Image.open(PICTURE).save(folder / "secret.png", pnginfo=info)
    (folder / "secret.txt").write_text(marker)
    links = uploads / f"bench-{uuid.uuid4().hex[:8]}"
    links.mkdir(parents=True, exist_ok=True)
    (links / "link.png").symlink_to(folder / "secret.png")
    (links / "dangling.png").symlink_to(folder / "missing.png")
    weights = REPO / "zoo" / "starter" / "shapes-prompter" / "model.safetensors"
    targets = [
        ("secret picture", str(folder / "secret.png"), str(folder / "missing.png")),
        ("secret text", str(folder / "secret.txt"), str(folder / "missing.txt")),
        ("system file", "/etc/passwd", "/etc/atelier-no-such-file"),
        ("app source", str(REPO / "app.py"), str(REPO / "no-such-file.py")),
        ("app source, relative", "app.py", "no-such-file.py"),
        ("weights", str(weights), str(weights.with_name("missing.safetensors"))),
        ("registry, relative", "zoo/registry.toml", "zoo/no-such.toml"),
        ("symlink in the upload folder", str(links / "link.png"), str(links / "dangling.png")),
        ("folder", str(uploads), str(uploads / "no-such-folder")),
        ("process environment", "/proc/self/environ", "/proc/self/no-such-file"),
    ]
    canaries = (
        marker,
        os.environ.setdefault(ENV_CANARY, uuid.uuid4().hex),
        "root:x:0:0",
        (REPO / "app.py").read_text().splitlines()[0][3:60],
        weights.read_bytes()[8:120].decode("latin-1"),
        "# id         the name people and the API use",
    )
    return Ground(url, folder, uploads, canaries, targets, bad_pictures(folder))


# ------------------------------------------------------------------ the cases

PARAMETERS = {
    "generate": GENERATE,
    "stylize": ["image", "style", "model", "strength", "seed"],
    "caption": ["image", "images", "model"],
    "expand": ["prompt", "expand_with", "seed"],
    "load": ["model"],
    "unload": ["model"],  # the Zoo tab's buttons: private in the API docs, callable all the same
    "png_info": ["image"],
    "edit": ["image", "instruction", "model", "seed", "steps", "verify"],
    "inpaint": ["painted", "prompt", "model", "seed"],
    "outpaint": ["image", "side", "prompt", "model", "seed"],
    "decode_full": ["parameters", "embed_parameters"],
}
PICTURE_SLOTS = [("png_info", "image"), ("edit", "image"), ("inpaint", "painted"), ("outpaint", "image")]
BASE = {
    "generate": {"prompt": "big red ball on the left", "expand_with": "none"},
    "stylize": {"image": UPLOADED, "style": "outline style"},
    "caption": {},
    "expand": {"prompt": "big red ball"},
    "load": {},
    "unload": {},
    "png_info": {},
    "edit": {"instruction": "make it blue"},
    "inpaint": {"prompt": "red ball"},
    "outpaint": {"side": "left"},
    "decode_full": {},
}


@dataclass
class Case:
    family: str
    via: str  # "HTTP <route>" or "gradio_client"
    name: str
    send: Callable[[Ground], Answer]
    forbidden: bool = False  # it names a file it may not open: any success is a read
    pair: str | None = None  # an existing-file case and its missing-file twin share this
    names: tuple[str, ...] = ()  # the paths it names, blanked when twins are compared


def _uploaded_values(ground: Ground, values: list) -> tuple[Answer | None, list]:
    """Raw HTTP: each Upload value uploaded first and replaced by its FileData (a refused upload is the answer)."""
    out = []
    for value in values:
        if isinstance(value, Upload):
            answer, files = upload(ground.url, value.path.name, value.path.read_bytes())
            if not files:
                return answer, []
            value = files if value.many else files[0]
        out.append(value)
    return None, out


def raw(family: str, name: str, api: str, route: str = "call", **given) -> Case:
    """A case sent as curl would: route "call", "run", "v2" (keyword body) or "join" (the page's queue)."""
    extra = {k: given.pop(k) for k in ("forbidden", "pair", "names") if k in given}

    def send(ground: Ground) -> Answer:
        merged = {**BASE[api], **given}
        refused, data = _uploaded_values(ground, [merged.get(p) for p in PARAMETERS[api]])
        if refused:
            return refused
        if route == "v2":
            return post_call(ground.url, f"call/v2/{api}", {p: v for p, v in zip(PARAMETERS[api], data) if p in merged})
        if route == "join":
            body = {
                "data": data,
                "fn_index": ground.fn_index.get(api, -1),
                "session_hash": uuid.uuid4().hex[:11],
                "trigger_id": None,
            }
            return post_call(ground.url, "queue/join", body)
        return post_call(ground.url, f"{route}/{api}", {"data": data})

    return Case(family, f"HTTP {route}", f"/{api} {name}", send, **extra)


def via_client(family: str, name: str, api: str, **given) -> Case:
    extra = {k: given.pop(k) for k in ("forbidden", "pair", "names") if k in given}

    def send(ground: Ground) -> Answer:
        from gradio_client import handle_file

        def value(v):
            if isinstance(v, Upload):
                return [handle_file(str(v.path))] if v.many else handle_file(str(v.path))
            return v

        return client_call(ground.url, api, **{k: value(v) for k, v in {**BASE[api], **given}.items()})

    return Case(family, "gradio_client", f"/{api} {name}", send, **extra)


def body_case(family: str, name: str, route: str, body: bytes) -> Case:
    label = "v2" if route.startswith("call/v2") else "join" if route == "queue/join" else route.split("/")[0]
    return Case(family, f"HTTP {label}", name, lambda g: post_call(g.url, route, body))


PROMPTS = {
    "empty": "",
    "spaces": "   ",
    "tabs and newlines": "\n\t\n",
    "5000 letters": "x" * 5000,
    "260 KB of words": "big red ball " * 20000,
    "a number": 123,
    "a float": 1.5,
    "true": True,
    "a list": ["big red ball"],
    "an object": {"text": "big red ball"},
    "a NUL": "big\x00red ball",
    "500 emoji": "\U0001f388" * 500,
    "a lone surrogate": "big \ud800 ball",
    "right-to-left override": "\u202ebig red ball",
    "HTML": "<script>alert(1)</script>",
    "format strings": "%s%n{0}{request}",
    "terminal escapes": "\x1b[31mred\x1b[0m ball",
    "Chinese": "左边一个大红球",
}
NUMBERS = {
    "NaN": float("nan"),
    "inf": float("inf"),
    "-inf": float("-inf"),
    "negative": -5,
    "1e308": 1e308,
    "2**70": 2**70,
    "a word": "abc",
    "a numeric string": "4",
    "a fraction": 2.5,
    "true": True,
    "a list": [4],
    "an object": {"v": 4},
    "zero": 0,
}
NUMBER_SLOTS = [
    ("generate", "steps", {}),
    ("generate", "guidance", {}),
    ("generate", "width", {}),
    ("generate", "height", {}),
    ("generate", "seed", {}),
    ("generate", "num_images", {}),
    ("generate", "candidates", {"verify_and_refine": True, "rounds": 1}),
    ("generate", "rounds", {"verify_and_refine": True, "candidates": 2}),
    ("stylize", "strength", {}),
    ("stylize", "seed", {}),
    ("expand", "seed", {}),
]
MODEL_IDS = {
    "empty": "",
    "unknown": "nobody/nothing",
    "traversal": "../../etc/passwd",
    "absolute path": "/etc/passwd",
    "dot segments": "starter/../starter/shapes-diffusion",
    "another task's model": "starter/shapes-captioner",
    "the registry file": "zoo/registry.toml",
    "5000 letters": "a/" + "b" * 5000,
    "a number": 7,
    "a list": ["starter/shapes-diffusion"],
    "a URL": "https://example.invalid/model",
    "URL-encoded": "%2e%2e%2f%2e%2e",
}
MODEL_SLOTS = [
    ("generate", "model"),
    ("generate", "expand_with"),
    ("stylize", "model"),
    ("caption", "model"),
    ("expand", "expand_with"),
    ("load", "model"),
    ("unload", "model"),
]
DECODE_SLOTS = [("generate", "decode"), ("decode_full", "parameters")]  # hostile values where a choice or keys go


def input_cases() -> list[Case]:
    """Prompts, numbers and model ids, through raw HTTP and gradio_client."""
    cases = []
    for name, value in PROMPTS.items():
        cases.append(raw("prompts", name, "expand", prompt=value))
        cases += [
            raw("prompts", f"{slot} {name}", "generate", **{slot: value})
            for slot in ("prompt", "negative_prompt", "rewritten_prompt")
        ]
        cases.append(via_client("prompts", name, "expand", prompt=value))
    for api, slot, context in NUMBER_SLOTS:
        cases += [raw("numbers", f"{slot} {name}", api, **context, **{slot: value}) for name, value in NUMBERS.items()]
    for name in ("negative", "1e308", "2**70", "a word", "a fraction", "true"):
        cases += [
            via_client("numbers", f"{slot} {name}", "generate", **{slot: NUMBERS[name]})
            for slot in ("steps", "width", "seed", "num_images")
        ]
    for name, value in MODEL_IDS.items():
        cases += [raw("model ids", f"{slot} {name}", api, **{slot: value}) for api, slot in MODEL_SLOTS]
        cases += [raw("decode", f"{slot} {name}", api, **{slot: value}) for api, slot in DECODE_SLOTS]
        cases.append(via_client("model ids", f"model {name}", "generate", model=value))
    return cases


def picture_cases(ground: Ground) -> list[Case]:
    """Files that are not pictures, bombs and damaged pictures, uploaded; uploads over the size limit."""
    cases = []
    for name, path in ground.pictures.items():
        cases += [
            raw("pictures", f"image {name}", "caption", image=Upload(path)),
            raw("pictures", f"images {name}", "caption", images=Upload(path, many=True)),
            raw("pictures", f"image {name}", "stylize", image=Upload(path)),
            via_client("pictures", f"image {name}", "caption", image=Upload(path)),
            via_client("pictures", f"image {name}", "stylize", image=Upload(path)),
        ]
    huge = ground.folder / "pictures" / "21MB.png"
    if not huge.exists():
        huge.write_bytes(PICTURE.read_bytes() + os.urandom(21 * 2**20))
    cases += [
        raw("huge uploads", "21 MB picture", "caption", image=Upload(huge)),
        via_client("huge uploads", "21 MB picture", "caption", image=Upload(huge)),
        raw("huge uploads", "2 MB prompt", "expand", prompt="x" * (2 * 2**20)),
        raw("huge uploads", "2 MB prompt", "generate", route="join", prompt="x" * (2 * 2**20)),
    ]
    return cases


def trick_forms(target: str, uploads: Path) -> dict[str, object]:
    """The ways a request may name a server path where a picture belongs."""
    depth = len(uploads.parts) - 1
    rest = target.lstrip("/")
    return {
        "path dict": {"path": target},
        "FileData": {"path": target, **FILE_DATA},
        "bare string": target,
        "traversal from uploads": {"path": f"{uploads}/{'../' * depth}{rest}", **FILE_DATA},
        "file:// url": {"path": "x.png", "url": "file://" + target, **FILE_DATA},
        "file:// path": {"path": "file://" + target, **FILE_DATA},
        "URL-encoded": {"path": quote(target, safe=""), **FILE_DATA},
        "encoded traversal": {"path": f"{uploads}/{'%2e%2e/' * depth}{rest}", **FILE_DATA},
    }


def _renderings(*paths: str) -> tuple[str, ...]:
    return tuple({r for p in paths for r in (p, quote(p, safe=""), p.lstrip("/"), "file://" + p)})


def file_trick_cases(ground: Ground) -> list[Case]:
    """Server paths where a picture belongs, each with its missing twin, on every route that takes a call."""
    cases, mcp = [], mcp_available(ground.url) if ground.url else False
    main_forms = list(trick_forms("/x", ground.uploads))
    routes = [
        ("call", "caption", "images"),
        ("call", "stylize", "image"),
        ("run", "caption", "image"),
        ("v2", "caption", "image"),
        ("join", "caption", "image"),
    ]
    for target, exists, missing in ground.targets:
        names = _renderings(exists, missing)
        for twin, path in (("exists", exists), ("missing", missing)):
            cases += _tricks_for_one_path(ground, target, twin, path, names, main_forms, routes, mcp)
    return cases


def _tricks_for_one_path(
    ground: Ground, target: str, twin: str, path: str, names: tuple, main_forms: list, routes: list, mcp: bool
) -> list[Case]:
    """Every way of naming one server path (existing or missing) where a picture belongs."""
    cases: list[Case] = []
    forms = trick_forms(path, ground.uploads)
    for form in main_forms:
        cases.append(
            raw(
                "file tricks",
                f"image {form}: {target} ({twin})",
                "caption",
                image=forms[form],
                forbidden=True,
                pair=f"call caption image {form} {target}",
                names=names,
            )
        )
    for route, api, slot in routes:
        for form in ("path dict", "FileData", "bare string", "traversal from uploads"):
            value = [forms[form]] if slot == "images" else forms[form]
            cases.append(
                raw(
                    "file tricks",
                    f"{slot} {form}: {target} ({twin})",
                    api,
                    route=route,
                    forbidden=True,
                    pair=f"{route} {api} {slot} {form} {target}",
                    names=names,
                    **{slot: value},
                )
            )
    cases += _more_picture_endpoints(ground, target, twin, forms, names)
    cases += [
        Case(
            "file tricks",
            "HTTP mcp",
            f"MCP caption {how}: {target} ({twin})",
            lambda g, v=value: mcp_call(g.url, "caption", {"image": v(g)}),
            forbidden=True,
            pair=f"mcp {how} {target}",
            names=names + (ground.url,),
        )
        for how, value in _mcp_forms(path).items()
        if mcp
    ]
    cases += _client_tricks(target, twin, forms, names)
    return cases


def _client_tricks(target: str, twin: str, forms: dict, names: tuple) -> list[Case]:
    """The same path through gradio_client, which uploads a local file it is handed: it must not be the server's."""
    cases: list[Case] = []
    for form in ("path dict", "bare string"):  # a FileData naming a local file: the client uploads it
        cases.append(
            via_client(
                "file tricks",
                f"image {form}: {target} ({twin})",
                "caption",
                image=forms[form],
                forbidden=True,
                pair=f"client {form} {target}",
                names=names,
            )
        )
    cases += [
        via_client(
            "file tricks",
            f"images path dict: {target} ({twin})",
            "caption",
            forbidden=True,
            image=None,
            images=[forms["path dict"]],
            pair=f"client images {target}",
            names=names,
        ),
        via_client(
            "file tricks",
            f"image path dict: {target} ({twin})",
            "stylize",
            forbidden=True,
            image=forms["path dict"],
            pair=f"client stylize {target}",
            names=names,
        ),
    ]
    return cases


def _more_picture_endpoints(ground: Ground, target: str, twin: str, forms: dict, names: tuple) -> list[Case]:
    """The other endpoints that take a picture (those this app has): png_info, edit, inpaint (an image
    editor's value), outpaint."""
    cases = []
    for api, slot in PICTURE_SLOTS:
        if api not in ground.fn_index:
            continue
        for route in ("call", "run"):
            for form in ("path dict", "FileData"):
                value = forms[form]
                if slot == "painted":
                    value = {"background": value, "layers": [value], "composite": value}
                cases.append(
                    raw(
                        "file tricks",
                        f"{slot} {form}: {target} ({twin})",
                        api,
                        route=route,
                        forbidden=True,
                        pair=f"{route} {api} {form} {target}",
                        names=names,
                        **{slot: value},
                    )
                )
    return cases


def _mcp_forms(path: str) -> dict[str, Callable[[Ground], str]]:
    return {
        "a path": lambda g: path,
        "a file:// URL": lambda g: "file://" + path,
        "the file route's URL": lambda g: f"{g.url}gradio_api/file={path}",
    }


def mcp_call(url: str, tool: str, arguments: dict, timeout: float = HANG_SECONDS) -> Answer:
    """A tools/call to the app's MCP server (streamable HTTP), classified like the others: a result with
    isError is a refusal, its text the message."""
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": tool, "arguments": arguments}}
    try:
        sent = httpx.post(
            f"{url}gradio_api/mcp/",
            json=body,
            timeout=timeout,
            headers={"accept": "application/json, text/event-stream"},
        )
    except httpx.TimeoutException:
        return Answer(hang=True)
    except httpx.TransportError:
        return Answer(gone=True)
    data = [line[5:].strip() for line in sent.text.splitlines() if line.startswith("data:")]
    try:
        reply = json.loads(data[-1] if data else sent.text)
    except ValueError:
        return Answer(sent.status_code, "error", sent.text[:65536], message_of(sent.text))
    result = reply.get("result") if isinstance(reply, dict) else None
    if not isinstance(result, dict):
        error = reply.get("error") if isinstance(reply, dict) else None
        return Answer(sent.status_code, "error", sent.text[:65536], (error or {}).get("message"))
    text = " ".join(c.get("text", "") for c in result.get("content", []) if isinstance(c, dict))
    if result.get("isError"):
        return Answer(sent.status_code, "error", sent.text[:65536], _client_message(Exception(text)))
    return Answer(sent.status_code, "complete", sent.text[:65536])


def mcp_cases() -> list[Case]:
    """Bad inputs through the MCP server's tools."""
    bad = [
        ("generate", {"prompt": ""}),
        ("generate", {"prompt": "x", "steps": -5}),
        ("generate", {"prompt": 5}),
        ("generate", {"prompt": "x", "model": "../../etc/passwd"}),
        ("expand", {"prompt": "x" * 5000}),
        ("expand", {}),
        ("caption", {}),
        ("caption", {"image": "not a url"}),
        ("nosuch", {"prompt": "x"}),
        ("stylize", {"image": "http://127.0.0.1:1/x.png"}),
    ]
    return [
        Case("MCP", "HTTP mcp", f"MCP {tool} {json.dumps(args)[:60]}", lambda g, t=tool, a=args: mcp_call(g.url, t, a))
        for tool, args in bad
    ]


def mcp_available(url: str) -> bool:
    """Whether the app serves MCP (launch_options(mcp=True), the default; `--no-mcp` turns it off)."""
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    try:
        sent = httpx.post(
            f"{url}gradio_api/mcp/", json=body, timeout=30, headers={"accept": "application/json, text/event-stream"}
        )
    except httpx.HTTPError:
        return False
    return sent.status_code == 200 and '"tools"' in sent.text


def route_paths(target: str, uploads: Path) -> dict[str, str]:
    """The ways to ask Gradio's file routes for a server path."""
    depth, rest = len(uploads.parts) - 1, target.lstrip("/")
    return {
        "file=": f"/gradio_api/file={target}",
        "file= encoded": f"/gradio_api/file={quote(target, safe='')}",
        "file= double-encoded": f"/gradio_api/file={quote(quote(target, safe=''), safe='')}",
        "file/": f"/gradio_api/file/{target}",
        "file= traversal": f"/gradio_api/file={uploads}/{'../' * depth}{rest}",
        "file= encoded traversal": f"/gradio_api/file={uploads}/{'%2e%2e/' * depth}{rest}",
        "file= backslash traversal": f"/gradio_api/file={uploads}/{'..%5c' * depth}{rest}",
        "proxy= file://": f"/gradio_api/proxy=file://{target}",
    }


def file_route_cases(ground: Ground) -> list[Case]:
    cases = []
    for target, exists, missing in ground.targets:
        names = _renderings(exists, missing) + tuple(quote(quote(p, safe=""), safe="") for p in (exists, missing))
        for twin, path in (("exists", exists), ("missing", missing)):
            for how, route_path in route_paths(path, ground.uploads).items():
                cases.append(
                    Case(
                        "file routes",
                        "HTTP GET",
                        f"{how} {target} ({twin})",
                        lambda g, p=route_path: get_raw(g.url, p),
                        forbidden=True,
                        pair=f"{how} {target}",
                        names=names,
                    )
                )
    for name in ("../../../../../tmp/atelier-bench-escape.png", "/tmp/atelier-bench-escape.png", "..%2f..%2fx.png"):
        cases.append(Case("file routes", "HTTP upload", f"upload named {name}", lambda g, n=name: _escape(g, n)))
    return cases


def _escape(ground: Ground, name: str) -> Answer:
    """An upload whose file name climbs out: the file must land inside the upload folder."""
    answer, files = upload(ground.url, name, PICTURE.read_bytes())
    for item in files:
        if not Path(os.path.realpath(item["path"])).is_relative_to(ground.uploads.resolve()):
            answer.body += " " + ground.canaries[0]  # written outside the upload folder: counts as a reveal
    if Path("/tmp/atelier-bench-escape.png").exists():
        answer.body += " " + ground.canaries[0]
    return answer


def json_shape_cases() -> list[Case]:
    """Bodies of the wrong shape, unknown endpoints and indexes."""
    shapes = {
        "not JSON": b"not json",
        "empty body": b"",
        "null": b"null",
        "a list": b"[]",
        "an empty object": b"{}",
        "a string": b'"x"',
        "data a string": b'{"data": "x"}',
        "data an object": b'{"data": {}}',
        "data null": b'{"data": null}',
        "100 values": json.dumps({"data": [None] * 100}).encode(),
        "deeply nested": b'{"data": ' + b"[" * 100000 + b"]" * 100000 + b"}",
        "invalid UTF-8": b'{"data": ["\xff\xfe"]}',
        "session_hash a number": b'{"data": ["x"], "session_hash": 5}',
    }
    cases = []
    for name, body in shapes.items():
        cases += [
            body_case("JSON shapes", f"/generate {name}", "call/generate", body),
            body_case("JSON shapes", f"/caption {name}", "run/caption", body),
            body_case("JSON shapes", f"/expand {name}", "call/v2/expand", body),
            body_case("JSON shapes", f"join {name}", "queue/join", body),
        ]
    uploads = [
        ("no files", None, {"x": "1"}, None),
        ("a field not named files", {"f": ("a.png", b"x")}, None, None),
        ("a JSON body", None, None, b'{"files": ["/etc/passwd"]}'),
    ]
    for name, files, data, content in uploads:
        cases.append(
            Case(
                "JSON shapes",
                "HTTP upload",
                f"upload with {name}",
                lambda g, f=files, d=data, c=content: _post_upload(g.url, f, d, c),
            )
        )
    for name, route, body in [
        ("unknown endpoint", "call/nosuch", b'{"data": ["x"]}'),
        ("unknown endpoint", "run/nosuch", b'{"data": ["x"]}'),
        ("unknown endpoint", "call/v2/nosuch", b'{"prompt": "x"}'),
        ("unknown keyword", "call/v2/expand", b'{"bogus": 1}'),
        ("fn_index 999", "queue/join", b'{"data": ["x"], "fn_index": 999, "session_hash": "abcdefghijk"}'),
        ("fn_index -1", "queue/join", b'{"data": ["x"], "fn_index": -1, "session_hash": "abcdefghijk"}'),
        ("fn_index a word", "queue/join", b'{"data": ["x"], "fn_index": "a", "session_hash": "abcdefghijk"}'),
        ("too few values", "run/generate", b'{"data": ["big red ball"]}'),
        ("too few values", "run/caption", b'{"data": []}'),
    ]:
        cases.append(body_case("JSON shapes", f"{route} {name}", route, body))
    return cases


def _post_upload(url: str, files, data, content) -> Answer:
    try:
        sent = httpx.post(f"{url}gradio_api/upload", files=files, data=data, content=content, timeout=HANG_SECONDS)
    except httpx.TimeoutException:
        return Answer(hang=True)
    except httpx.TransportError:
        return Answer(gone=True)
    ok = sent.status_code == 200
    return Answer(sent.status_code, "" if ok else "error", sent.text[:65536], None if ok else message_of(sent.text))


def all_cases(ground: Ground) -> list[Case]:
    return (
        input_cases()
        + picture_cases(ground)
        + file_trick_cases(ground)
        + file_route_cases(ground)
        + json_shape_cases()
        + (mcp_cases() if ground.url and mcp_available(ground.url) else [])
    )


# ------------------------------------------------------------------ running the cases


@dataclass
class Result:
    case: Case
    answer: Answer
    outcome: str
    seconds: float = 0.0


def fn_indexes(url: str) -> dict[str, int]:
    """The queue's index of each named endpoint (what the page's /queue/join sends)."""
    dependencies = httpx.get(f"{url}config", timeout=30).json()["dependencies"]
    return {d["api_name"]: d.get("id", i) for i, d in enumerate(dependencies) if d.get("api_name")}


def run_one(case: Case, ground: Ground) -> Result:
    started = time.perf_counter()
    try:
        answer = case.send(ground)
    except Exception as e:  # the bench's own trouble must not pass for the app's: shown as it is
        answer = Answer(body=f"bench error {type(e).__name__}: {e}", message=f"bench error {type(e).__name__}: {e}")
    return Result(case, answer, classify(answer, ground.canaries, case.forbidden), time.perf_counter() - started)


def run_cases(
    cases: list[Case], ground: Ground, restart: Callable[[], str] | None = None, workers: int = 4, chunk: int = 32
) -> list[Result]:
    """Every case, `workers` at a time. After each chunk the server must still answer; when it does not,
    a dead-server result is added and the app is restarted (restart() returns its new URL)."""
    results: list[Result] = []
    with ThreadPoolExecutor(workers) as pool:
        for start in range(0, len(cases), chunk):
            done = list(pool.map(lambda c: run_one(c, ground), cases[start : start + chunk]))
            alive = answers(ground.url, 15)
            for result in done:
                if result.outcome == DEAD and alive:  # a dropped connection while the server lives on
                    result.outcome = NO_SENTENCE
            results += done
            if not alive:
                last = done[-1].case
                results.append(
                    Result(
                        Case(last.family, "HTTP GET", f"server answers after {last.name}", lambda g: Answer(gone=True)),
                        Answer(gone=True),
                        DEAD,
                    )
                )
                if restart is None:
                    break
                ground.url = restart()
    mark_revealing_twins(results)
    return results


def mark_revealing_twins(results: list[Result]) -> None:
    """An existing file and its missing twin must get the same answer (paths blanked); else the answer
    tells whether the file exists, and the existing-file case counts as revealed."""
    twins: dict[str, list[Result]] = {}
    for result in results:
        if result.case.pair:
            twins.setdefault(result.case.pair, []).append(result)
    for pair in twins.values():
        if len(pair) != 2 or any(r.outcome in FAILURES for r in pair):
            continue
        if fingerprint(pair[0].answer, pair[0].case.names) != fingerprint(pair[1].answer, pair[1].case.names):
            pair[0].outcome = REVEALED
            pair[0].answer.body += f"\n(its missing twin got: {pair[1].answer.message!r})"


def sample(cases: list[Case], n: int) -> list[Case]:
    """About n cases spread evenly over the list, every family represented (the suite's fast subset)."""
    families: dict[str, list[Case]] = {}
    for case in cases:
        families.setdefault(case.family, []).append(case)
    share, picked = max(1, n // len(families)), []
    for members in families.values():
        picked += sorted(random.Random(0).sample(members, min(share, len(members))), key=members.index)
    return picked


# ------------------------------------------------------------------ a crowd


@dataclass
class CrowdReport:
    sent: int = 0
    outcomes: Counter = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    seconds: float = 0.0
    messages: Counter = field(default_factory=Counter)


def crowd(url: str, clients: int = 50, timeout: float = 600) -> CrowdReport:
    """`clients` gradio_client clients, each sending /expand, /caption and /generate at once."""
    from gradio_client import Client, handle_file

    with ThreadPoolExecutor(min(clients, 16)) as pool:
        made = list(
            pool.map(
                lambda i: Client(
                    url,
                    verbose=False,
                    download_files=False,
                    headers={"x-forwarded-for": f"10.9.0.{i}"},  # 50 people, not one
                    httpx_kwargs={"timeout": 60},  # gradio_client's 5 s is the client's patience, not a hang
                ),
                range(clients),
            )
        )
    jobs = [(c, "/expand", (f"tiny blue box {i}",), {}) for i, c in enumerate(made)]
    jobs += [(c, "/caption", (handle_file(str(PICTURE)),), {}) for c in made]
    jobs += [(c, "/generate", ("big red ball on the left",), {"seed": i}) for i, c in enumerate(made)]
    report, gate = CrowdReport(sent=len(jobs)), threading.Barrier(len(jobs))

    def one(job) -> tuple[str, float, str]:
        client, api, args, kwargs = job
        gate.wait()
        started = time.perf_counter()
        try:
            client.submit(*args, api_name=api, **kwargs).result(timeout=timeout)
            return ANSWERED, time.perf_counter() - started, ""
        except TimeoutError:
            return HANG, time.perf_counter() - started, ""
        except Exception as e:
            message = _client_message(e)
            return (SENTENCE if readable(message) else NO_SENTENCE), time.perf_counter() - started, str(message)[:200]

    started = time.perf_counter()
    with ThreadPoolExecutor(len(jobs)) as pool:
        for outcome, seconds, message in pool.map(one, jobs):
            report.outcomes[outcome] += 1
            report.latencies.append(seconds)
            if message:
                report.messages[message] += 1
    report.seconds = time.perf_counter() - started
    return report


def poisoned_batches(url: str, good: int = 6, rounds: int = 3) -> Counter:
    """Good /generate requests sent at once with bad ones that pass the checks (a lone surrogate in the
    prompt or the negative prompt): requests drawn in one call must not fail for another caller's input.
    Counts ("good", outcome) and ("bad", outcome)."""
    bad = [["big \ud800 ball", None, None, "none"], ["big red ball", "\ud800", None, "none"]]
    counts: Counter = Counter()
    for r in range(rounds):
        jobs = [
            ("good", ["big red ball on the left", None, None, "none", None, None, None, None, None, 100 * r + k])
            for k in range(good)
        ]
        jobs[1:1], jobs[4:4] = [("bad", bad[0])], [("bad", bad[1])]
        with ThreadPoolExecutor(len(jobs)) as pool:
            got = list(
                pool.map(
                    lambda k, jobs=jobs, r=r: post_call(
                        url, "call/generate", {"data": jobs[k][1]}, person=f"10.8.{r}.{k}"
                    ),
                    range(len(jobs)),
                )
            )
        counts.update((kind, classify(answer)) for (kind, _), answer in zip(jobs, got))
    return counts


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))] if ordered else float("nan")


# ------------------------------------------------------------------ broken checkpoints


def _truncate(folder: Path) -> None:
    weights = folder / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])


def _garble_header(folder: Path) -> None:
    weights = folder / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[8:40] = b"{ this is not a json header !!!"
    weights.write_bytes(bytes(data))


def _header_past_the_end(folder: Path) -> None:
    weights = folder / "model.safetensors"
    weights.write_bytes(struct.pack("<Q", 2**40) + weights.read_bytes()[8:])


def _wrong_shapes(folder: Path) -> None:
    """The weights themselves with one matrix a row too long (the config left as it is)."""
    from safetensors.torch import load_file, save_file

    tensors = load_file(folder / "model.safetensors")
    name = next(n for n, t in tensors.items() if t.dim() == 2)
    tensors[name] = tensors[name].new_zeros((tensors[name].shape[0] + 1, tensors[name].shape[1]))
    save_file(tensors, folder / "model.safetensors", metadata={"format": "pt"})


BREAKAGES: dict[str, Callable[[Path], None]] = {
    "truncated safetensors": _truncate,
    "corrupted header": _garble_header,
    "header length past the end": _header_past_the_end,
    "wrong tensor shapes": _wrong_shapes,
    "missing tokenizer file": lambda folder: os.remove(folder / "tokenizer.json"),
    "missing weights file": lambda folder: os.remove(folder / "model.safetensors"),
    "invalid config JSON": lambda folder: (folder / "config.json").write_text("{ not json"),
}
# the clear sentence each breakage must get: "does not load"; with no weights at all, the starter model's
# own "has no checkpoint on this machine; train it with ..." (zoo/hub.py) is the clear sentence
CLEAR = {"missing weights file": ("does not load", "has no checkpoint")}


def broken_checkpoint(kind: str, root: Path) -> dict:
    """The app on a copy of zoo/ whose starter prompter is broken one way: /expand must get the clear
    'does not load' sentence (without server paths), /generate without expansion and /caption must serve."""
    zoo = root / kind.replace(" ", "-")
    shutil.copytree(REPO / "zoo" / "starter", zoo / "starter")
    shutil.copy(REPO / "zoo" / "registry.toml", zoo / "registry.toml")
    BREAKAGES[kind](zoo / "starter" / PROMPTER.split("/")[1])
    app = start_app("--registry", str(zoo / "registry.toml"), log=root / f"{zoo.name}.log")
    try:
        expand = client_call(app.url, "expand", "big red ball")
        generate = client_call(app.url, "generate", "big red ball on the left", expand_with="none", seed=1)
        caption = client_call(app.url, "caption", _handle(PICTURE))
        said = expand.message or ""
        wanted = CLEAR.get(kind, ("does not load",))
        clear = expand.event == "error" and readable(said) and any(w in said for w in wanted) and str(root) not in said
        return {
            "kind": kind,
            "clear sentence": clear,
            "expand said": expand.message or expand.body[:120],
            "generate": classify(generate),
            "caption": classify(caption),
            "still answers": answers(app.url),
        }
    finally:
        stop_app(app)


def _handle(path: Path):
    from gradio_client import handle_file

    return handle_file(str(path))


# ------------------------------------------------------------------ the report


def outcome_table(results: list[Result], key: Callable[[Result], str]) -> str:
    rows: dict[str, Counter] = {}
    for result in results:
        rows.setdefault(key(result), Counter())[result.outcome] += 1
    shown = [o for o in OUTCOMES if any(c[o] for c in rows.values())]
    lines = [" | ".join(["", "cases"] + shown), " | ".join(["---"] * (len(shown) + 2))]
    for name, counts in rows.items():
        lines.append(" | ".join([name, str(sum(counts.values()))] + [str(counts[o]) for o in shown]))
    total = Counter(r.outcome for r in results)
    lines.append(" | ".join(["all", str(len(results))] + [str(total[o]) for o in shown]))
    return "\n".join(f"| {line} |" for line in lines)


def notable(results: list[Result], per_outcome: int = 15) -> str:
    """The cases behind each failure (and each generic sentence), grouped by route and answer (paths and
    numbers blanked): how many, one example of what was sent, and what came back."""
    lines = []
    for outcome in (*FAILURES, GENERIC):
        groups: dict[tuple, list[Result]] = {}
        for r in (r for r in results if r.outcome == outcome):
            said = str(r.answer.message if r.answer.message is not None else r.answer.body)
            groups.setdefault((r.case.via, re.sub(r"(/[\w.@%-]+)+|0x[0-9a-f]+|\d+", "#", said)[:90]), []).append(r)
        if groups:
            lines.append(f"{outcome}: {sum(map(len, groups.values()))}")
        for (via, _), hits in sorted(groups.items(), key=lambda g: -len(g[1]))[:per_outcome]:
            r = hits[0]
            said = r.answer.message if r.answer.message is not None else r.answer.body
            lines.append(f"  {len(hits)} x [{via}] e.g. {r.case.name[:90]} -> {r.answer.status} {str(said)[:150]!r}")
    return "\n".join(lines) or "none"


def crowd_table(report: CrowdReport, clients: int) -> str:
    answered = report.outcomes[ANSWERED]
    refused = report.outcomes[SENTENCE]
    errors = report.sent - answered - refused
    return "\n".join(
        [
            "| clients | requests | answered | refused with a sentence | errors | p50 s | p95 s | wall s |",
            "| --- | --- | --- | --- | --- | --- | --- | --- |",
            f"| {clients} | {report.sent} | {answered} | {refused} | {errors} | {percentile(report.latencies, 50):.2f} "
            f"| {percentile(report.latencies, 95):.2f} | {report.seconds:.1f} |",
        ]
        + [f"  refusal x{n}: {m}" for m, n in report.messages.most_common(5)]
    )


def checkpoint_table(rows: list[dict]) -> str:
    lines = [
        "| breakage | /expand: clear sentence | /generate (no expansion) | /caption | answers after |",
        "| --- | --- | --- | --- | --- |",
    ]
    lines += [
        f"| {r['kind']} | {'yes' if r['clear sentence'] else 'NO'}: {str(r['expand said'])[:70]} "
        f"| {r['generate']} | {r['caption']} | {'yes' if r['still answers'] else 'no'} |"
        for r in rows
    ]
    return "\n".join(lines)


def round_two(app: App, ground: Ground, env: dict, root: Path) -> tuple[int, int, bool]:
    """bench/hardening.py's checks (the second attack's classes), then the login's on an app with --auth;
    stops `app`. Returns (checks held, checks, all held within the time limit)."""
    from bench import hardening

    checks, bystander = hardening.run_all(ground.url, ground.fn_index, ground.targets[0][1])
    stop_app(app)
    login = start_app("--auth", "bench:secret-words", "--trust-proxy", env=env, log=root / "auth.log")
    try:
        checks += hardening.auth_checks(login.url)
    finally:
        stop_app(login)
    text, ok = hardening.table(checks, bystander)
    print(f"\n## (e) round two: each class while a bystander is served (answers within 2 s)\n\n{text}", flush=True)
    held = sum(c.ok and (c.seconds <= hardening.LIMIT or not c.timed) for c in checks)
    return held, len(checks), ok


def summary(
    results: list[Result],
    report: CrowdReport | None,
    checkpoints: list[dict],
    poisoned: Counter | None = None,
    second: tuple[int, int, bool] | None = None,
) -> tuple[str, bool]:
    """The final table and whether everything held."""
    counts = Counter(r.outcome for r in results)
    rows = [
        (
            f"bad inputs sent ({len(results)})",
            f"{len(results) - counts[NOT_SENT]}",
            "> 200",
            len(results) - counts[NOT_SENT] > 200,
        )
    ]
    rows += [(outcome, str(counts[outcome]), "0", counts[outcome] == 0) for outcome in FAILURES]
    if report is not None:
        answered = report.outcomes[ANSWERED]
        rows.append(
            (
                "crowd answered",
                f"{answered} of {report.sent}",
                f"{report.sent} of {report.sent}",
                answered == report.sent,
            )
        )
    if poisoned:
        goods = sum(n for (kind, _), n in poisoned.items() if kind == "good")
        rows.append(
            (
                "good requests sent with a bad one, answered",
                f"{poisoned['good', ANSWERED]} of {goods}",
                f"{goods} of {goods}",
                poisoned["good", ANSWERED] == goods,
            )
        )
    if checkpoints:
        clear = sum(
            r["clear sentence"] and r["generate"] == ANSWERED and r["caption"] == ANSWERED and r["still answers"]
            for r in checkpoints
        )
        rows.append(
            (
                "broken checkpoints: clear sentence, rest serves",
                f"{clear} of {len(checkpoints)}",
                f"{len(checkpoints)} of {len(checkpoints)}",
                clear == len(checkpoints),
            )
        )
    if second:
        rows.append(("round two: held, within 2 s, bystander served", f"{second[0]} of {second[1]}", "all", second[2]))
    lines = ["| check | measured | target | |", "| --- | --- | --- | --- |"]
    lines += [f"| {name} | {value} | {target} | {'ok' if ok else 'FAIL'} |" for name, value, target, ok in rows]
    return "\n".join(lines), all(ok for *_, ok in rows)


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.abuse", description=__doc__.split("\n\n")[0])
    p.add_argument("--clients", type=int, default=50, help="clients in the crowd (default 50)")
    p.add_argument("--sample", type=int, default=0, help="send only about this many bad inputs (0: all)")
    p.add_argument("--workers", type=int, default=4, help="bad inputs in flight at once (default 4)")
    p.add_argument("--skip-crowd", action="store_true")
    p.add_argument("--skip-checkpoints", action="store_true")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    started = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    with tempfile.TemporaryDirectory(prefix="atelier-abuse-") as tmp:
        root = Path(tmp)
        uploads = root / "gradio"  # the app's upload folder (GRADIO_TEMP_DIR), so the bench knows where it is
        ground = make_ground(root / "bench", uploads.resolve())
        env = {"GRADIO_TEMP_DIR": str(uploads)}
        app = start_app("--trust-proxy", env=env, log=root / "app.log")
        print(f"bench.abuse {started}: the app answered {app.ready_seconds:.1f} s after start at {app.url}", flush=True)

        def restart() -> str:
            nonlocal app
            stop_app(app)
            app = start_app("--trust-proxy", env=env, log=root / "app.log")
            return app.url

        ground.url, ground.fn_index = app.url, fn_indexes(app.url)
        cases = all_cases(ground)
        cases = sample(cases, args.sample) if args.sample else cases
        results = run_cases(cases, ground, restart, workers=args.workers)
        print(f"\n## (a) {len(results)} bad inputs, by family\n\n{outcome_table(results, lambda r: r.case.family)}")
        print(f"\n## by route\n\n{outcome_table(results, lambda r: r.case.via)}")
        print(f"\n## what failed\n\n{notable(results)}", flush=True)
        report = None
        if not args.skip_crowd:
            report = crowd(ground.url, args.clients)
            print(f"\n## (b) a crowd\n\n{crowd_table(report, args.clients)}", flush=True)
        poisoned = poisoned_batches(ground.url)
        print("\n## (d) a bad request among good ones, sent at once (3 rounds)\n")
        print("\n".join(f"  {kind} requests: {n} {outcome}" for (kind, outcome), n in sorted(poisoned.items())))
        second = round_two(app, ground, env, root)
        checkpoints = []
        if not args.skip_checkpoints:
            checkpoints = [broken_checkpoint(kind, root) for kind in BREAKAGES]
            print(f"\n## (c) broken checkpoints (the starter prompter)\n\n{checkpoint_table(checkpoints)}")
        table, ok = summary(results, report, checkpoints, poisoned, second)
        print(f"\n## summary\n\n{table}\n\n{'all held' if ok else 'FAILED'}")
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
