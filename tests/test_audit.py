"""The audit log: a record of every call whatever the outcome (intent before a change), a keyed chain that
catches tampering, bounded records, no secrets."""

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
from support import SECRET, call_records, data, session, ticking

KEY = b"test-audit-key-0123456789abcdef-0123456789"


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
        everything = h.audit()
        assert h.verify().ok
    records = call_records(everything)
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
    # Only the confirmed delete changed something: its intent was written before the DELETE went out,
    # and its outcome record points back at it.
    intents = [r for r in everything if r.get("phase") == "intent"]
    assert len(intents) == 1 and len(everything) == len(records) + 1
    intent, confirmed = intents[0], records[6]
    assert everything.index(intent) == everything.index(confirmed) - 1 and confirmed["intent"] == intent["seq"]
    assert intent["args"]["confirm"] == "[redacted]" and token not in json.dumps(everything)
    assert "args" not in confirmed and confirmed["phase"] == "outcome"
    assert confirmed["confirm"]["via"] == "token" == intent["confirm"]["via"]
    assert confirmed["confirm"]["preview_digest"] == records[4]["confirm"]["preview_digest"]
    assert [h["method"] for h in confirmed["http"]][-1] == "DELETE"


@pytest.mark.anyio
async def test_long_text_is_truncated_in_the_record(tmp_path):
    async with session(tmp_path) as h:
        data(await h.call("create_client", {"name": "Long", "description": "y" * 5000}))
        rec = h.audit()[-2]  # the intent holds the arguments
    assert len(rec["args"]["description"]) < 300 and "5000 chars" in rec["args"]["description"]


@pytest.mark.anyio
async def test_a_megabyte_of_arguments_adds_at_most_the_record_bound(tmp_path):
    blob = {f"k{i:05d}-" + "x" * 300: "v" * 2000 for i in range(500)}  # ~1.1 MB of keys and values
    async with session(tmp_path) as h:
        await h.call("create_client", {"name": "Big", "custom": blob, "nan": float("nan")})
        await h.call("get_client", {"id": 1, "filter": blob})
        assert h.verify().ok
    lines = (tmp_path / "audit.jsonl").read_bytes().splitlines()
    assert len(lines) == 2 and all(len(line) < 64 * 1024 for line in lines)
    for line in lines:  # strict JSON: no NaN, no Infinity
        json.loads(line, parse_constant=lambda c: pytest.fail(f"non-JSON constant {c}"))
    rec = json.loads(lines[1])
    assert all(len(k) <= 100 + 20 for k in rec["args"]["filter"]) and "[more]" in rec["args"]["filter"]


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
        assert h.verify().ok
    # 25 reads (one record each), 25 creates (intent + outcome)
    assert len(records) == 75 and [r["seq"] for r in records] == list(range(1, 76))
    intents = {r["seq"]: r for r in records if r.get("phase") == "intent"}
    assert sorted(r["args"]["title"] for r in intents.values()) == sorted(f"task {i}" for i in range(0, 50, 2))
    outcomes = [r for r in records if r.get("phase") == "outcome"]
    assert sorted(r["intent"] for r in outcomes) == sorted(intents)


def _log(tmp_path, n=5):
    path = tmp_path / "audit.jsonl"
    log = AuditLog(path, key=KEY)
    for i in range(n):
        log.write({"tool": "get_client", "outcome": "ok", "i": i})
    log.close()
    return path


def test_verify_catches_edits_removals_reordering_and_truncation(tmp_path):
    path = _log(tmp_path)
    lines = path.read_text().splitlines(keepends=True)
    assert verify(path, KEY).ok and verify(path, KEY).records == 5

    path.write_text("".join(lines[:2] + [lines[2].replace('"ok"', '"error"')] + lines[3:]))
    assert any("line 3" in p and "edited" in p for p in verify(path, KEY).problems)

    path.write_text("".join(lines[:1] + lines[2:]))
    assert any("line 2" in p and "removed" in p for p in verify(path, KEY).problems)

    path.write_text("".join([lines[1], lines[0]] + lines[2:]))
    assert not verify(path, KEY).ok

    path.write_text("".join(lines) + lines[0][:30])
    problems = verify(path, KEY).problems
    assert problems == ["audit.jsonl line 6: truncated last line (an interrupted write)"]


def _rehash(records: list[dict], key: bytes | None) -> list[str]:
    """What a forger would write: every hash and link recomputed (with `key`, or plain SHA-256 without one)."""
    import hashlib
    import hmac

    prev, out = "0" * 64, []
    for rec in records:
        rec = {**{k: v for k, v in rec.items() if k != "hash"}, "prev": prev}
        body = json.dumps(rec, sort_keys=True, separators=(",", ":")).encode()
        rec["hash"] = hmac.new(key, body, hashlib.sha256).hexdigest() if key else hashlib.sha256(body).hexdigest()
        prev = rec["hash"]
        out.append(json.dumps(rec) + "\n")
    return out


def test_tampering_is_reported_even_when_the_forger_recomputes_the_chain(tmp_path):
    path = _log(tmp_path, 6)
    intact = path.read_text()
    records = [json.loads(line) for line in intact.splitlines()]

    path.write_text("".join(intact.splitlines(keepends=True)[:4]))  # the last two records removed
    assert any("last 2 record(s) were removed" in p for p in verify(path, KEY).problems)

    edited = [dict(r) for r in records]
    edited[2]["outcome"] = "api_error"
    path.write_text("".join(_rehash(edited, None)))  # rewritten and rehashed, without the key
    problems = verify(path, KEY).problems
    assert any("seq 3" in p and "audit key" in p for p in problems)

    forged = {**records[-1], "seq": 7, "tool": "delete_client", "prev": records[-1]["hash"]}
    path.write_text(intact + _rehash(records + [forged], None)[-1])  # an appended forgery
    assert any("seq 7" in p and "keyed hash does not match" in p for p in verify(path, KEY).problems)

    path.write_text("".join(_rehash([records[0], records[2], records[1], *records[3:]], None)))  # reordered
    problems = verify(path, KEY).problems
    assert any("sequence jumps" in p for p in problems) and any("audit key" in p for p in problems)

    path.write_text(intact)
    assert verify(path, KEY).ok
    assert not verify(path, b"another-key-0123456789abcdef0123456789").ok


def test_several_writers_continue_one_chain_from_the_files_real_tail(tmp_path):
    path = tmp_path / "audit.jsonl"
    first, second = AuditLog(path, key=KEY), AuditLog(path, key=KEY)  # as two processes would
    for i in range(10):
        (first if i % 3 else second).write({"tool": "get_client", "i": i})
    first.close()
    second.close()
    records = [json.loads(line) for line in path.read_text().splitlines()]
    assert [r["seq"] for r in records] == list(range(1, 11)) and [r["i"] for r in records] == list(range(10))
    assert verify(path, KEY).ok


@pytest.mark.anyio
async def test_a_record_waiting_for_another_writers_lock_does_not_stall_the_event_loop(tmp_path):
    import fcntl
    import os
    import threading
    import time

    path = tmp_path / "audit.jsonl"
    log, other = AuditLog(path, key=KEY), AuditLog(path, key=KEY)  # as two processes would
    await log.awrite({"tool": "get_client", "i": 0})  # unlocked: appended at once
    held = os.open(str(path) + ".lock", os.O_RDWR)
    fcntl.flock(held, fcntl.LOCK_EX)  # another process in the middle of its append

    def release() -> None:  # from a thread: a stalled loop could not run it
        fcntl.flock(held, fcntl.LOCK_UN)
        other.write({"tool": "list_clients", "i": "other"})

    timer = threading.Timer(0.3, release)
    started = time.monotonic()
    timer.start()
    _, ticks = await ticking(log.awrite({"tool": "get_client", "i": 1}))
    timer.join()
    os.close(held)
    assert time.monotonic() - started >= 0.29  # it did wait for the lock ...
    assert ticks >= 10  # ... while the loop went on running
    log.close()
    other.close()
    records = [json.loads(line) for line in path.read_text().splitlines()]
    assert [r["seq"] for r in records] == [1, 2, 3] and verify(path, KEY).ok


def test_a_writer_that_died_mid_line_does_not_corrupt_the_next_append(tmp_path):
    path = tmp_path / "audit.jsonl"
    log = AuditLog(path, key=KEY)
    log.write({"i": 0})
    with open(path, "ab") as other:  # another process, killed half way through its line
        other.write(b'{"seq":2,"i":"half')
    log.write({"i": 1})
    log.close()
    assert [json.loads(x)["i"] for x in path.read_text().splitlines()] == [0, 1]
    assert verify(path, KEY).ok and (tmp_path / "audit.jsonl.partial").read_text().startswith('{"seq":2')


def test_rotation_continues_the_chain_and_verify_checks_the_whole_set(tmp_path):
    path = tmp_path / "audit.jsonl"
    log = AuditLog(path, key=KEY, max_bytes=4096)
    for i in range(40):
        log.write({"tool": "get_client", "i": i, "pad": "p" * 150})
    log.close()
    rotated = sorted(p.name for p in tmp_path.glob("audit.jsonl.[0-9]*"))
    assert len(rotated) >= 2 and all(p.stat().st_size <= 4096 for p in tmp_path.glob("audit.jsonl*"))
    verdict = verify(path, KEY)
    assert verdict.ok and verdict.records == 40 and verdict.files == len(rotated) + 1
    (tmp_path / "audit.jsonl.2").unlink()  # a middle file goes missing
    problems = verify(path, KEY).problems
    assert any("are missing before this file" in p for p in problems), problems


def test_a_rename_by_logrotate_loses_nothing(tmp_path):
    path = tmp_path / "audit.jsonl"
    log = AuditLog(path, key=KEY)
    log.write({"i": 0})
    path.rename(tmp_path / "audit.jsonl.1")  # logrotate's move; the server still holds the old file
    log.write({"i": 1})  # noticed: goes to the new file, continuing the chain
    log.reopen()  # what SIGHUP does
    log.write({"i": 2})
    log.close()
    assert [json.loads(x)["i"] for x in path.read_text().splitlines()] == [1, 2]
    assert verify(path, KEY).ok and verify(path, KEY).records == 3


def test_the_log_is_private_to_its_owner(tmp_path):
    path = tmp_path / "new" / "audit.jsonl"
    log = AuditLog(path, key=KEY)
    log.write({"i": 0})
    log.close()
    assert path.stat().st_mode & 0o777 == 0o600 and path.parent.stat().st_mode & 0o777 == 0o700
    assert (tmp_path / "new" / "audit.jsonl.head").stat().st_mode & 0o777 == 0o600


def test_next_start_recovers_from_a_truncated_last_line(tmp_path):
    path = _log(tmp_path)
    intact = path.read_text()
    path.write_text(intact + '{"seq": 6, "tool": "get_cl')
    log = AuditLog(path, key=KEY)
    assert "partial last line" in (log.recovered or "")
    log.write({"tool": "get_client", "outcome": "ok"})
    log.close()
    assert path.read_text().startswith(intact)  # nothing earlier lost
    verdict = verify(path, KEY)
    assert verdict.ok and verdict.records == 6
    assert (tmp_path / "audit.jsonl.partial").read_text().startswith('{"seq": 6')


def test_the_writer_blanks_a_known_secret_and_keeps_the_record(tmp_path):
    log = AuditLog(tmp_path / "a.jsonl", scrub=("sk-very-secret-token",), key=KEY)
    log.write({"note": "leaked sk-very-secret-token", "args": {"sk-very-secret-token": ["sk-very-secret-token"]}})
    log.write({"note": "next"})
    log.close()
    text = (tmp_path / "a.jsonl").read_text()
    assert "sk-very-secret-token" not in text and text.count("[redacted]") == 3
    assert verify(tmp_path / "a.jsonl", KEY).ok and verify(tmp_path / "a.jsonl", KEY).records == 2
    assert KEY.decode() not in text and KEY.decode() not in repr(log)


@pytest.mark.anyio
async def test_a_service_blanks_its_accounts_token_in_a_log_shared_with_others(tmp_path):
    # One log for a whole deployment, built before (and without knowing) the accounts that join later:
    # a principals reload, an OAuth claims mapping.
    from clientary_mcp.service import Caller

    token = "acct-token-joined-later-4711"
    log = AuditLog(tmp_path / "a.jsonl", key=KEY)
    service = build_service(load_options(env={}), Settings.for_base_url("http://sandbox.invalid", token),
                            sandbox=True, sandbox_app=create_app(token=token), audit=log)
    result = await service.call("create_client", {"name": f"Pasted {token}"}, Caller(transport="test"))
    assert not result.is_error
    log.close()
    text = (tmp_path / "a.jsonl").read_text()
    assert '"create_client"' in text and token not in text and "[redacted]" in text


@pytest.mark.anyio
async def test_no_secret_in_audit_results_or_logs(tmp_path, caplog):
    api_token = "ct-9f8e7d6c5b4a39281706f5e4d3c2b1a0"
    app = create_app(token=api_token)
    settings = Settings.for_base_url("http://sandbox.invalid", api_token)
    options = load_options(None, env={"CLIENTARY_MCP_AUDIT_LOG": str(tmp_path / "audit.jsonl"),
                                      "CLIENTARY_MCP_CONFIRM_SECRET": SECRET,
                                      "CLIENTARY_MCP_STATE_DIR": str(tmp_path / "state")})
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
        assert h.verify().ok
    assert [(r["tool"], r["outcome"], r["error_kind"]) for r in records] == [
        ("get_client", "interrupted", "cancelled"), ("get_client", "ok", None)]
