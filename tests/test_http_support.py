"""Helpers for the network-server tests: real processes on free loopback ports, SDK clients with headers.

No tests here; the test_http*.py files import this module.
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import httpx2
from mcp import Client
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client
from processes import stop_process

CLI = str(Path(sys.executable).with_name("clientary-mcp"))
START_TIMEOUT = 30.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def clean_env(tmp: Path, **extra: str) -> dict[str, str]:
    """The test runner's environment without any Clientary settings, state kept under `tmp`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLIENTARY")}
    env.update(HOME=str(tmp), XDG_STATE_HOME=str(tmp / "state"), PYTHONUNBUFFERED="1")
    env.update(extra)
    return env


class Proc:
    """A subprocess with its output in files; always stopped by `stop()`."""

    def __init__(self, argv: list[str], env: dict[str, str], workdir: Path, name: str):
        self.out_path = workdir / f"{name}.out"
        self.err_path = workdir / f"{name}.err"
        self._out = open(self.out_path, "wb")  # noqa: SIM115 - closed in stop()
        self._err = open(self.err_path, "wb")  # noqa: SIM115
        self.popen = subprocess.Popen(argv, env=env, cwd=workdir, stdout=self._out, stderr=self._err,
                                      stdin=subprocess.DEVNULL)

    @property
    def stderr(self) -> str:
        return self.err_path.read_text(errors="replace")

    @property
    def stdout(self) -> str:
        return self.out_path.read_text(errors="replace")

    def wait_http(self, url: str, timeout: float = START_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.popen.poll() is not None:
                raise AssertionError(f"process exited with {self.popen.returncode}:\n{self.stderr}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(url, timeout=5.0).status_code < 500:
                    return
            time.sleep(0.1)
        raise AssertionError(f"{url} did not answer within {timeout} s:\n{self.stderr}")

    def terminate(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)

    def wait(self, timeout: float) -> int:
        return self.popen.wait(timeout=timeout)

    def stop(self) -> None:
        stop_process(self.popen)
        self._out.close()
        self._err.close()


class Launch:
    """A process started but maybe not listening yet: start several, then `ready()` each (they boot in parallel)."""

    def __init__(self, proc: Proc, base: str, probe: str):
        self.proc, self.base, self.probe = proc, base, probe

    def ready(self) -> tuple[Proc, str]:
        try:
            self.proc.wait_http(self.base + self.probe)
        except BaseException:
            self.proc.stop()
            raise
        return self.proc, self.base


def launch_server(workdir: Path, name: str, args: list[str], env: dict[str, str]) -> Launch:
    """`clientary-mcp serve ... --port <free>`."""
    port = free_port()
    proc = Proc([CLI, "serve", *args, "--port", str(port)], env, workdir, name)
    return Launch(proc, f"http://127.0.0.1:{port}", "/healthz")


def launch_sandbox(workdir: Path, name: str, token: str, *extra: str) -> Launch:
    """`clientary-mcp sandbox --port <free>`: a real-account-like Clientary for CLIENTARY_BASE_URL."""
    port = free_port()
    proc = Proc([CLI, "sandbox", "--port", str(port), "--token", token, *extra], clean_env(workdir), workdir, name)
    return Launch(proc, f"http://127.0.0.1:{port}", "/api/v2/staff")


def start_server(workdir: Path, name: str, args: list[str], env: dict[str, str]) -> tuple[Proc, str]:
    return launch_server(workdir, name, args, env).ready()


def start_sandbox(workdir: Path, name: str, token: str, *extra: str) -> tuple[Proc, str]:
    return launch_sandbox(workdir, name, token, *extra).ready()


def ready_all(launches: list[Launch]) -> list[tuple[Proc, str]]:
    """Wait for every launch; if one fails, stop them all."""
    try:
        return [launch.ready() for launch in launches]
    except BaseException:
        for launch in launches:
            launch.proc.stop()
        raise


@contextlib.asynccontextmanager
async def http_client(base: str, token: str | None = None, mode: str = "legacy",
                      headers: dict[str, str] | None = None) -> AsyncIterator[Client]:
    """An SDK client over Streamable HTTP: mode "legacy" (2025-11-25 handshake) or "2026-07-28"."""
    all_headers = {**({"Authorization": f"Bearer {token}"} if token else {}), **(headers or {})}
    async with httpx2.AsyncClient(headers=all_headers, timeout=httpx2.Timeout(15.0, read=30.0)) as http:
        async with Client(streamable_http_client(base + "/mcp", http_client=http), mode=mode) as client:
            yield client


@contextlib.asynccontextmanager
async def sse_session(base: str, token: str | None = None) -> AsyncIterator[Client]:
    headers = {"Authorization": f"Bearer {token}"} if token else None
    async with Client(sse_client(base + "/sse", headers=headers, timeout=15.0), mode="legacy") as client:
        yield client


def text(result: Any) -> str:
    return "\n".join(getattr(block, "text", "") for block in result.content)


def add_principal(file: Path, name: str, *flags: str) -> str:
    """`clientary-mcp principals add` (in process), as an operator would run it; returns the printed token."""
    from clientary_mcp.transports.principals import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["add", name, "--file", str(file), *flags])
    assert code == 0, err.getvalue()
    return out.getvalue().strip()


class HoldingProxy:
    """A TCP proxy in front of an upstream whose answers are held back until `release` is set.

    Requests pass at once; the upstream's bytes wait. Calls that reach the account stay in flight for as
    long as a test needs, which makes "while calls are in flight" a condition rather than a timing guess.
    """

    def __init__(self, upstream_port: int):
        import anyio

        self.upstream_port = upstream_port
        self.release = anyio.Event()
        self.base = ""

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator["HoldingProxy"]:
        import anyio
        from anyio.abc import SocketAttribute

        listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
        self.base = f"http://127.0.0.1:{listener.extra(SocketAttribute.local_port)}"
        async with anyio.create_task_group() as tg:
            tg.start_soon(listener.serve, self._relay)
            try:
                yield self
            finally:
                tg.cancel_scope.cancel()

    async def _relay(self, client: Any) -> None:
        import anyio

        async with client, await anyio.connect_tcp("127.0.0.1", self.upstream_port) as upstream:
            async with anyio.create_task_group() as tg:
                async def pipe(source: Any, sink: Any, hold: bool) -> None:
                    if hold:
                        await self.release.wait()
                    with contextlib.suppress(anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError):
                        async for chunk in source:
                            await sink.send(chunk)
                    tg.cancel_scope.cancel()

                tg.start_soon(pipe, client, upstream, False)
                tg.start_soon(pipe, upstream, client, True)


class RedisProc:
    """A real redis-server on a free loopback port, nothing persisted; `stop()` kills it, `start()` again
    brings it back on the same port (empty, as after a crash without persistence)."""

    def __init__(self, binary: str, workdir: Path):
        self.binary, self.workdir = binary, workdir
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.popen: subprocess.Popen | None = None

    def start(self) -> "RedisProc":
        self.popen = subprocess.Popen([self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                       "--appendonly", "no", "--dir", str(self.workdir)],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.popen.poll() is not None:
                raise AssertionError(f"redis-server exited with {self.popen.returncode}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                if s.recv(16).startswith(b"+PONG"):
                    return self
            time.sleep(0.05)
        raise AssertionError("redis-server did not answer PING")

    def stop(self) -> None:
        if self.popen is not None and self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait(timeout=10)
