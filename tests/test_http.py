"""The network server without principals (loopback, the local principal), as real processes.

SSE first, then Streamable HTTP in both protocol eras; then the HTTP-level protections.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import anyio
import httpx
import pytest
from test_http_support import (CLI, add_principal, clean_env, free_port, http_client, launch_server, ready_all,
                               sse_session, text)

pytestmark = pytest.mark.slow

@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    """A Streamable HTTP server on the built-in sandbox for the local principal, and an SSE server whose one
    principal (with a sandbox of its own) must show a bearer token."""
    work = tmp_path_factory.mktemp("http")
    token = add_principal(work / "principals.json", "sse-user", "--sandbox")
    launches = {
        "http": ["--transport", "http", "--sandbox"],
        "sse": ["--transport", "sse", "--principals", str(work / "principals.json")],
    }
    procs = ready_all([launch_server(work, transport, args,
                                     clean_env(work, CLIENTARY_MCP_AUDIT_LOG=str(work / f"{transport}-audit.jsonl"),
                                               CLIENTARY_MCP_SSE_PING="1"))
                       for transport, args in launches.items()])
    try:
        yield {"http": procs[0][1], "sse": procs[1][1], "work": work, "token": token}
    finally:
        for proc, _ in procs:
            proc.stop()


async def _cycle(client, tag: str) -> None:
    """List, read, write, and a gated delete through preview and confirm."""
    listed = await client.list_tools()
    assert len(listed.tools) == 77
    clients = await client.call_tool("list_clients", {})
    assert not clients.is_error and clients.structured_content["items"]

    created = await client.call_tool("create_client", {"name": f"Network Test {tag}"})
    assert not created.is_error, text(created)
    new_id = created.structured_content["id"]
    fetched = await client.call_tool("get_client", {"id": new_id})
    assert fetched.structured_content["name"] == f"Network Test {tag}"

    preview = await client.call_tool("delete_client", {"id": new_id})
    assert not preview.is_error and preview.structured_content["status"] == "preview"
    token = preview.structured_content["confirm_token"]
    assert (await client.call_tool("get_client", {"id": new_id})).is_error is False  # a preview changes nothing
    done = await client.call_tool("delete_client", {"id": new_id, "confirm": token})
    assert not done.is_error, text(done)
    gone = await client.call_tool("get_client", {"id": new_id})
    assert gone.is_error and "not found" in text(gone).lower()


@pytest.mark.anyio
async def test_sse_list_read_write_and_confirmed_delete(servers):
    with anyio.fail_after(30):
        async with sse_session(servers["sse"], servers["token"]) as client:
            await _cycle(client, "sse")


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["legacy", "2026-07-28"])
async def test_streamable_http_both_eras(servers, mode):
    with anyio.fail_after(30):
        async with http_client(servers["http"], mode=mode) as client:
            await _cycle(client, mode)


def test_handshake_era_gets_a_session_and_modern_era_none(servers):
    base = servers["http"]
    headers = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
    init = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
            "params": {"protocolVersion": "2025-11-25", "capabilities": {},
                       "clientInfo": {"name": "t", "version": "1"}}}
    answer = httpx.post(base + "/mcp", json=init, headers=headers, timeout=10)
    assert answer.status_code == 200 and answer.headers.get("mcp-session-id")
    unknown = httpx.post(base + "/mcp", json={"jsonrpc": "2.0", "id": 2, "method": "tools/list"},
                         headers={**headers, "Mcp-Session-Id": "nope", "MCP-Protocol-Version": "2025-11-25"}, timeout=10)
    assert unknown.status_code == 404


def test_audit_records_name_the_transport_and_principal(servers):
    records = [json.loads(line) for p in ("sse", "http")
               for line in (servers["work"] / f"{p}-audit.jsonl").read_text().splitlines()]
    assert {r["transport"] for r in records} == {"sse", "http"}
    assert {(r["transport"], r["principal"]) for r in records} == {("sse", "sse-user"), ("http", "local")}
    for p in ("sse", "http"):
        done = subprocess.run([CLI, "audit", "verify", str(servers["work"] / f"{p}-audit.jsonl")],
                              capture_output=True, text=True, timeout=60, env=clean_env(servers["work"]))
        assert done.returncode == 0, done.stdout + done.stderr


def test_sse_stream_sends_keepalive_pings(servers):
    with httpx.stream("GET", servers["sse"] + "/sse", headers={"Authorization": f"Bearer {servers['token']}"},
                      timeout=httpx.Timeout(5.0)) as stream:
        deadline = time.monotonic() + 5
        for line in stream.iter_lines():
            if line.startswith(": ping"):
                break
            assert time.monotonic() < deadline, "no keep-alive ping within 5 s"


def test_sse_needs_the_bearer_token(servers):
    for method, path in (("GET", "/sse"), ("POST", "/messages/?session_id=0")):
        answer = httpx.request(method, servers["sse"] + path, timeout=5,
                               headers={"Authorization": "Bearer not-the-token"})
        assert answer.status_code == 401 and answer.headers["www-authenticate"].startswith("Bearer")


def test_health_and_readiness_need_no_token_and_show_no_secrets(servers):
    for base in (servers["http"], servers["sse"]):
        health = httpx.get(base + "/healthz", headers={"Host": "anything.example"}, timeout=5)
        ready = httpx.get(base + "/readyz", timeout=5)
        assert health.status_code == 200 and health.json()["status"] == "ok"
        assert ready.status_code == 200 and ready.json() == {"status": "ready", "calls_in_flight": 0,
                                                       "store": {"name": "sqlite", "ok": True}}


@pytest.mark.parametrize("transport,method,path", [("http", "POST", "/mcp"), ("sse", "GET", "/sse"),
                                                   ("sse", "POST", "/messages/?session_id=0")])
def test_foreign_host_or_origin_is_refused(servers, transport, method, path):
    base = servers[transport]
    port = base.rsplit(":", 1)[1]
    body = {"json": {"jsonrpc": "2.0", "id": 1, "method": "ping"}} if method == "POST" else {}
    rebound = httpx.request(method, base + path, headers={"Host": f"evil.example:{port}"}, timeout=5, **body)
    assert rebound.status_code == 421
    cross = httpx.request(method, base + path, headers={"Origin": "http://evil.example"}, timeout=5, **body)
    assert cross.status_code == 403
    assert "evil" not in cross.text  # the refusal says what to configure, not what was sent
    if method == "POST":
        local = httpx.request(method, base + path, headers={"Origin": f"http://localhost:{port}"}, timeout=5, **body)
        assert local.status_code not in (403, 421)


@pytest.mark.parametrize("transport,path", [("http", "/mcp"), ("sse", "/messages/?session_id=0")])
def test_oversized_body_is_refused(servers, transport, path):
    big = b'{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"pad":"' + b"x" * (1_100_000) + b'"}}'
    answer = httpx.post(servers[transport] + path, content=big, timeout=10,
                        headers={"Content-Type": "application/json", "Accept": "application/json, text/event-stream",
                                 "Authorization": f"Bearer {servers['token']}"})
    assert answer.status_code == 413


def _serve_fails(tmp_path: Path, *args: str, **env: str) -> str:
    done = subprocess.run([CLI, "serve", *args], env=clean_env(tmp_path, **env), capture_output=True, text=True,
                          timeout=60, cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    return lines[0]


def test_a_non_loopback_bind_requires_a_principals_file(tmp_path):
    line = _serve_fails(tmp_path, "--transport", "http", "--host", "0.0.0.0", "--port", str(free_port()),
                        "--sandbox")
    assert "CLIENTARY_MCP_PRINCIPALS" in line and "--principals" in line


def test_a_principal_with_an_unknown_toolset_stops_the_start(tmp_path):
    from clientary_mcp.transports.principals import hash_token

    file = tmp_path / "principals.json"
    file.write_text(json.dumps({"principals": [{"name": "ann", "token_sha256": hash_token("t" * 20),
                                                "sandbox": True, "toolsets": ["clients", "billing"]}]}))
    line = _serve_fails(tmp_path, "--transport", "http", "--port", str(free_port()), "--principals", str(file))
    assert "ann" in line and "billing" in line
