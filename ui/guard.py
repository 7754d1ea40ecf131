"""An ASGI middleware in front of every Gradio route, for what Gradio would take badly or not check:

- With a login (--auth), every route but the login page needs it; an API or MCP client may send
  `Authorization: Basic` (USER:PASSWORD) instead of the cookie. Failed logins slow down per address.
- Every route that runs a function (/call, /call/v2, /run, /api, /queue/join, and MCP's tool calls through
  the MCP bridge) gets the same checks (ui/calls.py), on the function that will actually run; bodies are
  capped before they are parsed.
- One person (a login or an address, ui/people.py) may have `per_person` jobs waiting or running;
  uploads are held to ui/quotas.py's limits. A full queue is answered with a sentence that says to retry.
- Error answers never name a server path (ui/answers.py).
"""

from __future__ import annotations

import base64
import hmac
import json
import re
import secrets

from starlette.requests import HTTPConnection

from ui import answers, calls
from ui.answers import answer, read_body, replay, with_length
from ui.mcp_bridge import McpBridge
from ui.people import VOUCH, People, with_header, without_header
from ui.quotas import Logins, Uploads

CALL_ROUTES = [
    (re.compile(r"^/gradio_api/call/v2/([^/]{1,200})/?$"), "named"),
    (re.compile(r"^/gradio_api/call/([^/]{1,200})/?$"), "call"),
    (re.compile(r"^/gradio_api/(?:run|api)/([^/]{1,200})/?$"), "run"),
    (re.compile(r"^/gradio_api/queue/join/?$"), "join"),
]
FILE_ROUTES = ("/gradio_api/file=", "/gradio_api/file/", "/file=")
MAX_BODY = 2 * 2**20  # a call's JSON (the browser's history included): pictures arrive through /upload
SMALL_BODY = 64 * 1024  # any other POST but uploads and MCP
LOGIN_PAGE = re.compile(
    r"^/(|config/?|login/?|logout/?|favicon\.ico|theme\.css|gradio_api/theme\.css|manifest\.json|robots\.txt"
    r"|gradio_api/login_check/?|gradio_api/startup-events|(assets|static|svelte)/.*|pwa_icon.*)$"
)
UNCOUNTED = {"feedback"}  # ratings are brief database writes: many at once from one person is fine
BUSY = "Atelier is busy with {n} waiting jobs; try again in a minute."
TOO_MANY = "You already have {n} jobs waiting; wait for one to finish, then send the next."
LOG_IN = "Log in first: open the app's page, or send the login as `Authorization: Basic` (see the README)."
WRONG_LOGIN = "That user name and password do not match."
QUEUED_ONLY = "The endpoint /{name} runs through the queue: POST /gradio_api/call/{name} instead (see the README)."


class RequestGuard:
    def __init__(self, app, blocks, per_person: int, people: People, uploads: Uploads, logins: Logins):
        self.app, self.blocks, self.per_person = app, blocks, per_person
        self.people, self.uploads, self.logins = people, uploads, logins
        self.mcp = McpBridge(app, blocks, people, self._queue_refusal)
        self._tokens: dict[str, str] = {}  # user -> a login token minted for API and MCP clients
        self._persons: dict[str, str] = {}  # queued event id -> its person

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        if not self.people.vouched(scope):
            scope = without_header(scope, VOUCH)
        user, refusal = self._user(scope)
        if refusal:
            return await answer(scope, receive, send, *refusal)
        if self._auth and user is None and not LOGIN_PAGE.match(scope["path"]):
            return await answer(scope, receive, send, 401, LOG_IN)
        if user is not None:
            scope = self._logged_in(scope, user)
        person = self.people.of(scope, user)
        path, post = scope["path"], scope.get("method") == "POST"
        if not path.startswith(FILE_ROUTES):  # those echo the path the client asked for, nothing else
            send = answers.scrubbed(send)
        if post and path.rstrip("/") == "/login":
            return await self._login(scope, receive, send)
        if post and path.rstrip("/") == "/gradio_api/upload":
            return await self._upload(scope, receive, send, person)
        if path.startswith("/gradio_api/mcp"):
            return await self.mcp(scope, receive, send, person)
        route = _call_route(scope)
        if route is not None:
            return await self._call(scope, receive, send, route, person)
        if post:
            body = await read_body(scope, receive, SMALL_BODY)
            if body is None:
                return await answer(scope, receive, send, 413, "The request is too large.")
            return await self.app(scope, replay(body, receive), send)
        return await self.app(scope, receive, send)

    @property
    def _auth(self) -> dict | None:
        return getattr(self.blocks.server_app, "auth", None)

    def _user(self, scope) -> tuple[str | None, tuple[int, str] | None]:
        """The logged-in user (cookie, vouched MCP call or Basic header), or a refusal of a wrong login."""
        if not self._auth:
            return None, None
        vouched = self.people.vouched(scope)
        if vouched:
            return (vouched[len("login:") :] if vouched.startswith("login:") else None), None
        connection = HTTPConnection(scope)
        app = self.blocks.server_app
        for name in (f"access-token-{app.cookie_id}", f"access-token-unsecure-{app.cookie_id}"):
            if (user := app.tokens.get(connection.cookies.get(name))) is not None:
                return user, None
        given = connection.headers.get("authorization", "")
        if not given.lower().startswith("basic ") or not isinstance(self._auth, dict):
            return None, None
        address = self.people.address(scope)
        if wait := self.logins.wait(address):
            return None, (429, Logins.sentence(wait))
        user, password = _basic(given[6:])
        if user in self._auth and hmac.compare_digest(str(self._auth[user]).encode(), password.encode()):
            self.logins.succeeded(address)
            return user, None
        self.logins.failed(address)
        return None, (401, WRONG_LOGIN)

    def _logged_in(self, scope, user: str):
        """The request with a login cookie Gradio's own checks accept (for Basic and vouched callers)."""
        app = self.blocks.server_app
        if user not in self._tokens:
            self._tokens[user] = secrets.token_urlsafe(16)
            app.tokens[self._tokens[user]] = user
        cookie = f"access-token-unsecure-{app.cookie_id}={self._tokens[user]}"
        return with_header(scope, b"cookie", cookie)

    async def _login(self, scope, receive, send):
        address = self.people.address(scope)
        if wait := self.logins.wait(address):
            return await answer(scope, receive, send, 429, Logins.sentence(wait))
        body = await read_body(scope, receive, 4096)
        if body is None:
            return await answer(scope, receive, send, 413, "The request is too large.")
        status = []

        async def noting(message):
            if message["type"] == "http.response.start":
                status.append(message["status"])
            await send(message)

        await self.app(scope, replay(body, receive), noting)
        if status and status[0] == 200:
            self.logins.succeeded(address)
        elif status and status[0] in (400, 401):
            self.logins.failed(address)

    async def _upload(self, scope, receive, send, person: str):
        declared = HTTPConnection(scope).headers.get("content-length", "")
        limit = self.uploads.limits.per_request + SMALL_BODY  # the multipart wrapping around the files
        if declared.isdigit() and (refusal := self.uploads.refusal(person, max(0, int(declared) - SMALL_BODY))):
            return await answer(scope, receive, send, 413, refusal)
        body = await read_body(scope, receive, limit)
        if body is None or (refusal := self.uploads.refusal(person, len(body))):
            sentence = refusal if body is not None else self.uploads.refusal(person, limit + 1)
            return await answer(scope, receive, send, 413, sentence or "The upload is too large.")
        answer_body = bytearray()

        async def noting(message):
            if message["type"] == "http.response.body":
                answer_body.extend(message.get("body", b""))
            await send(message)

        await self.app(with_length(scope, body), replay(body, receive), noting)
        try:
            paths = [p for p in json.loads(bytes(answer_body)) if isinstance(p, str)]
        except (ValueError, TypeError):
            paths = []
        self.uploads.record(person, paths, len(body))

    async def _call(self, scope, receive, send, route: tuple[str, str | None], person: str):
        kind, api_name = route
        body = await read_body(scope, receive, MAX_BODY)
        if body is None:
            return await answer(scope, receive, send, 413, "The request is too large.")
        checked = self.check_call(kind, None if api_name == "predict" else api_name, body, person)
        if isinstance(checked, tuple):
            return await answer(scope, receive, send, *checked)
        return await self.app(with_length(scope, checked), replay(checked, receive), send)

    def check_call(self, kind: str, api_name: str | None, body: bytes, person: str):
        """The body to pass on (completed and with files mapped), or (status, sentence or detail) to refuse."""
        try:
            data = json.loads(body) if body else None
        except (ValueError, RecursionError):  # not JSON, or nested past what a parser should follow
            data = None
        if not calls.well_formed(data, kind):
            return 422, calls.SHAPE[kind]
        fn = calls.function_that_runs(self.blocks, kind, api_name, data)
        if fn is None:
            shown = (api_name or str(data.get("fn_index")))[:40]
            return 404, f"There is no endpoint '/{shown}'; /gradio_api/info lists them."
        if kind == "run" and fn.queue:
            return 404, QUEUED_ONLY.format(name=fn.api_name or "predict")
        if kind != "run" and (refusal := self._queue_refusal(person, fn.concurrency_id not in UNCOUNTED)):
            return 503, refusal
        if isinstance(event := data.get("event_data"), dict):  # Gradio reads "index" and "value" unasked
            data = {**data, "event_data": {"index": None, "value": None, **event}}  # (other kinds: as sent)
        if kind == "named":
            if unknown := set(data) - set(calls.names(fn)) - {"oauth_token"}:
                return 422, f"The endpoint /{api_name} takes no parameter '{sorted(unknown)[0][:40]}'."
            given = [data.get(name) for name in calls.names(fn)]
        else:
            given = data["data"]
        values, bad = calls.localize_files(fn, given)
        if bad:
            detail = [{"__type__": "validate", "is_valid": False, "message": calls.NOT_UPLOADED, "parameter_name": bad}]
            return 422, detail
        if kind == "named":  # every parameter named; missing ones None, which each handler reads as its default
            return json.dumps({**data, **dict(zip(calls.names(fn), values))}).encode()
        return json.dumps({**data, "data": values + [None] * (len(fn.inputs) - len(values))}).encode()

    def _queue_refusal(self, person: str, counted: bool = True) -> str | None:
        queue = self.blocks._queue
        if queue.max_size is not None and len(queue) >= queue.max_size:
            return BUSY.format(n=len(queue))
        if not counted:
            return None
        events = {k: e for k, e in queue.event_ids_to_events.items() if _counted(e)}
        for gone in [key for key in self._persons if key not in events]:
            del self._persons[gone]
        mine = 0
        for key, event in events.items():  # each event's person worked out once, not at every join
            if key not in self._persons:
                self._persons[key] = self._person_of(event) or ""
            mine += self._persons[key] == person
        return TOO_MANY.format(n=mine) if mine >= self.per_person else None

    def _person_of(self, event) -> str | None:
        request = getattr(event, "request", None)
        scope = getattr(request, "scope", None)
        return self.people.of(scope, getattr(event, "username", None)) if scope else None


def _counted(event) -> bool:
    fn = getattr(event, "fn", None)
    return getattr(fn, "concurrency_id", None) not in UNCOUNTED


def _call_route(scope) -> tuple[str, str | None] | None:
    if scope.get("method") != "POST":
        return None
    for pattern, kind in CALL_ROUTES:
        if m := pattern.match(scope["path"]):
            return kind, (m.group(1) if m.groups() else None)
    return None


def _basic(encoded: str) -> tuple[str, str]:
    try:
        user, _, password = base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return "", ""
    return user, password
