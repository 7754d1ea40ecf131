"""The MCP server through a real MCP client (the `mcp` package): every tool callable with valid arguments,
pictures given as URLs of this app's own results, errors in sentences, each MCP client counted as itself,
and a logged-in MCP client under --auth. Each test starts its own app."""

from __future__ import annotations

import asyncio
import base64
import re
import threading
import time

import httpx
from mcp import ClientSession
from mcp.client.streamable_http import streamablehttp_client

from tests.test_guard import SLOW, basic, fn_index, serve
from ui.calls import NOT_UPLOADED
from ui.decode_full import NOTHING
from ui.guard import TOO_MANY
from zoo.errors import Cancelled


async def _session_calls(url: str, calls, headers: dict | None = None) -> tuple[list[str], list]:
    async with streamablehttp_client(f"{url}gradio_api/mcp/", headers=headers) as (read, write, _):
        async with ClientSession(read, write) as session:
            await session.initialize()
            tools = [t.name for t in (await session.list_tools()).tools]
            results = []
            for name, arguments in calls:
                if callable(arguments):
                    arguments = arguments(results)
                results.append(await session.call_tool(name, arguments))
            return tools, results


def mcp(url: str, calls, headers: dict | None = None) -> tuple[list[str], list]:
    return asyncio.run(_session_calls(url, calls, headers))


def _quietly(*args) -> None:
    try:
        mcp(*args)
    except Exception:  # cut off when the app closes: what matters is the queue meanwhile
        pass


def picture_url(results) -> str:
    """The URL of the first picture the app returned (in the generate call's text)."""
    return re.search(r"'url': '([^']+\.png)'", results[0].content[0].text).group(1)


def text(result) -> str:
    return " ".join(c.text for c in result.content if hasattr(c, "text"))


def test_every_tool_is_callable_with_valid_arguments(cache):
    def with_picture(**more):
        return lambda results: {key: picture_url(results) for key in more.pop("pictures")} | more

    calls = [
        ("generate", {"prompt": "big red ball on the left", "seed": 1}),
        ("png_info", with_picture(pictures=["image"])),
        ("expand", {"prompt": "tiny blue box"}),
        ("stylize", with_picture(pictures=["image"], style="outline style")),
        ("edit", with_picture(pictures=["image"], instruction="make the circle green")),
        ("repaint", lambda r: {"painted": {"background": picture_url(r), "layers": [picture_url(r)]}, "prompt": "x"}),
        ("extend", with_picture(pictures=["image"], prompt="a blue square")),
        ("caption", lambda r: {"image": picture_url(r), "images": [picture_url(r)]}),
        ("chat", {"message": "draw a big red ball on the left", "seed": 1}),
        ("explain", with_picture(pictures=["image"])),
        ("feedback", with_picture(pictures=["picture"], rating="up")),
        ("train", lambda r: {"files": [picture_url(r)] * 4, "steps": 10, "name": "mcp-test"}),
        ("decode_full", {"parameters": {}}),
    ]
    with serve(cache) as url:
        tools, results = mcp(url, calls)
    assert sorted(tools) == sorted(name for name, _ in calls)  # a new tool needs a call here
    off = {"feedback": "Ratings are turned off on this server.", "decode_full": NOTHING}  # not kept in this test
    for (name, _), result in zip(calls, results):
        assert not result.isError or text(result) == off.get(name), (name, text(result)[:300])
    assert "'seed': 1" in text(results[1])  # png_info read the picture generate made
    assert text(results[7]).startswith("['a large red circle on the left")


def test_bad_calls_get_sentences(cache):
    data_url = "data:image/png;base64," + base64.b64encode(b"not a png").decode()
    calls = [
        ("caption", {"image": "https://example.com/x.png"}),
        ("caption", {"image": "/etc/passwd"}),
        ("nosuch", {"prompt": "x"}),
        ("generate", {}),
        ("generate", {"prompt": ""}),
        ("png_info", {"image": data_url}),
    ]
    with serve(cache) as url:
        _, results = mcp(url, calls)
    messages = [text(r) for r in results]
    assert all(r.isError for r in results), messages
    assert messages[0] == NOT_UPLOADED
    for message in messages:
        assert "\n" not in message and message.endswith(".") and "Traceback" not in message, message
        assert "/tmp" not in message and "$defs" not in message, message


def test_each_mcp_client_is_counted_as_itself(cache, monkeypatch):
    """A person with 4 jobs waiting is refused over MCP too; another person's MCP client is served; and a
    job run over MCP counts as its MCP client's, not as the loopback address's."""
    from pipelines.tasks import generate

    release = threading.Event()

    def held(*args, **kwargs):  # no job may end before the test has looked, and none draws after
        release.wait(120)
        raise Cancelled("Stopped by the test.")

    monkeypatch.setattr(generate, "run", held)
    a, b = {"x-forwarded-for": "203.0.113.7"}, {"x-forwarded-for": "198.51.100.9"}
    with serve(cache, trust_proxy=True) as url, httpx.Client(base_url=url, timeout=60) as http:
        index = fn_index(url, "generate")
        for i in range(4):
            body = {"data": SLOW, "fn_index": index, "session_hash": f"busy-{i}"}
            assert http.post("gradio_api/queue/join", json=body, headers=a).is_success
        _, busy = mcp(url, [("expand", {"prompt": "tiny blue box"})], headers=a)
        _, other = mcp(url, [("expand", {"prompt": "tiny blue box"})], headers=b)
        slow = {"prompt": "big red ball", "steps": 8, "verify_and_refine": True, "candidates": 8, "rounds": 5}
        running = threading.Thread(target=_quietly, args=(url, [("generate", slow)], b), daemon=True)
        running.start()
        time.sleep(3)  # b's MCP job has started (and is held): with 3 more of b's own, b is full
        for i in range(3):
            body = {"data": SLOW, "fn_index": index, "session_hash": f"b-{i}"}
            assert http.post("gradio_api/queue/join", json=body, headers=b).is_success
        full = http.post("gradio_api/queue/join", json={**body, "session_hash": "b-3"}, headers=b)
        release.set()
    assert busy[0].isError and text(busy[0]) == TOO_MANY.format(n=4)
    assert not other[0].isError, text(other[0])
    assert full.status_code == 503 and full.json()["detail"] == TOO_MANY.format(n=4)


def test_a_logged_in_mcp_client_sends_basic_auth(cache):
    with serve(cache, auth=("ada", "lovelace")) as url:
        tools, results = mcp(url, [("expand", {"prompt": "tiny blue box"})], headers=basic("ada", "lovelace"))
        refused = httpx.post(
            f"{url}gradio_api/mcp/",
            json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
            headers={"accept": "application/json, text/event-stream", **basic("ada", "wrong")},
            timeout=30,
        )
    assert "expand" in tools and not results[0].isError, text(results[0])
    assert refused.status_code == 401
