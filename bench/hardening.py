"""Round two of bench.abuse (issue 24): each class the second attack found, tried with variants against a
started app (loopback only) while a bystander client keeps asking /expand. Every answer must come within
2 s, refuse what it should (no bypass), name no server path (no leak) and be a sentence.

Classes: a PNG whose settings text would make a backtracking reader freeze; one client rotating its
session_hash to fill the queue; /api and /run naming one function and running another, and a 60 MB body;
picture URLs (remote, unresolvable, loopback) that must not be fetched; history restores of thousands of
entries and absurd numbers; uploads past the per-request, per-hour limits; login guessing, routes without
the login, MCP with and without it; MCP tools with valid and bad arguments, and MCP clients kept apart."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import socket
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from PIL import Image, PngImagePlugin

from bench.abuse import PICTURE, REPO, readable

LIMIT = 2.0  # seconds an answer may take while the bystander is served
ATTACKER = {"x-forwarded-for": "203.0.113.66"}  # the app runs with --trust-proxy: the bench's people apart
SLOW = ["big red ball", None, None, None, None, 8, None, None, None, None, None, True, 8, 5, None]


@dataclass
class Check:
    family: str
    name: str
    ok: bool
    seconds: float
    detail: str = ""
    timed: bool = True  # whether the 2 s limit applies (not to a real tool run)
    started: float = 0.0


@dataclass
class Bystander:
    """A client of its own asking /expand in a loop: how it is served while the checks run."""

    url: str
    seconds: list[float] = field(default_factory=list)
    starts: list[float] = field(default_factory=list)
    failures: int = 0
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        headers = {"x-forwarded-for": "198.51.100.200"}
        with httpx.Client(base_url=self.url, timeout=60, headers=headers) as http:
            while not self.stop.is_set():
                started = time.perf_counter()
                try:
                    sent = http.post("gradio_api/call/expand", json={"data": ["tiny blue box"]}).json()
                    ok = "event: complete" in http.get(f"gradio_api/call/expand/{sent['event_id']}").text
                except (httpx.HTTPError, KeyError, ValueError):
                    ok = False
                self.seconds.append(time.perf_counter() - started)
                self.starts.append(started)
                self.failures += not ok
                time.sleep(0.2)


def timed(family: str, name: str, send: Callable[[], tuple[bool, str]], limit: bool = True) -> Check:
    started = time.perf_counter()
    try:
        ok, detail = send()
    except Exception as e:  # the bench's own trouble is shown as it is, and fails the check
        ok, detail = False, f"bench error {type(e).__name__}: {e}"[:200]
    return Check(family, name, ok, time.perf_counter() - started, detail, limit, started)


def sentence_of(answer: httpx.Response) -> str:
    try:
        detail = answer.json().get("detail")
    except ValueError:
        return answer.text[:200]
    if isinstance(detail, list) and detail and isinstance(detail[0], dict):
        detail = detail[0].get("message")
    return str(detail)


def refused(answer: httpx.Response, status: int) -> tuple[bool, str]:
    message = sentence_of(answer)
    return answer.status_code == status and readable(message) and str(REPO) not in answer.text, message[:120]


# ------------------------------------------------------------------ the PNG settings reader


def png_with(text: str) -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", text)
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buffer, format="PNG", pnginfo=info)
    return buffer.getvalue()


PNG_TEXTS = {
    "open quote of escapes": "p\nA: " + '"' + "\\" * 20_000,
    "escaped quotes": "p\nA: " + '"\\"' * 6_000,
    "labels without colons": "p\n" + "A " * 20_000 + ": x",
    "empty labels": "p\n" + "A: " * 20_000,
    "commas": "p\nA: " + "," * 60_000,
    "past the cap": "p\nSteps: 4, " + "x" * 70_000,
}


def png_checks(url: str) -> list[Check]:
    def one(text: str) -> Callable[[], tuple[bool, str]]:
        def send():
            with httpx.Client(base_url=url, timeout=30, headers=ATTACKER) as http:
                path = http.post("gradio_api/upload", files=[("files", ("p.png", png_with(text)))]).json()[0]
                sent = http.post("gradio_api/call/png_info", json={"data": [{"path": path}]}).json()
                stream = http.get(f"gradio_api/call/png_info/{sent['event_id']}").text
            last = stream.strip().split("\n\n")[-1]
            message = json.loads(last.split("data:", 1)[1]) if "data:" in last else None
            ok = last.startswith("event: complete") or (isinstance(message, dict) and readable(message.get("error")))
            return ok, last[:120]

        return send

    return [timed("PNG reader", name, one(text)) for name, text in PNG_TEXTS.items()]


# ------------------------------------------------------------------ queue, routes, URLs


def queue_checks(url: str, fn: dict[str, int]) -> list[Check]:
    def rotate():
        with httpx.Client(base_url=url, timeout=30, headers=ATTACKER) as http:
            codes = [
                http.post(
                    "gradio_api/queue/join", json={"data": SLOW, "fn_index": fn["generate"], "session_hash": f"r{i}"}
                ).status_code
                for i in range(12)
            ]
            other_route = http.post("gradio_api/call/generate", json={"data": SLOW}).status_code
        return codes.count(200) <= 4 and other_route == 503, f"accepted {codes.count(200)} of 12, /call {other_route}"

    return [timed("per person", "12 joins, 12 session hashes, one address", rotate)]


def route_checks(url: str, fn: dict[str, int], foreign: str) -> list[Check]:
    big = b'{"data": ["' + b"x" * (60 * 2**20) + b'"]}'
    value = {"path": foreign, "meta": {"_type": "gradio.FileData"}}
    sends = {
        "60 MB prompt to /api/expand": lambda h: h.post(
            "gradio_api/api/expand", content=big, headers={"content-type": "application/json"}
        ),
        "60 MB prompt to /call/expand, chunked": lambda h: h.post(
            "gradio_api/call/expand", content=iter([big[: 2**20]] * 60)
        ),
        "/run/expand running caption by fn_index": lambda h: h.post(
            "gradio_api/run/expand", json={"data": [value], "fn_index": fn["caption"]}
        ),
        "/api/predict running caption by fn_index": lambda h: h.post(
            "gradio_api/api/predict", json={"data": [value], "fn_index": fn["caption"]}
        ),
        "/call/v2/caption with a server path": lambda h: h.post("gradio_api/call/v2/caption", json={"image": value}),
        "/api/caption": lambda h: h.post("gradio_api/api/caption", json={"data": [value]}),
    }
    expected = {0: 413, 1: 413}

    def one(i: int, name: str, send):
        def go():
            with httpx.Client(base_url=url, timeout=30, headers=ATTACKER) as http:
                answer = send(http)
            ok, message = refused(
                answer, expected.get(i, answer.status_code if answer.status_code in (404, 422) else 0)
            )
            return ok and ("fn_index" not in name or "/caption" in message), message  # judged as what runs

        return go

    return [timed("every route", name, one(i, name, send)) for i, (name, send) in enumerate(sends.items())]


def url_checks(url: str) -> list[Check]:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.settimeout(0.5)
        port = listener.getsockname()[1]
        targets = {
            "loopback listener": f"http://127.0.0.1:{port}/x.png",
            "unresolvable host": "https://no-such-host.invalid/x.png",
            "public host": "https://example.com/x.png",
            "metadata address": "http://169.254.169.254/latest/meta-data",
            "own file route, server file": f"{url}gradio_api/file=/etc/hostname",
        }
        messages: set[str] = set()

        def one(address: str):
            def go():
                with httpx.Client(base_url=url, timeout=30, headers=ATTACKER) as http:
                    answer = http.post("gradio_api/call/caption", json={"data": [{"path": address, "url": address}]})
                messages.add(sentence_of(answer))
                return refused(answer, 422)

            return go

        checks = [timed("picture URLs", name, one(address)) for name, address in targets.items()]
        try:
            listener.accept()
            fetched = True
        except OSError:
            fetched = False
    checks.append(Check("picture URLs", "one sentence for all, nothing fetched", len(messages) == 1 and not fetched, 0))
    return checks


# ------------------------------------------------------------------ history, uploads, leaks


def history_fns(url: str) -> tuple[int, int]:
    """The fn_index of the history's load (gallery) and select (restore) events, found by their input."""
    config = httpx.get(f"{url}config", timeout=30).json()
    for saved in (c["id"] for c in config["components"] if c.get("type") == "browserstate"):
        fns = [d for d in config["dependencies"] if d["inputs"] == [saved]]
        load = [d["id"] for d in fns if any(t[1] == "load" for t in d["targets"])]
        select = [d["id"] for d in fns if any(t[1] == "select" for t in d["targets"])]
        if load and select:
            return load[0], select[0]
    raise LookupError("the page has no history (a browser state with load and select events)")


def thumb() -> str:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def join_and_wait(http: httpx.Client, body: dict) -> str:
    """A /queue/join and its session's stream until the job completes: the completion message (or refusal)."""
    joined = http.post("gradio_api/queue/join", json=body)
    if joined.status_code != 200:
        return joined.text
    stream = http.get(f"gradio_api/queue/data?session_hash={body['session_hash']}", timeout=30).text
    done = [line for line in stream.splitlines() if "process_completed" in line]
    return done[-1] if done else stream[-300:]


def history_checks(url: str) -> list[Check]:
    load, select = history_fns(url)
    many = [{"thumb": thumb(), "settings": {"prompt": f"p{i}"}} for i in range(5000)]
    absurd = [{"thumb": thumb(), "settings": {"prompt": "p", "width": 10**30, "height": float("1e308")}}]

    def restore_many():
        with httpx.Client(base_url=url, timeout=30, headers=ATTACKER) as http:
            done = join_and_wait(http, {"data": [many], "fn_index": load, "session_hash": "h-many"})
        return '"success": true' in done.replace('"success":true', '"success": true'), done[-120:]

    def absurd_width():
        body = {"data": [absurd], "fn_index": select, "session_hash": "h-absurd", "event_data": {"index": 0}}
        with httpx.Client(base_url=url, timeout=30, headers=ATTACKER) as http:
            done = join_and_wait(http, body)
        message = json.loads(done.split("data:", 1)[1])["output"].get("error") if "data:" in done else None
        return readable(message) and "width" in str(message), str(message)[:120]

    return [
        timed("history", "5000 entries restored", restore_many),
        timed("history", "an entry 10^30 pixels wide", absurd_width),
    ]


def upload_checks(url: str) -> list[Check]:
    def several_small():
        files = [("files", (f"f{i}.png", b"\x89PNG" + bytes(6 * 2**20))) for i in range(4)]
        with httpx.Client(base_url=url, timeout=30, headers={"x-forwarded-for": "203.0.113.70"}) as http:
            return refused(http.post("gradio_api/upload", files=files), 413)

    def loop():
        codes = []
        with httpx.Client(base_url=url, timeout=30, headers={"x-forwarded-for": "203.0.113.71"}) as http:
            for i in range(12):
                answer = http.post("gradio_api/upload", files=[("files", (f"u{i}.png", bytes(19 * 2**20)))])
                codes.append(answer.status_code)
        ok = codes[:5] == [200] * 5 and codes[-1] == 413 and readable(sentence_of(answer))
        return ok, f"{codes.count(200)} of 12 x 19 MB accepted: {sentence_of(answer)[:80]}"

    return [
        timed("uploads", "4 files of 6 MB in one request", several_small),
        timed("uploads", "12 uploads of 19 MB in a loop", loop, limit=False),
    ]


def leak_checks(url: str, fn: dict[str, int]) -> list[Check]:
    """Values that make Gradio name a path in its own errors: each answer must name no server folder."""
    inside = {"path": str(REPO / "app.py"), "meta": {"_type": "gradio.FileData"}}
    load, _ = history_fns(url)

    def one(body: dict):
        def go():
            with httpx.Client(base_url=url, timeout=30, headers=ATTACKER) as http:
                done = join_and_wait(http, body)
            leaked = str(REPO) in done or "Cannot move" in done or "/tmp/" in done.split('"output"')[-1]
            return not leaked, done[-120:]

        return go

    bodies = {
        "the app's source as a gallery value": {"data": [[inside]], "fn_index": load, "session_hash": "l1"},
        "the app's source as a caption picture": {"data": [inside], "fn_index": fn["caption"], "session_hash": "l2"},
        "a prompt that is a path": {"data": [str(REPO / "x")], "fn_index": fn["expand"], "session_hash": "l3"},
    }
    return [timed("leaks", name, one(body)) for name, body in bodies.items()]


# ------------------------------------------------------------------ MCP and the login


def mcp_session(url: str, calls: list, headers: dict) -> list:
    from mcp import ClientSession
    from mcp.client.streamable_http import streamablehttp_client

    async def go():
        async with streamablehttp_client(f"{url}gradio_api/mcp/", headers=headers) as (read, write, _):
            async with ClientSession(read, write) as session:
                await session.initialize()
                results, seconds = [], []
                for name, arguments in calls:
                    arguments = arguments(results) if callable(arguments) else arguments
                    started = time.perf_counter()
                    results.append(await session.call_tool(name, arguments))
                    seconds.append(time.perf_counter() - started)
                SECONDS[:] = seconds
                return results

    return asyncio.run(go())


SECONDS: list[float] = []  # each call of the last mcp_session


def text(result) -> str:
    return " ".join(getattr(c, "text", "") for c in result.content)


def mcp_checks(url: str) -> list[Check]:
    def picture(results) -> str:
        return text(results[0]).split("'url': '", 1)[1].split("'", 1)[0]

    good = [
        ("generate", {"prompt": "big red ball on the left", "seed": 1}),
        ("png_info", lambda r: {"image": picture(r)}),
        ("expand", {"prompt": "tiny blue box"}),
        ("stylize", lambda r: {"image": picture(r), "style": "outline style"}),
        ("edit", lambda r: {"image": picture(r), "instruction": "make the circle green"}),
        ("repaint", lambda r: {"painted": {"background": picture(r), "layers": [picture(r)]}, "prompt": "x"}),
        ("extend", lambda r: {"image": picture(r), "prompt": "a blue square"}),
        ("caption", lambda r: {"image": picture(r), "images": [picture(r)]}),
    ]
    bad = [
        ("caption", {"image": "https://example.com/x.png"}),
        ("caption", {"image": str(REPO / "app.py")}),
        ("nosuch", {}),
        ("generate", {}),
        ("generate", {"prompt": "x", "steps": "many"}),
        ("repaint", {"painted": "not an editor"}),
    ]

    def every_tool():
        results = mcp_session(url, good, {"x-forwarded-for": "203.0.113.80"})
        failed = [name for (name, _), r in zip(good, results) if r.isError]
        return not failed, f"{len(good) - len(failed)} of {len(good)} tools answered; failed: {failed}"

    def bad_calls():
        results = mcp_session(url, bad, {"x-forwarded-for": "203.0.113.81"})
        unclear = [text(r)[:60] for r in results if not (r.isError and readable(text(r)) and str(REPO) not in text(r))]
        slowest = max(SECONDS)
        detail = f"{len(bad) - len(unclear)} of {len(bad)} refused in a sentence, slowest {slowest:.2f} s; {unclear}"
        return not unclear and slowest <= LIMIT, detail

    return [
        timed("MCP", "every tool with valid arguments", every_tool, limit=False),
        timed("MCP", "bad tool calls (each within 2 s)", bad_calls, limit=False),
    ]


def basic(user: str, password: str) -> dict:
    return {"authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def auth_checks(url: str) -> list[Check]:
    """Against an app started with --auth bench:secret-words."""
    unlogged = {
        "GET /gradio_api/mcp/schema": ("GET", "gradio_api/mcp/schema"),
        "POST /gradio_api/mcp/ tools/list": ("POST", "gradio_api/mcp/"),
        "POST /gradio_api/cancel": ("POST", "gradio_api/cancel"),
        "POST /gradio_api/reset": ("POST", "gradio_api/reset"),
        "GET /gradio_api/heartbeat/x": ("GET", "gradio_api/heartbeat/x"),
        "GET /gradio_api/info": ("GET", "gradio_api/info"),
        "POST /gradio_api/upload": ("POST", "gradio_api/upload"),
        "POST /gradio_api/call/expand": ("POST", "gradio_api/call/expand"),
    }

    def one(method: str, path: str):
        def go():
            with httpx.Client(base_url=url, timeout=30) as http:
                return refused(
                    http.request(method, path, json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"}), 401
                )

        return go

    def guessing():
        with httpx.Client(base_url=url, timeout=30, headers={"x-forwarded-for": "203.0.113.90"}) as http:
            codes = [http.post("login", data={"username": "bench", "password": f"guess{i}"}) for i in range(8)]
        return [c.status_code for c in codes[:5]] == [400] * 5 and refused(codes[-1], 429)[0], sentence_of(codes[-1])

    def logged_in_mcp():
        results = mcp_session(url, [("expand", {"prompt": "tiny blue box"})], basic("bench", "secret-words"))
        return not results[0].isError, text(results[0])[:80]

    checks = [timed("login", f"{name} without the login", one(*where)) for name, where in unlogged.items()]
    checks.append(timed("login", "8 guesses from one address", guessing))
    checks.append(timed("login", "an MCP client with Basic auth", logged_in_mcp, limit=False))
    return checks


def warm_up(url: str) -> None:
    """Each model loaded once before anything is timed (a first load takes seconds)."""
    from gradio_client import Client, handle_file

    client = Client(url, verbose=False, headers={"x-forwarded-for": "198.51.100.250"})
    client.predict("tiny blue box", api_name="/expand")
    client.predict(handle_file(str(PICTURE)), api_name="/caption")
    client.predict("big red ball", seed=1, api_name="/generate")


def run_all(url: str, fn: dict[str, int], foreign: str) -> tuple[list[Check], Bystander]:
    """Every check but the login's, in turn, while the bystander asks /expand."""
    warm_up(url)
    bystander = Bystander(url)
    thread = threading.Thread(target=bystander.run, daemon=True)
    thread.start()
    checks: list[Check] = []
    try:
        for family in (png_checks, url_checks, history_checks, leak_checks, mcp_checks, upload_checks):
            args = {"fn": fn} if family is leak_checks else {}
            checks += family(url, **args)
        checks += route_checks(url, fn, foreign)
        checks += queue_checks(url, fn)
    finally:
        bystander.stop.set()
        thread.join()
    return checks, bystander


def table(checks: list[Check], bystander: Bystander | None) -> tuple[str, bool]:
    lines = ["| class | case | held | seconds | answer |", "| --- | --- | --- | --- | --- |"]
    ok = True
    for c in checks:
        fast = c.seconds <= LIMIT or not c.timed
        ok &= c.ok and fast
        held = "yes" if c.ok and fast else ("NO" if not c.ok else "SLOW")
        lines.append(f"| {c.family} | {c.name} | {held} | {c.seconds:.2f} | {c.detail[:90]} |")
    if bystander is not None and bystander.seconds:
        worst = max(bystander.seconds)
        ok &= bystander.failures == 0 and worst <= LIMIT
        at = bystander.starts[bystander.seconds.index(worst)]
        during = [c.name for c in checks if c.started <= at + worst and at <= c.started + c.seconds]
        lines.append(
            f"\nbystander: {len(bystander.seconds)} /expand requests, {bystander.failures} failed, "
            f"median {statistics.median(bystander.seconds):.2f} s, slowest {worst:.2f} s (during: {during})"
        )
    return "\n".join(lines), ok


def main() -> int:
    """`python -m bench.hardening`: round two alone (bench.abuse runs it after its other parts)."""
    import tempfile

    from bench.abuse import fn_indexes, start_app, stop_app

    with tempfile.TemporaryDirectory(prefix="atelier-hardening-") as tmp:
        env = {"GRADIO_TEMP_DIR": str(Path(tmp) / "gradio")}
        secret = Path(tmp) / "secret.png"
        secret.write_bytes(PICTURE.read_bytes())
        app = start_app("--trust-proxy", env=env, log=Path(tmp) / "app.log")
        try:
            checks, bystander = run_all(app.url, fn_indexes(app.url), str(secret))
        finally:
            stop_app(app)
        print(table(checks, bystander)[0], flush=True)
        login = start_app("--auth", "bench:secret-words", "--trust-proxy", env=env, log=Path(tmp) / "auth.log")
        try:
            checks += auth_checks(login.url)
        finally:
            stop_app(login)
    text, ok = table(checks, bystander)
    print(text)
    print("all held" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
