"""Connection-level limits uvicorn does not have: a deadline for a request's headers.

uvicorn 0.54 closes a connection that stays idle *between* requests (`timeout_keep_alive`) and refuses
work past `limit_concurrency`, but a connection that never finishes sending its headers (or never sends
a byte) is kept open for ever. `HeaderDeadline` closes it once `header_timeout` seconds have passed
since the connection opened, or since the first byte of a later request, without a complete header
block. Slow bodies are bounded in the ASGI layer (web.AccessLayer), which reads every body first.

The deadline is added to uvicorn's fast parser (httptools) where it is installed, else to h11.
"""

from __future__ import annotations

import asyncio
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol


class _Deadline:
    """The timer, for either parser: armed while a request's headers are incomplete."""

    header_timeout: float = 10.0
    _header_timer: asyncio.TimerHandle | None
    transport: Any
    loop: Any

    def _awaiting_headers(self) -> bool:
        raise NotImplementedError

    def _arm(self) -> None:
        if self._header_timer is None and not self.transport.is_closing():
            self._header_timer = self.loop.call_later(self.header_timeout, self._too_slow)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _too_slow(self) -> None:
        self._header_timer = None
        if self._awaiting_headers() and not self.transport.is_closing():
            # A client this slow is not reading an answer either; closing frees the slot at once.
            self.transport.close()


class HeaderDeadline(_Deadline, H11Protocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self._header_timer = None
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self._awaiting_headers():  # part of a request line or headers, not all of them yet
            self._arm()
        else:
            self._disarm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _awaiting_headers(self) -> bool:
        return self.conn.their_state is h11.IDLE


def _fast_protocol() -> type[Any] | None:
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
    except ImportError:  # httptools not installed: h11 it is
        return None

    class FastHeaderDeadline(_Deadline, HttpToolsProtocol):
        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            self._header_timer = None
            self._in_headers = True
            super().connection_made(transport)
            self._arm()

        def on_message_begin(self) -> None:  # the first byte of a (later) request
            super().on_message_begin()
            self._in_headers = True
            self._arm()

        def on_headers_complete(self) -> None:
            self._in_headers = False
            self._disarm()
            super().on_headers_complete()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _awaiting_headers(self) -> bool:
            return self._in_headers

    return FastHeaderDeadline


def protocol_with(header_timeout: float) -> type[Any]:
    base = _fast_protocol() or HeaderDeadline
    return type(base.__name__, (base,), {"header_timeout": header_timeout})


__all__ = ["HeaderDeadline", "protocol_with"]
