"""Shared pieces of the hardening tests (loaded as a plugin by each tests/test_hardening_*.py).

- Distinctive fake secrets, and sessions that use them: an API token the sandbox (or a fake Clientary)
  accepts, a confirmation secret, a bearer token for the network server.
- `EVIDENCE`: everything the hardening tests saw (tool results, error texts, audit logs, server output).
- `secrets_guard`: a session-scoped fixture; when the session ends it checks that none of the secrets
  appears in anything collected, and that no confirmation token was written to an audit log.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from mcp import Client

from clientary_mcp.api import ClientaryClient
from clientary_mcp.app import SANDBOX_URL
from clientary_mcp.safety.audit import AuditLog
from clientary_mcp.config import Settings
from clientary_mcp.safety.confirm import Sealer
from clientary_mcp.sandbox import SandboxTransport, create_app
from clientary_mcp.server import build_server
from clientary_mcp.service import ToolService
from clientary_mcp.state import open_store

from support import Harness

FAKE_API_TOKEN = "hardening-api-token-Q7v2kX9pL4mZ8rT1"
FAKE_CONFIRM_SECRET = "hardening-confirm-secret-N3bW6yH0cJ5dF2gS8aEq"
FAKE_BEARER = "hardening-bearer-token-U4iO7pA1sD9fG6hJw2"
FAKE_BASIC = base64.b64encode(f"{FAKE_API_TOKEN}:{FAKE_API_TOKEN}".encode()).decode()
SECRETS = (FAKE_API_TOKEN, FAKE_CONFIRM_SECRET, FAKE_BEARER, FAKE_BASIC)
BIN = Path(sys.executable).parent / "clientary-mcp"
AUDIT_KEY = b"hardening-audit-key-0123456789abcdef0123"
WAIT = 15.0  # the longest any single answer from a server process may take


@dataclass
class Evidence:
    texts: list[str] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    confirm_tokens: set[str] = field(default_factory=set)

    def result(self, result: Any) -> Any:
        """Keep a tool result (text and structured content); returns it for chaining."""
        self.texts.append(json.dumps(result.model_dump(mode="json"), ensure_ascii=False))
        token = (result.structured_content or {}).get("confirm_token") if not result.is_error else None
        if isinstance(token, str):
            self.confirm_tokens.add(token)
        return result

    def text(self, text: str | bytes) -> None:
        self.texts.append(text.decode("utf-8", "replace") if isinstance(text, bytes) else text)

    def file(self, path: Path) -> None:
        self.files.append(Path(path))


EVIDENCE = Evidence()


class _LogCollector(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        EVIDENCE.text(self.format(record))


@pytest.fixture(scope="session")
def secrets_guard() -> Any:
    handler = _LogCollector(logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))  # tracebacks included
    root = logging.getLogger()
    root.addHandler(handler)
    yield EVIDENCE
    root.removeHandler(handler)
    audits = {p: p.read_text(errors="replace") for p in EVIDENCE.files if p.exists()}
    haystacks = [("collected text", t) for t in EVIDENCE.texts] + [(str(p), t) for p, t in audits.items()]
    assert haystacks, "the hardening tests collected nothing to check"
    leaks = [(where, secret[:12]) for where, text in haystacks for secret in SECRETS if secret in text]
    assert not leaks, f"secrets leaked: {leaks[:10]}"
    in_audit = [(str(p), tok[:16]) for p, t in audits.items() for tok in EVIDENCE.confirm_tokens if tok in t]
    assert not in_audit, f"confirmation tokens written to an audit log: {in_audit[:10]}"
    print(f"\nsecrets guard: {len(EVIDENCE.texts)} texts, {len(audits)} logs, "
          f"{len(EVIDENCE.confirm_tokens)} confirmation tokens checked; no leak")


def fake_settings(base_url: str = SANDBOX_URL, **overrides: Any) -> Settings:
    return Settings.for_base_url(base_url, FAKE_API_TOKEN, **overrides)


@asynccontextmanager
async def fake_session(
    tmp_path: Path,
    *,
    app: Any = None,
    transport: httpx.AsyncBaseTransport | None = None,
    wrap: Callable[[httpx.AsyncBaseTransport], httpx.AsyncBaseTransport] | None = None,
    settings: Settings | None = None,
    sleep: Callable[[float], Awaitable[object]] | None = None,
    mode: str = "legacy",
) -> AsyncIterator[Harness]:
    """A real MCP client session on a service that authenticates with the fake secrets.

    Backed by a fresh sandbox (`app`, made with the fake token) unless `transport` is given; `wrap`
    puts a recording or faulty layer around the sandbox transport.
    """
    if transport is None:
        app = app or create_app(token=FAKE_API_TOKEN)
        transport = SandboxTransport(app)
        if wrap is not None:
            transport = wrap(transport)
    api = ClientaryClient(settings or fake_settings(), transport=transport, sleep=sleep)
    audit_path = tmp_path / "audit.jsonl"
    EVIDENCE.file(audit_path)
    service = ToolService(lambda: api, sealer=Sealer(FAKE_CONFIRM_SECRET.encode()),
                          audit=AuditLog(audit_path, scrub=(FAKE_API_TOKEN, FAKE_CONFIRM_SECRET), key=AUDIT_KEY),
                          store=open_store(folder=tmp_path / "state"))
    server = build_server(lambda ctx: (service, "local"))
    try:
        async with Client(server, mode=mode) as client:
            yield Harness(client, app.state.store if app is not None else None, service, audit_path, app)
    finally:
        await api.aclose()
        service.audit.close()


# ---------------------------------------------------------------------------------------------
# Server processes


def server_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """Environment for a `clientary-mcp serve` process: its own audit log, the fake confirmation secret."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLIENTARY")}
    env.update(CLIENTARY_MCP_AUDIT_LOG=str(tmp_path / "audit.jsonl"), CLIENTARY_MCP_CONFIRM_SECRET=FAKE_CONFIRM_SECRET,
               CLIENTARY_MCP_STATE_DIR=str(tmp_path / "state"), **extra)
    EVIDENCE.file(tmp_path / "audit.jsonl")
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_http_server(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`serve --transport http --sandbox` on a free loopback port, for one principal holding FAKE_BEARER."""
    principals = tmp_path / "principals.json"
    principals.write_text(json.dumps({"principals": [
        {"name": "hardening", "token_sha256": hashlib.sha256(FAKE_BEARER.encode()).hexdigest()}]}))
    port = free_port()
    proc = subprocess.Popen([str(BIN), "serve", "--transport", "http", "--sandbox", "--port", str(port),
                             "--principals", str(principals)], env=server_env(tmp_path),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + WAIT
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError("the HTTP server did not start")
            time.sleep(0.1)
        yield base, proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=WAIT)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc.stdout is not None and not proc.stdout.closed:
            EVIDENCE.text(proc.stdout.read())
