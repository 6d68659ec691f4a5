"""Principals over the network: bearer tokens, per-principal accounts, policies and rate limits, and secrecy.

One server process holds four principals: alice and bob each with a sandbox of their own (bob read-only),
carol limited to the clients toolset and 2 calls a minute, erin on a real-account-like setup (the sandbox
served on a port, its token read from an environment variable).
"""

from __future__ import annotations

import json

import anyio
import httpx
import pytest
from test_http_support import add_principal, clean_env, http_client, launch_sandbox, launch_server, ready_all, text
from support import tool_error

pytestmark = pytest.mark.slow

CLIENTARY_TOKEN = "clientary-secret-Qx7Zk2Lw9Rt4Vb8N"  # the sandbox's API token, standing in for a real one


@pytest.fixture(scope="module")
def deployment(tmp_path_factory):
    work = tmp_path_factory.mktemp("principals")
    sandbox = launch_sandbox(work, "sandbox", CLIENTARY_TOKEN)
    file = work / "principals.json"
    tokens = {
        "alice": add_principal(file, "alice", "--sandbox"),
        "bob": add_principal(file, "bob", "--sandbox", "--read-only"),
        "carol": add_principal(file, "carol", "--sandbox", "--toolsets", "clients", "--rate-limit", "2/min"),
        "erin": add_principal(file, "erin", "--base-url", sandbox.base, "--token-env", "ERIN_CLIENTARY_TOKEN"),
    }
    audit = work / "audit.jsonl"
    env = clean_env(work, CLIENTARY_MCP_AUDIT_LOG=str(audit), ERIN_CLIENTARY_TOKEN=CLIENTARY_TOKEN)
    started = ready_all([sandbox, launch_server(work, "server", ["--transport", "http", "--principals", str(file)],
                                                env)])
    server, base = started[1]
    try:
        seen: list[str] = []  # every response body a test saw, for the secrecy check
        yield {"base": base, "tokens": tokens, "audit": audit, "file": file, "server": server, "seen": seen}
    finally:
        for proc, _ in started:
            proc.stop()


def test_the_file_holds_only_hashes(deployment):
    raw = deployment["file"].read_text()
    assert deployment["file"].stat().st_mode & 0o777 == 0o600
    for token in deployment["tokens"].values():
        assert token not in raw
    assert CLIENTARY_TOKEN not in raw and "ERIN_CLIENTARY_TOKEN" in raw


@pytest.mark.parametrize("authorization", [None, "Bearer wrong-token", "Basic YWxpY2U6eA==", "Bearer"])
def test_missing_or_unknown_bearer_gets_401(deployment, authorization):
    headers = {"Accept": "application/json, text/event-stream"}
    if authorization:
        headers["Authorization"] = authorization
    answer = httpx.post(deployment["base"] + "/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
                        headers=headers, timeout=5)
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"].startswith("Bearer")
    assert httpx.get(deployment["base"] + "/healthz", timeout=5).status_code == 200  # probes need no token


@pytest.mark.anyio
async def test_a_read_only_principal_sees_and_runs_only_reads(deployment):
    with anyio.fail_after(30):
        async with http_client(deployment["base"], deployment["tokens"]["bob"]) as bob:
            tools = (await bob.list_tools()).tools
            assert tools and all(t.annotations.read_only_hint for t in tools)
            assert not any(t.name.startswith(("create_", "delete_", "update_")) for t in tools)
            refused = await bob.call_tool("create_client", {"name": "Not Allowed"})
            assert refused.is_error and "read-only" in text(refused)
            deployment["seen"].append(text(refused))


@pytest.mark.anyio
async def test_principals_see_their_own_accounts_and_tool_lists(deployment):
    tokens = deployment["tokens"]
    with anyio.fail_after(30):
        async with http_client(deployment["base"], tokens["alice"]) as alice, \
                http_client(deployment["base"], tokens["bob"], mode="2026-07-28") as bob:
            created = await alice.call_tool("create_client", {"name": "Alice Only Ltd"})
            assert not created.is_error, text(created)
            mine = await alice.call_tool("list_clients", {})
            theirs = await bob.call_tool("list_clients", {})
            deployment["seen"] += [text(created), text(mine), text(theirs)]
            assert "Alice Only Ltd" in {c["name"] for c in mine.structured_content["items"]}
            assert "Alice Only Ltd" not in {c["name"] for c in theirs.structured_content["items"]}
            assert len((await alice.list_tools()).tools) == 77
        async with http_client(deployment["base"], tokens["carol"]) as carol:
            names = {t.name for t in (await carol.list_tools()).tools}
            assert names == {"list_clients", "get_client", "create_client", "update_client", "delete_client"}


@pytest.mark.anyio
async def test_a_session_belongs_to_the_principal_that_opened_it(deployment):
    tokens, base = deployment["tokens"], deployment["base"]
    headers = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
    init = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
            "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}
    async with httpx.AsyncClient(timeout=10) as http:
        opened = await http.post(base + "/mcp", json=init,
                                 headers={**headers, "Authorization": f"Bearer {tokens['alice']}"})
        session = opened.headers["mcp-session-id"]
        hijack = await http.post(base + "/mcp", json={"jsonrpc": "2.0", "id": 2, "method": "tools/list"},
                                 headers={**headers, "Authorization": f"Bearer {tokens['bob']}",
                                          "Mcp-Session-Id": session, "MCP-Protocol-Version": "2025-11-25"})
        assert hijack.status_code == 404


@pytest.mark.anyio
async def test_the_rate_limit_gives_a_clear_error(deployment):
    with anyio.fail_after(30):
        async with http_client(deployment["base"], deployment["tokens"]["carol"]) as carol:
            for _ in range(2):
                assert not (await carol.call_tool("list_clients", {})).is_error
            limited = await carol.call_tool("get_client", {"id": 2})
    assert limited.is_error
    message = text(limited)
    assert "Rate limit" in message and "2 tool calls per minute" in message and "retry in" in message
    assert tool_error(limited)["kind"] == "rate_limited"
    assert 1 <= tool_error(limited)["retry_after_seconds"] <= 30
    records = [json.loads(line) for line in deployment["audit"].read_text().splitlines()]
    last = [r for r in records if r["principal"] == "carol"][-1]
    assert (last["tool"], last["outcome"], last["error_kind"]) == ("get_client", "refused", "rate_limited")


@pytest.mark.anyio
async def test_a_principal_on_its_own_account_acts_with_its_token(deployment):
    with anyio.fail_after(30):
        async with http_client(deployment["base"], deployment["tokens"]["erin"], mode="2026-07-28") as erin:
            staff = await erin.call_tool("list_staff", {})
            deployment["seen"].append(text(staff))
            assert not staff.is_error, text(staff)


def test_audit_names_every_principal_and_no_secret_leaks_anywhere(deployment):
    records = [json.loads(line) for line in deployment["audit"].read_text().splitlines()]
    assert {"alice", "bob", "carol", "erin"} <= {r["principal"] for r in records}
    secrets = [*deployment["tokens"].values(), CLIENTARY_TOKEN]
    server = deployment["server"]
    places = {"audit log": deployment["audit"].read_text(), "server stderr": server.stderr,
              "server stdout": server.stdout, "responses": "\n".join(deployment["seen"])}
    for where, content in places.items():
        for secret in secrets:
            assert secret not in content, f"a secret appeared in the {where}"
    assert "401" in server.stdout + server.stderr or "refused a request" in server.stderr  # the log did record refusals


async def _wait_for_line(proc, line: str, count: int = 1) -> None:
    while proc.stderr.count(line) < count:
        await anyio.sleep(0.05)


@pytest.mark.anyio
async def test_sighup_reloads_the_principals_file_and_the_access_log_names_no_token(tmp_path):
    import signal

    from clientary_mcp.transports.principals import main as principals_cli

    file = tmp_path / "principals.json"
    tokens = {name: add_principal(file, name, "--sandbox") for name in ("alice", "bob")}
    (server, base), = ready_all([launch_server(tmp_path, "server", ["--transport", "http", "--principals", str(file)],
                                               clean_env(tmp_path, CLIENTARY_MCP_AUDIT_LOG=str(tmp_path / "a.jsonl")))])
    try:
        with anyio.fail_after(40):
            async with http_client(base, tokens["alice"]) as alice:
                async with http_client(base, tokens["bob"], mode="2026-07-28") as bob:
                    assert not (await bob.call_tool("list_clients", {})).is_error
                assert principals_cli(["remove", "bob", "--file", str(file)]) == 0
                server.popen.send_signal(signal.SIGHUP)
                await _wait_for_line(server, "SIGHUP: reloaded")
                async with httpx.AsyncClient(timeout=10) as http:
                    locked_out = await http.post(base + "/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
                                                 headers={"Authorization": f"Bearer {tokens['bob']}"})
                assert locked_out.status_code == 401  # without a restart
                assert not (await alice.call_tool("list_clients", {})).is_error  # her open session goes on

                file.write_text("{not json")
                server.popen.send_signal(signal.SIGHUP)
                await _wait_for_line(server, "SIGHUP: kept the previous principals")
                assert not (await alice.call_tool("get_client", {"id": 1})).is_error
    finally:
        server.stop()
    log = server.stderr
    assert log.count("SIGHUP: kept the previous principals") == 1 and "Traceback" not in log
    assert "POST /mcp 200 principal=alice" in log and "POST /mcp 401 principal=- " in log
    assert "principal=bob" in log
    for token in tokens.values():
        assert token not in log


@pytest.mark.anyio
async def test_an_account_added_by_a_reload_is_kept_out_of_the_audit_log_too(tmp_path):
    import signal

    carol_token = "carol-own-clientary-token-5309"
    file = tmp_path / "principals.json"
    add_principal(file, "alice", "--sandbox")
    audit = tmp_path / "a.jsonl"
    (server, base), = ready_all([launch_server(tmp_path, "server", ["--transport", "http", "--principals", str(file)],
                                               clean_env(tmp_path, CLIENTARY_MCP_AUDIT_LOG=str(audit),
                                                         CAROL_CLIENTARY_TOKEN=carol_token))])
    try:
        with anyio.fail_after(40):
            # Her account: nothing listens there, so the call fails before anything is sent.
            carol = add_principal(file, "carol", "--base-url", "http://127.0.0.1:9", "--token-env",
                                  "CAROL_CLIENTARY_TOKEN")
            server.popen.send_signal(signal.SIGHUP)
            await _wait_for_line(server, "SIGHUP: reloaded")
            async with http_client(base, carol) as client:
                # An agent pastes her token into a field: the record of the call must not keep it.
                result = await client.call_tool("create_client", {"name": carol_token})
            assert result.is_error
    finally:
        server.stop()
    records = [json.loads(line) for line in audit.read_text().splitlines()]
    assert any(r.get("principal") == "carol" and r.get("tool") == "create_client" for r in records)
    assert carol_token not in audit.read_text()
