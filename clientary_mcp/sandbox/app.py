"""The Starlette application: routing, authentication, fault injection, request log."""

from __future__ import annotations

import base64
import binascii
import datetime
import json
from typing import Any

import anyio
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .faults import Dice, Faults, matches_failing_write, retry_after_header
from .http import ApiError, Call, parse_body
from .resources import estimates, invoices, messages, payments, people, recurring, work
from .resources.common import Handler
from .seed import seed
from .store import RequestRecord, Store

DEMO_TOKEN = "sandbox-demo-token"
API_PREFIX = "/api/v2"
RESOURCE_MODULES = (people, work, invoices, estimates, payments, recurring, messages)
READ_METHODS = {"GET", "HEAD", "OPTIONS"}
# What the API answers a request without valid credentials, and a path or method it does not route.
UNAUTHORIZED = (401, {"error": "HTTP Basic: Access denied."}, {"WWW-Authenticate": 'Basic realm="Clientary API"'})
NO_ROUTE = (404, {"error": "Not Found"}, {})


def _endpoint(handler: Handler):
    async def endpoint(request: Request) -> JSONResponse:
        raw = await request.body() if request.method in ("POST", "PUT", "PATCH") else b""
        # No await from here on: the handler reads and writes the store in one step, so
        # concurrent requests on the event loop cannot interleave inside it.
        call = Call(
            store=request.app.state.store,
            faults=request.app.state.faults,
            params=dict(request.path_params),
            query=request.query_params,
            body=parse_body(raw),
        )
        status, payload = handler(call)
        return JSONResponse(payload, status_code=status)

    endpoint.handler = handler  # type: ignore[attr-defined]  # for the in-process direct path
    return endpoint


def _routes() -> list[Route]:
    routes = []
    for module in RESOURCE_MODULES:
        for method, path, handler in module.ROUTES:
            methods = [method, "PATCH"] if method == "PUT" else [method]  # Rails routes PATCH like PUT
            routes.append(Route(API_PREFIX + path, _endpoint(handler), methods=methods))
    return routes


async def _api_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return JSONResponse(exc.body, status_code=exc.status, headers=exc.headers)


async def _no_route(request: Request, exc: Exception) -> JSONResponse:
    # Unknown paths and known paths with an unsupported method both answer 404, like a Rails router.
    status, body, _ = NO_ROUTE
    return JSONResponse(body, status_code=status)


def _canonical_path(path: str) -> str:
    """`/clients.json`, `/clients/` and `/clients` are the same resource."""
    if len(path) > 1:
        path = path.rstrip("/") or "/"
    if path.endswith(".json"):
        path = path[: -len(".json")]
    return path


def _authorized(scope: Scope, token: str) -> bool:
    header = dict(scope.get("headers") or []).get(b"authorization", b"")
    scheme, _, encoded = header.partition(b" ")
    if scheme.lower() != b"basic":
        return False
    try:
        user, _, password = base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return False
    return user == token and password == token


async def _reply(send: Send, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
    payload = json.dumps(body).encode()
    raw_headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    raw_headers += [(key.lower().encode(), value.encode()) for key, value in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": payload})


class Gate:
    """Outermost layer: logs every request, injects faults, checks the token.

    Order matters: drops (served mode), latency and 429 come before anything else, so
    no effect happens; 5xx on reads replaces the handler; 5xx on writes replaces its
    answer after it ran.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope["app"].state
        statuses: list[int] = []

        async def recording_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                statuses.append(message["status"])
            await send(message)

        try:
            await self._guarded(scope, receive, recording_send, state)
        finally:
            state.store.requests.append(RequestRecord(scope["method"], scope["path"], statuses[0] if statuses else 500))

    async def _guarded(self, scope: Scope, receive: Receive, send: Send, state: Any) -> None:
        faults: Faults = state.faults
        dice: Dice = state.dice
        if state.drops_in_app and dice.roll(faults, faults.drop_rate):
            await self._drop(scope, receive, send, state, before=dice.roll(faults, 0.5))
        delay = faults.latency + (faults.latency_spike if dice.roll(faults, faults.latency_spike_rate) else 0.0)
        if delay > 0:
            await anyio.sleep(delay)
        if dice.roll(faults, faults.rate_429):
            headers = {"Retry-After": retry_after_header(faults.retry_after)}
            await _reply(send, 429, {"error": "Rate limit exceeded. Retry later."}, headers)
            return
        if not _authorized(scope, state.token):
            await _reply(send, *UNAUTHORIZED)
            return
        scope = {**scope, "path": _canonical_path(scope["path"])}
        writing = scope["method"] not in READ_METHODS
        if writing and faults.fail_writes and matches_failing_write(faults, scope["method"], scope["path"]):
            state.fail_seen = getattr(state, "fail_seen", 0) + 1
            if state.fail_seen > faults.fail_after:
                await _reply(send, faults.fail_status, {"error": "The server is temporarily unavailable."})
                return
        if writing and faults.empty_update_bodies and scope["method"] in ("PUT", "PATCH"):
            answer: list[Message] = []

            async def keep(message: Message) -> None:
                answer.append(message)

            await self.app(scope, receive, keep)
            if answer and answer[0]["status"] == 200:
                answer = [{"type": "http.response.start", "status": 204, "headers": []},
                          {"type": "http.response.body", "body": b""}]
            for message in answer:  # errors keep their body; only successes are answered empty
                await send(message)
            return
        if not dice.roll(faults, faults.rate_5xx_writes if writing else faults.rate_5xx_reads):
            await self.app(scope, receive, send)
        elif not writing:
            status = dice.choice(faults, (500, 502, 503))
            await _reply(send, status, {"error": "The server is temporarily unavailable."})
        else:
            await self.app(scope, receive, _discard)  # the change is applied; its answer is lost
            await _reply(send, 502, {"error": "Bad Gateway"})

    async def _drop(self, scope: Scope, receive: Receive, send: Send, state: Any, before: bool) -> None:
        """Served mode: abort the answer so the server cuts the connection; a late drop
        applies the request first. In process, SandboxTransport drops instead."""
        if not before and _authorized(scope, state.token):
            await self.app({**scope, "path": _canonical_path(scope["path"])}, receive, _discard)
        headers = [(b"content-type", b"application/json"), (b"content-length", b"4096")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        raise DroppedConnection


class DroppedConnection(Exception):
    """Aborts a response mid-way; served mode only (in-process drops are SandboxTransport's)."""


async def _discard(message: Message) -> None:
    return None


def create_app(
    *,
    token: str = DEMO_TOKEN,
    seed_data: bool = True,
    faults: Faults | None = None,
    today: datetime.date | None = None,
) -> Starlette:
    """A fresh sandbox with its own store. `app.state.store`, `app.state.faults` are live."""
    store = Store(today=today)
    if seed_data:
        seed(store)
    app = Starlette(
        routes=_routes(),
        middleware=[Middleware(Gate)],
        exception_handlers={ApiError: _api_error, HTTPException: _no_route},
    )
    app.state.store = store
    app.state.faults = faults if faults is not None else Faults()
    app.state.token = token
    app.state.dice = Dice("app")
    app.state.drops_in_app = False  # run() turns this on; in process, SandboxTransport drops
    return app
