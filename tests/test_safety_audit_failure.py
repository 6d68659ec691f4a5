"""The audit log under real failure and real sharing: a full disk, and many processes on one log.

Disk full is a server process whose file-size limit (RLIMIT_FSIZE) is lowered while it runs, so the
audit log cannot grow: the first change that cannot be audited must not be sent, the agent must be told
so, reads must be withheld, /readyz must answer 503 with one clear line on stderr, and once the limit is
raised again the server recovers by itself. Many writers are two HTTP servers and a dozen concurrent
`clientary-mcp call` processes appending to one log: `audit verify` must find it clean.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import threading
import time

import anyio
import httpx
import pytest

from support import tool_error
from test_http_support import CLI, clean_env, free_port, http_client, launch_server, ready_all, text
from test_safety_single_use import account_env, sandbox_on_a_port
from processes import stop_process

pytestmark = [pytest.mark.anyio, pytest.mark.slow]


class Server:
    """`serve --transport http` with stderr read by a thread (a pipe: not subject to the file-size limit)."""

    def __init__(self, env: dict[str, str]):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.popen = subprocess.Popen([CLI, "serve", "--transport", "http", "--port", str(self.port)], env=env,
                                      stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                      text=True)
        self.lines: list[str] = []
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.popen.stderr is not None
        for line in self.popen.stderr:
            self.lines.append(line.rstrip("\n"))

    def ready(self, status: int = 200, timeout: float = 30.0) -> int:
        """Poll /readyz until it answers `status` (or the timeout); returns the last status seen."""
        got, deadline = 0, time.monotonic() + timeout
        while got != status:
            assert self.popen.poll() is None, "\n".join(self.lines)
            assert time.monotonic() < deadline, f"/readyz answered {got}, not {status}, for {timeout} s"
            try:
                got = httpx.get(self.base + "/readyz", timeout=5).status_code
            except httpx.TransportError:
                pass
            if got != status:
                time.sleep(0.1)
        return got

    def limit_file_size(self, limit: int) -> None:
        resource.prlimit(self.popen.pid, resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))

    def stop(self) -> None:
        stop_process(self.popen, grace=15)


def _verify(log, env) -> subprocess.CompletedProcess:
    return subprocess.run([CLI, "audit", "verify", str(log)], capture_output=True, text=True, timeout=60, env=env)


async def test_a_full_disk_stops_changes_before_they_are_sent_and_recovery_needs_no_restart(tmp_path):
    log = tmp_path / "audit.jsonl"
    with sandbox_on_a_port(latency=0.0) as (base, app):
        store = app.state.store
        env = account_env(tmp_path, base)
        server = Server(env)
        try:
            server.ready(200)
            async with http_client(server.base) as client:
                assert not (await client.call_tool("create_client", {"name": "Before"})).is_error
                size = log.stat().st_size
                server.limit_file_size(size + 100)  # room for part of one record only: a short write
                sent_before, clients_before = len(store.requests), store.count("clients")

                change = await client.call_tool("create_client", {"name": "Unaudited"})
                read = await client.call_tool("get_client", {"id": 1})
                again = await client.call_tool("create_client", {"name": "Unaudited"})
                status_down = server.ready(503)
                sent_during = len(store.requests) - sent_before

                assert change.is_error and again.is_error and read.is_error
                for result in (change, again):
                    message = text(result)
                    assert "Nothing was sent to Clientary" in message and "audit log" in message
                    assert "File too large" in message and "[Errno" not in message
                    assert tool_error(result)["kind"] == "audit_unavailable"
                assert "withheld" in text(read) and "Acme" not in text(read)
                assert sent_during <= 1 and store.count("clients") == clients_before  # the read only, never a POST
                assert all(r.method == "GET" for r in store.requests[sent_before:])
                assert log.stat().st_size == size  # the short write was cut back: no half record
                complaints = [line for line in server.lines if "audit log" in line and "cannot be written" in line]
                assert len(complaints) == 1, server.lines

                server.limit_file_size(resource.RLIM_INFINITY)  # space returns
                status_up = server.ready(200)
                after = await client.call_tool("create_client", {"name": "After"})
                assert not after.is_error and store.count("clients") == clients_before + 1
            print(f"\ndisk full: changes attempted 2, acted 0, reads withheld 1, requests sent during the outage "
                  f"{sent_during} (0 changes), /readyz {status_down} then {status_up}, stderr lines "
                  f"{len(complaints)}; after recovery 1 change acted")
        finally:
            server.stop()
    verdict = _verify(log, env)
    assert verdict.returncode == 0, verdict.stdout + verdict.stderr
    records = [json.loads(line) for line in log.read_text().splitlines()]
    resumed = [r for r in records if r.get("event") == "audit_resumed"]
    assert len(resumed) == 1 and resumed[0]["after_outage"]["refused_calls"] == 3
    assert "Unaudited" not in log.read_text()


async def test_two_servers_and_twelve_cli_calls_share_one_log(tmp_path):
    log = tmp_path / "audit.jsonl"
    env = clean_env(tmp_path, CLIENTARY_MCP_AUDIT_LOG=str(log), CLIENTARY_MCP_STATE_DIR=str(tmp_path / "state"))
    servers = ready_all([launch_server(tmp_path, f"s{i}", ["--transport", "http", "--sandbox"], env)
                         for i in range(2)])
    try:
        async def through(base: str, tag: str) -> None:
            async with http_client(base) as client:
                async def one(i: int) -> None:
                    tool, args = ("create_task", {"title": f"{tag}-{i}"}) if i % 2 else ("get_client", {"id": 1})
                    assert not (await client.call_tool(tool, args)).is_error

                async with anyio.create_task_group() as tg:
                    for i in range(10):
                        tg.start_soon(one, i)

        def cli(i: int) -> subprocess.Popen:
            tool, args = ("create_task", {"title": f"cli-{i}"}) if i % 2 else ("get_client", {"id": 2})
            return subprocess.Popen([CLI, "call", tool, json.dumps(args), "--sandbox"], env=env,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)

        with anyio.fail_after(180):
            procs = [cli(i) for i in range(12)]
            async with anyio.create_task_group() as tg:
                for i, (_, base) in enumerate(servers):
                    tg.start_soon(through, base, f"s{i}")
            for proc in procs:
                _, err = await anyio.to_thread.run_sync(lambda p=proc: p.communicate(timeout=120))
                assert proc.returncode == 0, err
    finally:
        for proc, _ in servers:
            proc.stop()
    records = [json.loads(line) for line in log.read_text().splitlines()]
    # 20 server calls + 12 CLI calls; each create (16) also wrote its intent first.
    assert len(records) == 32 + 16
    assert [r["seq"] for r in records] == list(range(1, len(records) + 1))
    assert sorted({r["transport"] for r in records}) == ["cli", "http"]
    verdict = _verify(log, env)
    assert verdict.returncode == 0 and f"{len(records)} records, chain intact" in verdict.stdout, verdict.stdout
    print(f"\nmany writers: 2 servers + 12 CLI processes, {len(records)} records, seq 1..{len(records)}, verify clean")


def test_verify_without_the_key_says_where_to_find_it(tmp_path):
    log = tmp_path / "audit.jsonl"
    env = clean_env(tmp_path, CLIENTARY_MCP_AUDIT_LOG=str(log), CLIENTARY_MCP_STATE_DIR=str(tmp_path / "state"))
    done = subprocess.run([CLI, "call", "get_client", '{"id": 1}', "--sandbox"], env=env, capture_output=True,
                          timeout=60)
    assert done.returncode == 0
    elsewhere = {**env, "CLIENTARY_MCP_STATE_DIR": str(tmp_path / "other")}
    verdict = _verify(log, elsewhere)
    assert verdict.returncode == 2 and "CLIENTARY_MCP_AUDIT_KEY" in verdict.stderr
    with_key = {**elsewhere, "CLIENTARY_MCP_AUDIT_KEY": (tmp_path / "state" / "audit.key").read_text()}
    assert _verify(log, with_key).returncode == 0
    assert os.stat(log).st_mode & 0o777 == 0o600


async def test_logrotate_renames_the_log_and_sighup_reopens_it_losing_nothing(tmp_path):
    import signal

    log = tmp_path / "audit.jsonl"
    env = clean_env(tmp_path, CLIENTARY_MCP_AUDIT_LOG=str(log), CLIENTARY_MCP_STATE_DIR=str(tmp_path / "state"))
    (proc, base), = ready_all([launch_server(tmp_path, "s", ["--transport", "http", "--sandbox"], env)])
    try:
        async with http_client(base) as client:
            assert not (await client.call_tool("get_client", {"id": 1})).is_error
            log.rename(tmp_path / "audit.jsonl.1")  # what logrotate does, then it sends SIGHUP
            assert not (await client.call_tool("get_client", {"id": 2})).is_error  # noticed without the signal
            proc.popen.send_signal(signal.SIGHUP)
            assert not (await client.call_tool("get_client", {"id": 3})).is_error
            assert proc.popen.poll() is None  # SIGHUP reopens; it does not stop the server
    finally:
        proc.stop()
    assert [json.loads(x)["args"]["id"] for x in (tmp_path / "audit.jsonl.1").read_text().splitlines()] == [1]
    assert [json.loads(x)["args"]["id"] for x in log.read_text().splitlines()] == [2, 3]
    verdict = _verify(log, env)
    assert verdict.returncode == 0 and "3 records in 2 files, chain intact" in verdict.stdout, verdict.stdout
