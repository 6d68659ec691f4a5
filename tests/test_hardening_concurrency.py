"""Concurrency: 50 calls at once on one server process, over stdio and over Streamable HTTP.

One subprocess, one MCP client, 50 tasks: reads of clients 1-5, creates with unique titles, and invalid
calls whose error echoes the caller's own bad value. Every answer must be the answer to its own request;
the audit log must hold exactly one complete record per call describing it (plus, for each create, the
intent written before its request), and
`clientary-mcp audit verify` must find the chain intact.
"""

from __future__ import annotations

import json
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from clientary_mcp.sandbox import create_app

pytest.register_assert_rewrite("hardening")
from hardening import BIN, EVIDENCE, FAKE_BEARER, running_http_server, server_env  # noqa: E402

pytest_plugins = ["hardening"]
pytestmark = pytest.mark.usefixtures("secrets_guard")

CALLS = 50
NAMES = {c["id"]: c["name"] for c in create_app().state.store.table("clients")}  # the seeded demo account
FIELDS = {"seq", "ts", "principal", "transport", "request_id", "tool", "kind", "args", "outcome", "error_kind",
          "http", "ms", "prev", "hash"}


def plan(tag: str) -> list[tuple[str, dict[str, Any]]]:
    calls: list[tuple[str, dict[str, Any]]] = []
    for i in range(CALLS):
        if i % 5 in (0, 1):
            calls.append(("get_client", {"id": 1 + i % 5}))
        elif i % 5 in (2, 3):
            calls.append(("create_task", {"title": f"{tag}-task-{i:02d}"}))
        else:
            calls.append(("get_client", {"id": f"bad-{i:02d}"}))
    return calls


async def fire(client: Client, calls: list[tuple[str, dict[str, Any]]]) -> list[Any]:
    results: list[Any] = [None] * len(calls)

    async def one(i: int) -> None:
        results[i] = EVIDENCE.result(await client.call_tool(*calls[i]))

    with anyio.fail_after(60):
        async with anyio.create_task_group() as tg:
            for i in range(len(calls)):
                tg.start_soon(one, i)
    return results


def check_answers(calls: list[tuple[str, dict[str, Any]]], results: list[Any]) -> None:
    created = []
    for (tool, args), result in zip(calls, results):
        data, text = result.structured_content, result.content[0].text
        if isinstance(args.get("id"), str):
            assert result.is_error and f"'{args['id']}'" in text, f"{args}: got {text[:200]}"
        elif tool == "get_client":
            assert not result.is_error and data["id"] == args["id"] and data["name"] == NAMES[args["id"]], data
        else:
            assert not result.is_error and data["title"] == args["title"], data
            created.append(data["id"])
    assert len(set(created)) == len(created) == 20


def check_audit(path: Path, calls: list[tuple[str, dict[str, Any]]], transport: str, principal: str) -> None:
    everything = [json.loads(line) for line in path.read_text().splitlines()]
    creates = sum(tool == "create_task" for tool, _ in calls)
    assert len(everything) == CALLS + creates  # each create also left its intent, written before the POST
    assert [r["seq"] for r in everything] == list(range(1, CALLS + creates + 1))
    intents = {r["seq"]: r for r in everything if r.get("phase") == "intent"}
    records = []
    for r in everything:  # one record per call: the outcome, with the arguments of its intent
        if r.get("phase") == "outcome":
            intent = intents.pop(r["intent"])
            assert intent["request_id"] == r["request_id"] and intent["seq"] < r["seq"]
            r = {**r, "args": intent["args"], "prev": r["prev"]}
        if r.get("phase") != "intent":
            records.append(r)
    assert not intents and len(records) == CALLS
    for r in records:
        assert FIELDS <= set(r), FIELDS - set(r)
        assert r["transport"] == transport and r["principal"] == principal and r["request_id"] is not None
        assert isinstance(r["ms"], (int, float)) and r["ts"].endswith("Z") and len(r["hash"]) == 64
        if isinstance(r["args"].get("id"), str):
            assert r["outcome"] == "validation_error" and r["http"] == []
        elif r["tool"] == "get_client":
            assert r["outcome"] == "ok"
            assert [(x["method"], x["path"], x["status"]) for x in r["http"]] == [
                ("GET", f"/api/v2/clients/{r['args']['id']}", 200)], r  # the record is about its own call
        else:
            assert r["outcome"] == "ok" and [(x["method"], x["status"]) for x in r["http"]] == [("POST", 201)]
    assert len({json.dumps(r["request_id"]) for r in records}) == CALLS
    audited = Counter((r["tool"], json.dumps(r["args"], sort_keys=True)) for r in records)
    assert audited == Counter((tool, json.dumps(args, sort_keys=True)) for tool, args in calls)
    verdict = subprocess.run([str(BIN), "audit", "verify", str(path)], capture_output=True, text=True, timeout=60,
                             env=server_env(path.parent))
    assert verdict.returncode == 0 and f"{CALLS + creates} records, chain intact" in verdict.stdout, verdict.stdout


@pytest.mark.anyio
async def test_fifty_concurrent_calls_over_stdio_each_get_their_own_answer(tmp_path):
    calls = plan("stdio")
    params = StdioServerParameters(command=str(BIN), args=["serve", "--sandbox"], env=server_env(tmp_path))
    async with Client(params, mode="legacy") as client:
        results = await fire(client, calls)
    check_answers(calls, results)
    check_audit(tmp_path / "audit.jsonl", calls, "stdio", "local")


@pytest.mark.anyio
async def test_fifty_concurrent_calls_over_http_each_get_their_own_answer(tmp_path):
    calls = plan("http")
    with running_http_server(tmp_path) as (base, _proc):
        headers = {"Authorization": f"Bearer {FAKE_BEARER}"}
        async with httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(15.0, read=60.0)) as http:
            async with Client(streamable_http_client(base + "/mcp", http_client=http), mode="legacy") as client:
                results = await fire(client, calls)
    check_answers(calls, results)
    check_audit(tmp_path / "audit.jsonl", calls, "http", "hardening")
