"""In-process transport to the sandbox, with connection drops on top of the app's faults."""

from __future__ import annotations

import httpx
from starlette.applications import Starlette

from .faults import Dice, Faults


class SandboxTransport(httpx.AsyncBaseTransport):
    """Send requests straight into the app (no sockets) through `httpx.ASGITransport`.

    With `drop_rate`, half the drops fail before the app sees the request
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

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
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

    async def aclose(self) -> None:
        await self._inner.aclose()
