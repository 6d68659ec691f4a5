"""The audit log: one record per call whatever the outcome, a hash chain that catches tampering, no secrets."""

from __future__ import annotations

import json
import logging

import anyio
import pytest

from clientary_mcp.app import build_service
from clientary_mcp.safety.audit import AuditLog, verify
from clientary_mcp.config import Settings
from clientary_mcp.options import load_options
from clientary_mcp.sandbox import create_app
from support import SECRET, data, session


@pytest.mark.anyio
async def test_one_record_per_call_whatever_the_outcome(tmp_path):
    async with session(tmp_path, flags={"exclude": "list_staff"}) as h:
        data(await h.call("get_client", {"id": 1}))                      # ok
        await h.call("get_client", {"id": 999})                          # api error (not found)
        await h.call("get_client", {"id": "x"})                          # validation error
        await h.call("list_staff", {})                                   # refused by policy
        token = data(await h.call("delete_expense", {"id": 1}))["confirm_token"]  # preview
        await h.call("delete_expense", {"id": 1, "confirm": "forged.token"})      # refused confirmation
        await h.call("delete_expense", {"id": 1, "confirm": token})               # confirmed
        with pytest.raises(Exception):
            await h.call("no_such_tool", {})                             # unknown tool (protocol error)
        records = h.audit()
    outcomes = [(r["tool"], r["outcome"], r["error_kind"]) for r in records]
    assert outcomes == [
        ("get_client", "ok", None),
        ("get_client", "api_error", "not_found"),
        ("get_client", "validation_error", None),
        ("list_staff", "refused", None),
        ("delete_expense", "preview", None),
        ("delete_expense", "refused", "confirmation"),
        ("delete_expense", "confirmed", None),
        ("no_such_tool", "unknown_tool", None),
    ]
    first = records[0]
    assert first["principal"] == "local" and first["transport"] == "stdio" and first["request_id"] is not None
    assert first["http"] == [{"method": "GET", "path": "/api/v2/clients/1", "status": 200, "ms": first["http"][0]["ms"]}]
    assert first["ms"] >= first["http"][0]["ms"]
    assert records[2]["http"] == [] and records[3]["http"] == []  # nothing reached Clientary
    confirmed = records[6]
    assert confirmed["args"]["confirm"] == "[redacted]" and token not in json.dumps(records)
    assert confirmed["confirm"]["via"] == "token"
    assert confirmed["confirm"]["preview_digest"] == records[4]["confirm"]["preview_digest"]
    assert [h["method"] for h in confirmed["http"]][-1] == "DELETE"
    assert verify(tmp_path / "audit.jsonl").ok


@pytest.mark.anyio
async def test_long_text_is_truncated_in_the_record(tmp_path):
    async with session(tmp_path) as h:
        data(await h.call("create_client", {"name": "Long", "description": "y" * 5000}))
        rec = h.audit()[-1]
    assert len(rec["args"]["description"]) < 300 and "5000 chars" in rec["args"]["description"]


@pytest.mark.anyio
async def test_concurrent_calls_each_leave_one_intact_record(tmp_path):
    async with session(tmp_path) as h:
        async def one(i: int) -> None:
            if i % 2:
                await h.call("get_client", {"id": 1 + i % 5})
            else:
                await h.call("create_task", {"title": f"task {i}"})

        async with anyio.create_task_group() as tg:
            for i in range(50):
                tg.start_soon(one, i)
        records = h.audit()
    assert len(records) == 50 and [r["seq"] for r in records] == list(range(1, 51))
    assert sorted(r["args"].get("title", "") for r in records if r["tool"] == "create_task") == sorted(
        f"task {i}" for i in range(0, 50, 2))
    assert verify(tmp_path / "audit.jsonl").ok


def _log(tmp_path, n=5):
    path = tmp_path / "audit.jsonl"
    log = AuditLog(path)
    for i in range(n):
        log.write({"tool": "get_client", "outcome": "ok", "i": i})
    log.close()
    return path


def test_verify_catches_edits_removals_reordering_and_truncation(tmp_path):
    path = _log(tmp_path)
    lines = path.read_text().splitlines(keepends=True)
    assert verify(path).ok and verify(path).records == 5

    path.write_text("".join(lines[:2] + [lines[2].replace('"ok"', '"error"')] + lines[3:]))
    assert any("line 3" in p and "edited" in p for p in verify(path).problems)

    path.write_text("".join(lines[:1] + lines[2:]))
    assert any("line 2" in p and "removed" in p for p in verify(path).problems)

    path.write_text("".join([lines[1], lines[0]] + lines[2:]))
    assert not verify(path).ok

    path.write_text("".join(lines) + lines[0][:30])
    problems = verify(path).problems
    assert problems == ["line 6: truncated last line (an interrupted write)"]


def test_next_start_recovers_from_a_truncated_last_line(tmp_path):
    path = _log(tmp_path)
    intact = path.read_text()
    path.write_text(intact + '{"seq": 6, "tool": "get_cl')
    log = AuditLog(path)
    assert "partial last line" in (log.recovered or "")
    log.write({"tool": "get_client", "outcome": "ok"})
    log.close()
    assert path.read_text().startswith(intact)  # nothing earlier lost
    verdict = verify(path)
    assert verdict.ok and verdict.records == 6
    assert (tmp_path / "audit.jsonl.partial").read_text().startswith('{"seq": 6')


def test_the_writer_blanks_a_known_secret_and_keeps_the_record(tmp_path):
    log = AuditLog(tmp_path / "a.jsonl", scrub=("sk-very-secret-token",))
    log.write({"note": "leaked sk-very-secret-token", "args": {"sk-very-secret-token": ["sk-very-secret-token"]}})
    log.write({"note": "next"})
    log.close()
    text = (tmp_path / "a.jsonl").read_text()
    assert "sk-very-secret-token" not in text and text.count("[redacted]") == 3
    assert verify(tmp_path / "a.jsonl").ok and verify(tmp_path / "a.jsonl").records == 2


@pytest.mark.anyio
async def test_no_secret_in_audit_results_or_logs(tmp_path, caplog):
    api_token = "ct-9f8e7d6c5b4a39281706f5e4d3c2b1a0"
    app = create_app(token=api_token)
    settings = Settings.for_base_url("http://sandbox.invalid", api_token)
    options = load_options(None, env={"CLIENTARY_MCP_AUDIT_LOG": str(tmp_path / "audit.jsonl"),
                                      "CLIENTARY_MCP_CONFIRM_SECRET": SECRET})
    service = build_service(options, settings, sandbox=True, sandbox_app=app)
    from mcp import Client

    from clientary_mcp.server import build_server

    texts = []
    caplog.set_level(logging.DEBUG)
    async with Client(build_server(lambda ctx: (service, "local"))) as client:
        for tool, args in [("list_clients", {}), ("get_client", {"id": 999}), ("create_client", {}),
                           ("delete_client", {"id": 1}), ("get_invoice", {"id": 1})]:
            result = await client.call_tool(tool, args)
            texts.append(json.dumps(result.model_dump(mode="json")))
        preview = json.loads(texts[3])["structured_content"]["confirm_token"]
        result = await client.call_tool("delete_client", {"id": 1, "confirm": preview})
        texts.append(json.dumps(result.model_dump(mode="json")))
    await service.api.aclose()
    service.audit.close()
    haystacks = texts + [(tmp_path / "audit.jsonl").read_text(), caplog.text]
    import base64

    basic = base64.b64encode(f"{api_token}:{api_token}".encode()).decode()
    for secret in (api_token, SECRET, basic):
        assert not any(secret in h for h in haystacks)


@pytest.mark.anyio
async def test_a_call_cancelled_by_the_client_still_leaves_one_record(tmp_path):
    async with session(tmp_path) as h:
        h.app.state.faults.latency = 2.0
        with anyio.move_on_after(0.3):
            await h.call("get_client", {"id": 1})
        for _ in range(100):  # the server learns of the cancellation asynchronously
            if h.audit():
                break
            await anyio.sleep(0.02)
        h.app.state.faults.latency = 0.0
        data(await h.call("get_client", {"id": 2}))
        records = h.audit()
    assert [(r["tool"], r["outcome"], r["error_kind"]) for r in records] == [
        ("get_client", "interrupted", "cancelled"), ("get_client", "ok", None)]
    assert verify(tmp_path / "audit.jsonl").ok
