"""MCP over stdio: the SDK's transport, plus an answer for every line that is not a valid message.

The SDK drops a line it cannot decode. For a request that means the client waits for an answer that never
comes. JSON-RPC 2.0 says what to send instead: Parse error (-32700) for bad JSON, Invalid Request (-32600)
for anything that is not a request, notification or response — with the request's id when it can be read,
else null. Valid notifications and anything shaped like a response are never answered.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from io import TextIOWrapper
from typing import Any

import anyio
import mcp_types as types
from mcp.server.stdio import stdio_server as sdk_stdio_server
from mcp.shared.message import SessionMessage
from pydantic import ValidationError

log = logging.getLogger("clientary_mcp")

_DROP = object()  # a line to ignore without an answer


class _UnownedText(TextIOWrapper):
    """Text layer over stdin that never closes the process's own buffer."""

    def close(self) -> None:
        try:
            self.detach()
        except ValueError:
            pass


class _Lines:
    """Stdin lines, each read in a worker thread that is left behind if the server is stopped meanwhile.

    A blocked read of stdin cannot be interrupted, and waiting for it would keep Ctrl-C from stopping
    the server until the host sends another line.
    """

    def __init__(self, text: TextIOWrapper) -> None:
        self._text = text

    def __aiter__(self) -> "_Lines":
        return self

    async def __anext__(self) -> str:
        line = await anyio.to_thread.run_sync(self._text.readline, abandon_on_cancel=True)
        if not line:
            raise StopAsyncIteration
        return line


def _not_json(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _error(msg_id: Any, code: int, message: str) -> types.JSONRPCError:
    return types.JSONRPCError(jsonrpc="2.0", id=msg_id, error=types.ErrorData(code=code, message=message))


def screen(line: str) -> types.JSONRPCError | object | None:
    """None for a line the SDK will take; else the error to answer it with, or _DROP."""
    if not line.strip():
        return _DROP  # blank lines between messages are harmless
    too_deep = decoded = False
    try:
        # The very decoder the SDK uses, so that exactly the lines it would drop are answered here.
        message = types.jsonrpc_message_adapter.validate_json(line, by_name=False)
    except ValidationError as exc:
        too_deep = any("recursion limit" in str(e.get("msg", "")) for e in exc.errors())
    else:
        if not isinstance(message, types.JSONRPCNotification) or '"id"' not in line:
            return None
        decoded = True
    try:
        data = json.loads(line, parse_constant=_not_json)
    except ValueError:
        return _error(None, types.PARSE_ERROR, "Parse error: the line is not valid JSON")
    except RecursionError:
        return _error(None, types.PARSE_ERROR, "Parse error: the JSON is nested too deeply")
    if not isinstance(data, dict):
        return _error(None, types.INVALID_REQUEST, "Invalid Request: a message must be a JSON object "
                                                   "(batches are not supported)")
    raw_id = data.get("id")
    id_ok = isinstance(raw_id, (str, int)) and not isinstance(raw_id, bool)
    if decoded:
        if raw_id is None or id_ok:
            return None
        # The SDK would take this for a notification and never answer it.
        return _error(None, types.INVALID_REQUEST, "Invalid Request: id must be a string or an integer")
    if raw_id is not None and not id_ok:
        return _error(None, types.INVALID_REQUEST, "Invalid Request: id must be a string or an integer")
    if id_ok:
        why = ("the message is nested too deeply" if too_deep
               else "expected jsonrpc \"2.0\", a string method and object params")
        return _error(raw_id, types.INVALID_REQUEST, f"Invalid Request: {why}")
    if "method" not in data and ("result" in data or "error" in data):
        log.debug("dropped a malformed response")
        return _DROP  # responses are never answered
    return _error(None, types.INVALID_REQUEST, "Invalid Request: not a valid JSON-RPC message")


class _ScreenedLines:
    """Stdin lines for the SDK's reader, minus the malformed ones, which are answered here."""

    def __init__(self, lines: Any) -> None:
        self._lines = lines
        self._write: Any = None
        self._attached = anyio.Event()

    def attach(self, write: Any) -> None:
        self._write = write
        self._attached.set()

    async def __aiter__(self) -> AsyncIterator[str]:
        async for line in self._lines:
            verdict = screen(line)
            if verdict is None:
                yield line
                continue
            if verdict is _DROP:
                continue
            await self._attached.wait()
            try:
                await self._write.send(SessionMessage(verdict))  # type: ignore[arg-type]
            except (anyio.ClosedResourceError, anyio.BrokenResourceError):
                return


@asynccontextmanager
async def stdio_server() -> AsyncIterator[tuple[Any, Any]]:
    """Drop-in for `mcp.server.stdio.stdio_server()` that answers malformed lines."""
    stdin = _Lines(_UnownedText(sys.stdin.buffer, encoding="utf-8", errors="replace"))
    lines = _ScreenedLines(stdin)
    async with sdk_stdio_server(stdin=lines) as (read, write):  # type: ignore[arg-type]
        lines.attach(write)
        yield read, write


__all__ = ["screen", "stdio_server"]
