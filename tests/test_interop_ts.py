"""The server driven by the official TypeScript SDK client — what Claude Desktop, Cursor, VS Code and most
hosts embed — in its latest 1.x (1.32.2, protocol 2025-11-25) and an older 1.x (1.12.3, 2025-03-26), over
stdio and Streamable HTTP.

The client validates structured content against each tool's output schema and throws when it does not
match, errors included; so for every tool a bad argument and (where the tool takes an id) a missing record
must reach the caller as our text, not as an exception.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from clientary_mcp.tools import REGISTRY

from external import JS_DIR, js_package, node
from support import missing_record_args
from test_http_support import CLI, clean_env, launch_server

SDKS = {"1.32.2": ("@modelcontextprotocol/sdk", "2025-11-25"), "1.12.3": ("mcp-sdk-1-12", "2025-03-26")}
DRIVER = JS_DIR / "interop.mjs"


def calls() -> list[dict[str, Any]]:
    plan = [
        {"label": "list", "name": "list_clients", "arguments": {}},
        {"label": "nulls", "name": "list_clients", "arguments": {"updated_since": None, "sort": None, "page": None}},
        {"label": "enum", "name": "update_project", "arguments": {"id": 1, "status": "completed"}},
        {"label": "preview", "name": "delete_client", "arguments": {"id": 4}},
        {"label": "confirm", "name": "delete_client", "arguments": {"id": 4, "confirm": {"$token": "preview"}}},
        {"label": "again", "name": "delete_client", "arguments": {"id": 4, "confirm": {"$token": "preview"}}},
        {"label": "send-preview", "name": "send_invoice_message", "arguments": {"id": 1, "recipients": ["a@b.co"]}},
    ]
    for spec in REGISTRY:
        plan.append({"label": f"bad:{spec.name}", "name": spec.name, "arguments": {"no_such_argument": 1}})
        if any(f.loc == "path" for f in spec.fields):
            plan.append({"label": f"missing:{spec.name}", "name": spec.name, "arguments": missing_record_args(spec)})
    return plan


def run_driver(tmp_path: Path, sdk: str, transport: dict[str, Any]) -> dict[str, Any]:
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"sdk": sdk, "transport": transport, "calls": calls()}))
    done = subprocess.run([node(), str(DRIVER), str(plan)], cwd=JS_DIR, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert "fatal" not in report, report["fatal"]
    return report


def server_env(tmp_path: Path) -> dict[str, str]:
    return clean_env(tmp_path, CLIENTARY_MCP_AUDIT_LOG=str(tmp_path / "audit.jsonl"))


def check(report: dict[str, Any], protocol: str) -> None:
    assert report["negotiated"] == protocol
    assert report["server"]["name"] == "clientary-mcp"
    assert [t["name"] for t in report["tools"]] == [spec.name for spec in REGISTRY]
    assert all(t["hasOutputSchema"] for t in report["tools"])  # so the client validates every result
    got = {c["label"]: c for c in report["calls"]}
    threw = {label: c["threw"] for label, c in got.items() if not c["resolved"]}
    assert threw == {}, f"the client threw instead of showing our result: {threw}"

    assert not got["list"]["isError"] and got["list"]["structuredContent"]["items"]
    assert not got["nulls"]["isError"], got["nulls"]["text"]
    assert got["enum"]["structuredContent"]["status"] == "completed"
    preview = got["preview"]["structuredContent"]
    assert preview["status"] == "preview" and preview["confirm_token"], got["preview"]["text"]
    assert got["confirm"]["structuredContent"]["status"] == "done", got["confirm"]["text"]
    assert got["again"]["isError"] and got["again"]["structuredContent"] is None
    assert got["send-preview"]["structuredContent"]["status"] == "preview"
    for spec in REGISTRY:
        bad = got[f"bad:{spec.name}"]
        assert bad["isError"] and "`no_such_argument`" in bad["text"], (spec.name, bad["text"])
        assert bad["meta"]["clientary-mcp/error"]["kind"] == "invalid_arguments"
        missing = got.get(f"missing:{spec.name}")
        if missing is not None:
            assert missing["isError"] and "999999" in missing["text"] and "not found" in missing["text"], (
                spec.name, missing["text"])


@pytest.mark.slow
@pytest.mark.parametrize("version", sorted(SDKS))
def test_typescript_client_over_stdio(version, tmp_path):
    sdk, protocol = SDKS[version]
    js_package(sdk)
    report = run_driver(tmp_path, sdk, {"stdio": {"command": CLI, "args": ["serve", "--sandbox"],
                                                  "env": server_env(tmp_path)}})
    check(report, protocol)


@pytest.mark.slow
@pytest.mark.parametrize("version", sorted(SDKS))
def test_typescript_client_over_streamable_http(version, tmp_path):
    sdk, protocol = SDKS[version]
    js_package(sdk)
    proc, base = launch_server(tmp_path, "server", ["--sandbox", "--transport", "http"], server_env(tmp_path)).ready()
    try:
        report = run_driver(tmp_path, sdk, {"http": base + "/mcp"})
    finally:
        proc.stop()
    check(report, protocol)
