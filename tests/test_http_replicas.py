"""Two replicas on one real redis-server behave as one service: a shared rate limit, single use of a
confirmation across them, and failing closed while Redis is gone, recovering when it is back.

Both replicas act on one real-account-like Clientary (`clientary-mcp sandbox` on a port).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import anyio
import httpx
import pytest
from external import redis_server
from support import tool_error
from test_http_support import (RedisProc, add_principal, clean_env, http_client, launch_sandbox, launch_server,
                               ready_all, text)

pytestmark = pytest.mark.slow

TOKEN = "clientary-replicas-redis-token-3Kd9"
SECRET = "replicas-on-redis-share-this-confirm-secret-0123"


@pytest.fixture(scope="module")
def replicas(tmp_path_factory):
    binary = redis_server()
    work = tmp_path_factory.mktemp("replicas")
    redis = RedisProc(binary, work).start()
    file = work / "principals.json"
    tokens = {"limited": add_principal(file, "limited", "--rate-limit", "10/min"),
              "free": add_principal(file, "free")}
    launches = [launch_sandbox(work, "sandbox", TOKEN)]
    for name in ("a", "b"):
        env = clean_env(work, CLIENTARY_BASE_URL=launches[0].base, CLIENTARY_API_TOKEN=TOKEN,
                        CLIENTARY_MCP_CONFIRM_SECRET=SECRET, CLIENTARY_MCP_REDIS_URL=redis.url,
                        CLIENTARY_MCP_AUDIT_LOG=str(work / f"{name}.jsonl"))
        launches.append(launch_server(work, name, ["--transport", "http", "--principals", str(file)], env))
    try:
        started = ready_all(launches)
    except BaseException:
        redis.stop()
        raise
    try:
        yield {"bases": [base for _, base in started[1:]], "tokens": tokens, "redis": redis, "work": work,
               "procs": [proc for proc, _ in started[1:]]}
    finally:
        for proc, _ in started:
            proc.stop()
        redis.stop()
    for proc, _ in started[1:]:
        assert TOKEN not in proc.stderr and SECRET not in proc.stderr
        assert all(t not in proc.stderr for t in tokens.values())


def _records(work: Path, name: str) -> list[dict]:
    return [json.loads(line) for line in (work / f"{name}.jsonl").read_text().splitlines()]


@pytest.mark.anyio
async def test_a_rate_limit_of_10_per_minute_allows_10_calls_across_both_replicas(replicas):
    bases, token = replicas["bases"], replicas["tokens"]["limited"]
    results: list[object] = []
    go = anyio.Event()

    async def calls(base: str, n: int) -> None:
        async with http_client(base, token, mode="2026-07-28") as client:
            await go.wait()
            for _ in range(n):
                results.append(await client.call_tool("get_staff", {"id": 1}))

    with anyio.fail_after(60):
        async with anyio.create_task_group() as tg:
            for base in bases:
                for _ in range(2):
                    tg.start_soon(calls, base, 4)  # 16 calls at once, half on each replica
            await anyio.sleep(0)
            started = time.monotonic()
            go.set()
        elapsed = time.monotonic() - started
    ok = [r for r in results if not r.is_error]
    limited = [r for r in results if r.is_error]
    # The bucket refills one call every 6 s: a run slower than that may earn one more, and no other.
    assert 10 <= len(ok) <= 10 + int(elapsed // 6), [text(r) for r in limited]
    assert all(tool_error(r)["kind"] == "rate_limited" for r in limited)
    assert all("10 tool calls per minute" in text(r) for r in limited)


@pytest.mark.anyio
async def test_a_token_minted_on_one_replica_acts_once_across_both(replicas):
    bases, token = replicas["bases"], replicas["tokens"]["free"]
    args = {"id": 2, "recipients": ["billing@example.com"]}  # an invoice that was already sent
    with anyio.fail_after(60):
        async with http_client(bases[0], token, mode="2026-07-28") as a, \
                http_client(bases[1], token, mode="2026-07-28") as b:
            preview = await a.call_tool("send_invoice_message", args)
            assert not preview.is_error, text(preview)
            confirm = {**args, "confirm": preview.structured_content["confirm_token"]}
            answers: list[object] = []

            async def present(client) -> None:
                answers.append(await client.call_tool("send_invoice_message", confirm))

            async with anyio.create_task_group() as tg:
                for client in (a, b, a, b):
                    tg.start_soon(present, client)
    assert sum(not r.is_error for r in answers) == 1, [text(r) for r in answers]
    sent = [r for name in ("a", "b") for r in _records(replicas["work"], name)
            if r["tool"] == "send_invoice_message" and r.get("outcome") == "confirmed"]
    assert len(sent) == 1


@pytest.mark.anyio
async def test_without_redis_limited_and_gated_calls_fail_closed_and_recover(replicas):
    bases, tokens, redis = replicas["bases"], replicas["tokens"], replicas["redis"]
    with anyio.fail_after(90):
        async with httpx.AsyncClient(timeout=10) as http, \
                http_client(bases[0], tokens["limited"], mode="2026-07-28") as limited, \
                http_client(bases[1], tokens["free"], mode="2026-07-28") as free:
            redis.stop()
            try:
                for base in bases:
                    ready = (await http.get(base + "/readyz")).json()
                    assert ready["status"] == "degraded" and ready["store"]["ok"] is False
                    assert "gated tools and rate-limited calls" in ready["store"]["refused"]
                refused = await limited.call_tool("get_staff", {"id": 1})
                assert refused.is_error and tool_error(refused)["kind"] == "store_unavailable"
                assert "nothing was done" in text(refused).lower()
                gated = await free.call_tool("delete_client", {"id": 4})
                assert gated.is_error and tool_error(gated)["kind"] == "store_unavailable"
                read = await free.call_tool("get_client", {"id": 1})  # no rate limit: reads go on
                assert not read.is_error, text(read)
            finally:
                redis.start()
            # Back: the stores reconnect on their own, at the latest a second after their last failure.
            for base in bases:
                while (await http.get(base + "/readyz")).json()["status"] != "ready":
                    await anyio.sleep(0.1)
            preview = await free.call_tool("delete_client", {"id": 4})
            assert not preview.is_error and preview.structured_content["status"] == "preview"
    refusals = [r for name in ("a", "b") for r in _records(replicas["work"], name)
                if r.get("error_kind") == "store_unavailable"]
    assert len(refusals) == 2  # each refusal is audited
    assert any("did not answer" in proc.stderr for proc in replicas["procs"])  # one warning line, not a stack
