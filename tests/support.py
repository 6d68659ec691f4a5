"""Test harness: a real MCP client session against the server, backed by a fresh in-process sandbox."""

from __future__ import annotations

import json
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Awaitable

from mcp import Client

from clientary_mcp.app import build_service, sandbox_settings
from clientary_mcp.options import load_options
from clientary_mcp.sandbox import Store, create_app
from clientary_mcp.server import build_server
from clientary_mcp.service import ToolService

SECRET = "test-confirmation-secret-0123456789abcdef"


@dataclass
class Harness:
    client: Client
    store: Store
    service: ToolService
    audit_path: Path
    app: Any
    catalog: str = "full"

    async def call(self, tool: str, args: dict[str, Any] | None = None):
        if self.catalog == "compact":  # the same call through the compact catalog's call_tool
            return await self.client.call_tool("call_tool", {"name": tool, "arguments": args or {}})
        return await self.client.call_tool(tool, args or {})

    def audit(self) -> list[dict[str, Any]]:
        if not self.audit_path.exists():
            return []
        return [json.loads(line) for line in self.audit_path.read_text().splitlines() if line.strip()]

    def calls(self) -> list[dict[str, Any]]:
        """One record per call: the single record of a call that changed nothing, else its outcome record."""
        return call_records(self.audit())

    def verify(self):
        from clientary_mcp.safety.audit import verify

        return verify(self.audit_path, self.service.audit.key)

    def api_requests(self) -> int:
        return len(self.store.requests)


def make_service(tmp_path: Path, *, env: dict[str, str] | None = None, flags: dict[str, Any] | None = None,
                 app: Any = None) -> tuple[ToolService, Any, Path]:
    app = app or create_app()
    audit_path = tmp_path / "audit.jsonl"
    base_env = {"CLIENTARY_MCP_AUDIT_LOG": str(audit_path), "CLIENTARY_MCP_CONFIRM_SECRET": SECRET,
                "CLIENTARY_MCP_STATE_DIR": str(tmp_path / "state")}
    options = load_options(SimpleNamespace(**(flags or {})), env={**base_env, **(env or {})})
    service = build_service(options, sandbox_settings(), sandbox=True, sandbox_app=app)
    return service, app, audit_path


@asynccontextmanager
async def session(tmp_path: Path, *, mode: str = "legacy", env: dict[str, str] | None = None,
                  flags: dict[str, Any] | None = None, principal: str = "local", app: Any = None,
                  catalog: str = "full", **client_kwargs: Any):
    service, app, audit_path = make_service(tmp_path, env=env, flags=flags, app=app)
    server = build_server(lambda ctx: (service, principal), catalog=catalog)
    try:
        async with Client(server, mode=mode, **client_kwargs) as client:
            yield Harness(client, app.state.store, service, audit_path, app, catalog)
    finally:
        await service.api.aclose()
        service.audit.close()


def call_records(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`records` without the intent records (each is followed by its call's outcome record)."""
    return [r for r in records if r.get("phase") != "intent" and not r.get("event")]


def data(result) -> dict[str, Any]:
    assert not result.is_error, result.content[0].text
    return result.structured_content


def error_text(result) -> str:
    assert result.is_error, f"expected a tool error, got: {result.content[0].text[:300]}"
    return result.content[0].text


async def failure(call):
    """The ClientaryError an awaitable raises."""
    import pytest

    from clientary_mcp.api import ClientaryError

    with pytest.raises(ClientaryError) as info:
        await call
    return info.value


def tool_error(result) -> dict[str, Any]:
    """The kind and details of an error result; errors carry no structured content (see server.call_result)."""
    from clientary_mcp.server import ERROR_META

    assert result.is_error, f"expected a tool error, got: {result.content[0].text[:300]}"
    assert result.structured_content is None, result.structured_content
    return (result.meta or {})[ERROR_META]


# Arguments that pass validation, for a record that does not exist (ids 999999): what "not found" looks like.
SAMPLES = {"id": 999_999, "int": 1, "number": 1, "string": "N", "text": "T", "date": "2026-12-01", "bool": True,
           "emails": ["a@b.co"], "items": []}


def sample(f):
    return f.codes.names[0] if f.codes else f.choices[0] if f.choices else SAMPLES[f.type]


def missing_record_args(spec):
    args = {f.name: sample(f) for f in spec.fields if f.required}
    if spec.min_body_fields:
        first = next(f for f in spec.fields if f.loc == "body")
        args[first.name] = sample(first)
    return args


async def ticking(work: Awaitable[Any]) -> tuple[Any, int]:
    """Await `work` while another task ticks every 10 ms: its result, and how often the loop ticked
    meanwhile (about 0 if `work` blocked the event loop, about its duration / 10 ms if it did not)."""
    import anyio

    ticks = 0
    done = False

    async def ticker() -> None:
        nonlocal ticks
        while not done:
            ticks += 1
            await anyio.sleep(0.01)

    async with anyio.create_task_group() as tg:
        tg.start_soon(ticker)
        try:
            result = await work
        finally:
            done = True
    return result, ticks
