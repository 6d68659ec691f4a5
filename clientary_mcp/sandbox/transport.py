"""In-process transport to the sandbox, with connection drops on top of the app's faults."""

from __future__ import annotations

import dataclasses
import json

import httpx
from starlette.applications import Starlette
from starlette.datastructures import QueryParams
from starlette.routing import Match

from .app import NO_ROUTE, UNAUTHORIZED, _authorized, _canonical_path
from .faults import Dice, Faults
from .http import ApiError, Call, parse_body
from .store import RequestRecord

_QUIET = {f.name: f.default for f in dataclasses.fields(Faults) if f.name != "seed"}
_BODY_METHODS = ("POST", "PUT", "PATCH")


def _faults_off(faults: Faults) -> bool:
    return all(getattr(faults, name) == default for name, default in _QUIET.items())


class SandboxTransport(httpx.AsyncBaseTransport):
    """Send requests straight into the app (no sockets).

    With every fault off, a request goes directly to its handler, with the same routing, token check,
    answers and request log as the ASGI app but without an ASGI round trip (what `serve --sandbox`
    runs on); `ClientaryClient` goes further and calls `exchange`, skipping httpx's own machinery.
    With any fault on it goes through the app via `httpx.ASGITransport`, where the faults are injected. With `drop_rate`, half the drops fail before the app sees the request
    (`httpx.ConnectError`, safe to retry) and half after it handled it (`httpx.ReadError`:
    the change happened but the caller never hears the answer).
    """

    def __init__(self, app: Starlette, *, faults: Faults | None = None) -> None:
        self._inner = httpx.ASGITransport(app=app)
        self._faults = faults
        self._app = app
        self._dice = Dice("transport")

    @property
    def faults(self) -> Faults:
        return self._faults if self._faults is not None else self._app.state.faults

    def exchange(self, method: str, path: str, query: list[tuple[str, str]], body: bytes,
                 authorization: str) -> tuple[int, list[tuple[str, str]], bytes] | None:
        """Answer a request without httpx on either side: (status, headers, body), or None when a fault
        is on and the request must go through `handle_async_request`, where faults are injected."""
        if not self._quiet():
            return None
        status, payload, headers = self._answer(method, path, query, body, authorization)
        self._app.state.store.requests.append(RequestRecord(method, path, status))
        content = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        return status, [("content-type", "application/json"), *headers.items()], content

    def _quiet(self) -> bool:
        """No fault can apply: none of this transport's own, and every one of the app's off."""
        return self._faults is None and _faults_off(self._app.state.faults)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self._quiet():
            return await self._direct(request)
        faults = self.faults
        dropped = self._dice.roll(faults, faults.drop_rate)
        before = self._dice.roll(faults, 0.5)
        if dropped and before:
            raise httpx.ConnectError("sandbox: connection dropped before sending", request=request)
        response = await self._inner.handle_async_request(request)
        if dropped:
            await response.aclose()
            raise httpx.ReadError("sandbox: connection dropped before the response arrived", request=request)
        return response

    async def _direct(self, request: httpx.Request) -> httpx.Response:
        answer = self.exchange(request.method, request.url.path, QueryParams(request.url.query).multi_items(),
                               await request.aread(), request.headers.get("authorization", ""))
        assert answer is not None  # faults are off: checked by the caller
        status, headers, content = answer
        return httpx.Response(status, headers=headers, content=content, request=request)

    def _answer(self, method: str, raw_path: str, query: list[tuple[str, str]], raw_body: bytes,
                authorization: str) -> tuple[int, dict, dict]:
        state = self._app.state
        header = authorization.encode("latin-1", "replace")
        if not _authorized({"headers": [(b"authorization", header)]}, state.token):
            return UNAUTHORIZED
        scope = {"type": "http", "path": _canonical_path(raw_path), "method": method, "root_path": ""}
        for route in self._app.router.routes:
            match, child = route.matches(scope)
            if match is Match.FULL:
                break
        else:
            return NO_ROUTE  # unknown path or method, as the app's router answers
        try:
            call = Call(store=state.store, faults=state.faults, params=child["path_params"],
                        query=QueryParams(query), body=parse_body(raw_body if method in _BODY_METHODS else b""))
            status, payload = route.endpoint.handler(call)
        except ApiError as exc:
            return exc.status, exc.body, exc.headers
        return status, payload, {}

    async def aclose(self) -> None:
        await self._inner.aclose()
