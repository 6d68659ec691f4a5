"""MCP over stdio: asyncio pipes where the platform has them, plus an answer for every invalid line.

The SDK's transport reads and writes through worker threads, three thread hand-offs per call. Where stdin
and stdout are pipes or sockets (how every MCP host starts a server), this module serves the same SDK
framing over asyncio pipe transports instead: no threads, and back-pressure both ways (the writer waits
for the pipe to drain; the reader stops reading while a line waits to be taken). Elsewhere (a terminal,
a regular file, Windows) it falls back to the SDK's own threaded reader and writer.

The SDK drops a line it cannot decode. For a request that means the client waits for an answer that never
comes. JSON-RPC 2.0 says what to send instead: Parse error (-32700) for bad JSON, Invalid Request (-32600)
for anything that is not a request, notification or response — with the request's id when it can be read,
else null. Valid notifications and anything shaped like a response are never answered.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import stat
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
LINE_LIMIT = 8 * 1024 * 1024  # longest line read from a pipe; a longer one is answered as a parse error
OVERLONG = "\x00overlong\n"  # stands for such a line; no valid message looks like it


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
    if line == OVERLONG:
        return _error(None, types.PARSE_ERROR, f"Parse error: the line is longer than {LINE_LIMIT >> 20} MiB")
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




def _is_pipe(fd: int) -> bool:
    try:
        mode = os.fstat(fd).st_mode
    except OSError:
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)


def pipes_available() -> bool:
    """Whether stdin and stdout can be served by asyncio pipe transports.

    Not for terminals: non-blocking mode would be shared with stderr on the same terminal, where a
    slow terminal would then make writes to stderr fail.
    """
    return sys.platform != "win32" and _is_pipe(0) and _is_pipe(1)


class _PipeLines:
    """Lines of an asyncio StreamReader, as text; a line over LINE_LIMIT becomes OVERLONG."""

    def __init__(self, reader: asyncio.StreamReader) -> None:
        self._reader = reader

    async def __aiter__(self) -> AsyncIterator[str]:
        overlong = False  # inside a line that went over the limit: drop it up to its newline
        while True:
            try:
                line = await self._reader.readuntil(b"\n")
            except asyncio.LimitOverrunError as exc:
                await self._reader.readexactly(exc.consumed)  # discard what is buffered of it
                overlong = True
                continue
            except asyncio.IncompleteReadError as exc:  # end of input
                if exc.partial and not overlong:
                    yield exc.partial.decode("utf-8", errors="replace")
                return
            if overlong:
                overlong = False
                yield OVERLONG
                continue
            yield line.decode("utf-8", errors="replace")


class _PipeOut:
    """The writer side the SDK expects (`write`, `flush`), over an asyncio StreamWriter."""

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self._writer = writer

    async def write(self, text: str) -> None:
        self._writer.write(text.encode("utf-8"))

    async def flush(self) -> None:
        await self._writer.drain()  # back-pressure: wait while the host is not reading


@asynccontextmanager
async def _claimed_pipes() -> AsyncIterator[tuple[_PipeLines, _PipeOut]]:
    """fd 0 and 1 served from private duplicates, with fd 0 on the null device and fd 1 on stderr.

    So that anything else in the process that reads stdin or prints to stdout misses the wire, as the
    SDK's own transport arranges; both are restored on exit.
    """
    import fcntl

    loop = asyncio.get_running_loop()
    wire_in = fcntl.fcntl(0, fcntl.F_DUPFD_CLOEXEC, 3)
    wire_out = fcntl.fcntl(1, fcntl.F_DUPFD_CLOEXEC, 3)
    saved_in, saved_out = os.dup(0), os.dup(1)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    os.dup2(2, 1)
    reader = asyncio.StreamReader(limit=LINE_LIMIT)
    read_transport = write_transport = None
    try:
        read_transport, _ = await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(wire_in, "rb", buffering=0))
        write_transport, protocol = await loop.connect_write_pipe(
            asyncio.streams.FlowControlMixin, os.fdopen(wire_out, "wb", buffering=0))
        writer = asyncio.StreamWriter(write_transport, protocol, None, loop)  # type: ignore[arg-type]
        yield _PipeLines(reader), _PipeOut(writer)
    finally:
        for transport in (read_transport, write_transport):
            if transport is not None:
                transport.close()
        os.dup2(saved_in, 0)
        os.dup2(saved_out, 1)
        os.close(saved_in)
        os.close(saved_out)


@asynccontextmanager
async def stdio_server(*, use_pipes: bool | None = None) -> AsyncIterator[tuple[Any, Any]]:
    """Drop-in for `mcp.server.stdio.stdio_server()` that answers malformed lines.

    `use_pipes` None chooses asyncio pipes where `pipes_available()`; False forces the SDK's threads.
    """
    if use_pipes is None:
        use_pipes = pipes_available()
    if use_pipes:
        async with _claimed_pipes() as (source, out):
            lines = _ScreenedLines(source)
            async with sdk_stdio_server(stdin=lines, stdout=out) as (read, write):  # type: ignore[arg-type]
                lines.attach(write)
                yield read, write
        return
    stdin = _Lines(_UnownedText(sys.stdin.buffer, encoding="utf-8", errors="replace"))
    lines = _ScreenedLines(stdin)
    async with sdk_stdio_server(stdin=lines) as (read, write):  # type: ignore[arg-type]
        lines.attach(write)
        yield read, write


__all__ = ["pipes_available", "screen", "stdio_server"]
