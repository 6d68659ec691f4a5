"""The server as hosts and people start it: a stdio subprocess, and the command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters

BIN = Path(sys.executable).parent / "clientary-mcp"
ROOT = Path(__file__).resolve().parent.parent


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLIENTARY")}
    env.update(CLIENTARY_MCP_AUDIT_LOG=str(tmp_path / "audit.jsonl"), CLIENTARY_MCP_STATE_DIR=str(tmp_path / "state"),
               **extra)
    return env


def run(*args: str, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN), *args], env=env, capture_output=True, text=True, timeout=timeout)


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_stdio_subprocess_as_a_host_launches_it(mode, tmp_path):
    params = StdioServerParameters(command=str(BIN), args=["serve", "--sandbox"], env=_env(tmp_path))
    async with Client(params, mode=mode) as client:
        tools = (await client.list_tools()).tools
        assert len(tools) == 77
        result = await client.call_tool("get_client", {"id": 1})
        assert not result.is_error and result.structured_content["name"] == "Acme Corporation"
        preview = await client.call_tool("delete_client", {"id": 1})
        token = preview.structured_content["confirm_token"]
        done = await client.call_tool("delete_client", {"id": 1, "confirm": token})
        assert done.structured_content["status"] == "done"
        gone = await client.call_tool("get_client", {"id": 1})
        assert gone.is_error
    records = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert [r.get("phase") or r["outcome"] for r in records] == ["ok", "preview", "intent", "outcome", "api_error"]
    assert records[3]["outcome"] == "confirmed" and records[3]["intent"] == records[2]["seq"]


@pytest.mark.parametrize("env,needle", [
    ({}, "CLIENTARY_API_TOKEN"),
    ({"CLIENTARY_API_TOKEN": "tok-abcdef123456"}, "CLIENTARY_DOMAIN"),
    ({"CLIENTARY_API_TOKEN": "tok-abcdef123456", "CLIENTARY_DOMAIN": "not a domain!"}, "CLIENTARY_DOMAIN"),
    ({"CLIENTARY_API_TOKEN": "tok-abcdef123456", "CLIENTARY_DOMAIN": "acme", "CLIENTARY_TIMEOUT": "soon"},
     "CLIENTARY_TIMEOUT"),
])
def test_bad_configuration_fails_at_start_with_one_line(env, needle, tmp_path):
    proc = run("serve", env=_env(tmp_path, **env))
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr and "tok-abcdef123456" not in proc.stderr
    assert proc.stdout == ""


def test_call_command_runs_a_tool_and_prints_json(tmp_path):
    proc = run("call", "list_clients", '{"sort": "date"}', "--sandbox", env=_env(tmp_path))
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["returned"] == out["total_count"] == 5
    bad = run("call", "get_client", '{"id": 0}', "--sandbox", env=_env(tmp_path))
    assert bad.returncode == 1 and "`id` must be a positive id" in bad.stderr
    notjson = run("call", "get_client", "{id: 1}", "--sandbox", env=_env(tmp_path))
    assert notjson.returncode == 2 and "JSON object" in notjson.stderr
    verify = run("audit", "verify", str(tmp_path / "audit.jsonl"), env=_env(tmp_path))
    assert verify.returncode == 0 and "2 records, chain intact" in verify.stdout
    stats = run("audit", "stats", str(tmp_path / "audit.jsonl"), env=_env(tmp_path))
    assert "list_clients" in stats.stdout and "get_client" in stats.stdout and "invalid" not in stats.stdout


def test_tools_command_lists_name_kind_title(tmp_path):
    proc = run("tools", "--read-only", env=_env(tmp_path))
    rows = proc.stdout.splitlines()
    assert len(rows) == 38 and all(row.split()[1] == "read" for row in rows)  # 34 reads + 4 read workflows
    assert rows[0].split()[0] == "list_clients"


def test_schemas_check_command_passes_on_the_committed_files(tmp_path):
    proc = run("schemas", "--root", str(ROOT), env=_env(tmp_path))
    assert proc.returncode == 0, proc.stdout


def test_ci_runs_exactly_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    command = 'pip install -e ".[test]" && pytest'
    assert f"```bash\n{command}\n```" in readme
    assert command in ci


def test_start_up_imports_neither_the_api_client_nor_the_sandbox():
    code = ("import sys, types; from clientary_mcp.cli.common import build; "
            "build(types.SimpleNamespace(sandbox=True)); import clientary_mcp.server; "
            "print(sorted(m for m in ('httpx', 'clientary_mcp.sandbox', 'clientary_mcp.api') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         env={**os.environ, "CLIENTARY_MCP_AUDIT_LOG": "-"})
    assert out.stdout.strip() == "[]", out.stderr


def test_sandbox_token_constant_matches_the_sandbox():
    from clientary_mcp.app import SANDBOX_TOKEN
    from clientary_mcp.sandbox import DEMO_TOKEN

    assert SANDBOX_TOKEN == DEMO_TOKEN


def test_started_by_hand_in_a_terminal_it_explains_itself_on_stderr(tmp_path):
    import pty

    primary, secondary = pty.openpty()
    proc = subprocess.Popen([str(BIN), "serve", "--sandbox"], stdin=secondary, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=_env(tmp_path), text=True)
    try:
        line = proc.stderr.readline()
    finally:
        proc.kill()
        out, _ = proc.communicate(timeout=10)
        os.close(primary)
        os.close(secondary)
    assert "serving 77 tools over stdio on the built-in sandbox" in line
    assert out == ""  # stdout carries only the protocol
