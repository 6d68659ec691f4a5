"""Replicas and shutdown: a token minted by one replica is accepted by another, and SIGTERM loses no record.

Both use a real-account-like setup: `clientary-mcp sandbox` on a port, reached through CLIENTARY_BASE_URL.
"""

from __future__ import annotations

import json
import subprocess

import anyio
import httpx
import pytest
from test_http_support import (CLI, HoldingProxy, clean_env, http_client, launch_sandbox, launch_server, ready_all,
                               text)
from support import tool_error

pytestmark = pytest.mark.slow

TOKEN = "clientary-replica-token-5Jd8Hs2Kq"
SECRET = "replicas-share-this-confirm-secret-0123456789"


@pytest.mark.anyio
async def test_a_preview_on_one_replica_is_confirmed_on_another(tmp_path):
    sandbox = launch_sandbox(tmp_path, "sandbox", TOKEN)
    launches = [sandbox]
    for name in ("a", "b"):
        env = clean_env(tmp_path, CLIENTARY_BASE_URL=sandbox.base, CLIENTARY_API_TOKEN=TOKEN,
                        CLIENTARY_MCP_CONFIRM_SECRET=SECRET, CLIENTARY_MCP_STATELESS="true",
                        CLIENTARY_MCP_AUDIT_LOG=str(tmp_path / f"{name}.jsonl"))
        launches.append(launch_server(tmp_path, name, ["--transport", "http"], env))
    started = ready_all(launches)
    replicas = [proc for proc, _ in started[1:]]
    bases = [base for _, base in started[1:]]
    try:
        with anyio.fail_after(30):
            async with http_client(bases[0]) as a, http_client(bases[1], mode="2026-07-28") as b:
                preview = await a.call_tool("delete_client", {"id": 3})
                token = preview.structured_content["confirm_token"]
                done = await b.call_tool("delete_client", {"id": 3, "confirm": token})
                assert not done.is_error, text(done)
                again = await a.call_tool("delete_client", {"id": 3, "confirm": token})
                assert again.is_error  # the client is gone: the previewed state no longer holds
        records = [json.loads(line) for line in (tmp_path / "b.jsonl").read_text().splitlines()]
        assert records[-1]["outcome"] == "confirmed" and records[-1]["confirm"]["via"] == "token"
    finally:
        for proc, _ in started:
            proc.stop()
    for proc in replicas:
        assert TOKEN not in proc.stderr + proc.stdout and SECRET not in proc.stderr + proc.stdout


@pytest.mark.anyio
async def test_sigterm_lets_calls_in_flight_finish_and_loses_no_audit_record(tmp_path):
    # Every wait below is on a condition: Clientary's answers are held by a proxy until the test has seen
    # the calls in flight, the server draining and a late call refused; only then do they go out.
    (sandbox_proc, sandbox_base), = ready_all([launch_sandbox(tmp_path, "sandbox", TOKEN)])
    audit = tmp_path / "audit.jsonl"
    proxy = HoldingProxy(int(sandbox_base.rsplit(":", 1)[1]))
    server = None
    try:
        async with proxy.running():
            env = clean_env(tmp_path, CLIENTARY_BASE_URL=proxy.base, CLIENTARY_API_TOKEN=TOKEN,
                            CLIENTARY_MCP_AUDIT_LOG=str(audit), CLIENTARY_MCP_SHUTDOWN_TIMEOUT="20")
            launch = launch_server(tmp_path, "server", ["--transport", "http"], env)
            server = launch.proc
            (_, base), = await anyio.to_thread.run_sync(ready_all, [launch])
            answers: dict[str, object] = {}

            async def call(key: str, tool: str, args: dict, mode: str) -> None:
                try:
                    async with http_client(base, mode=mode) as client:  # the handshake, if any, happens here
                        answers[key] = await client.call_tool(tool, args)
                except Exception as exc:  # a session's closing DELETE may meet a stopped server; the answer counts
                    answers.setdefault(key, exc)

            async def readyz(http: httpx.AsyncClient) -> httpx.Response:
                return await http.get(base + "/readyz")

            with anyio.fail_after(60):
                async with anyio.create_task_group() as tg, httpx.AsyncClient(timeout=10) as http:
                    for n in (1, 2, 3):
                        tg.start_soon(call, f"get{n}", "get_client", {"id": n}, "2026-07-28")
                    tg.start_soon(call, "project", "get_project", {"id": 1}, "legacy")
                    tg.start_soon(call, "list", "list_clients", {"page": 1}, "legacy")
                    while (await readyz(http)).json()["calls_in_flight"] < 5:
                        await anyio.sleep(0.02)  # until all five wait on the held account
                    server.terminate()
                    while (await readyz(http)).status_code != 503:  # draining; the calls are still held
                        await anyio.sleep(0.02)
                    await call("late", "get_staff", {"id": 1}, "2026-07-28")
                    assert "get1" not in answers  # still held: the late call met a draining server
                    proxy.release.set()
                code = await anyio.to_thread.run_sync(lambda: server.wait(30))
            assert code == 0, server.stderr
    finally:
        if server is not None:
            server.stop()
        sandbox_proc.stop()

    for key in ("get1", "get2", "get3", "project", "list"):
        result = answers[key]
        assert not isinstance(result, Exception) and not result.is_error, (key, result)
    late = answers["late"]
    assert late.is_error and "shutting down" in text(late)
    assert tool_error(late)["kind"] == "shutting_down"

    verified = subprocess.run([CLI, "audit", "verify", str(audit)], capture_output=True, text=True, timeout=60,
                              env=clean_env(tmp_path))
    assert verified.returncode == 0, verified.stdout + verified.stderr
    records = [json.loads(line) for line in audit.read_text().splitlines()]
    recorded = {(r["tool"], json.dumps(r["args"], sort_keys=True)): r for r in records}
    expected = {"get1": ("get_client", {"id": 1}), "get2": ("get_client", {"id": 2}),
                "get3": ("get_client", {"id": 3}), "project": ("get_project", {"id": 1}),
                "list": ("list_clients", {"page": 1}), "late": ("get_staff", {"id": 1})}
    for key, (tool, args) in expected.items():
        assert (tool, json.dumps(args, sort_keys=True)) in recorded, f"no audit record for {key}"
    assert recorded[("get_staff", '{"id": 1}')]["outcome"] == "refused"
    assert recorded[("get_client", '{"id": 1}')]["outcome"] == "ok"
    assert "stopping: 5 tool call(s) in flight" in server.stderr, server.stderr
