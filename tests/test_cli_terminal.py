"""The command line at a terminal (a real pty): confirming a gated tool by hand, and Ctrl-C on `serve`."""

from __future__ import annotations

import json
import os
import pty
import select
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from cli_support import BIN, cli, env_for
from test_http_support import free_port

STOP_WITHIN = 15.0  # a bound for a hung process, not a timing target


def _read_until(fd: int, needle: bytes, timeout: float = 60.0) -> bytes:
    seen = b""
    deadline = time.monotonic() + timeout
    while needle not in seen:
        left = deadline - time.monotonic()
        assert left > 0, f"never saw {needle!r}; got {seen[-500:]!r}"
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # the child closed the terminal
                chunk = b""
            assert chunk, f"terminal closed before {needle!r}; got {seen[-500:]!r}"
            seen += chunk
    return seen


def _call_in_terminal(tmp: Path, answer: str, *args: str) -> tuple[int, str]:
    """Run `call` with stdin, stdout and stderr on a terminal; answer the prompt; return (status, screen)."""
    primary, secondary = pty.openpty()
    proc = subprocess.Popen([BIN, "call", *args, "--sandbox"], stdin=secondary, stdout=secondary, stderr=secondary,
                            env=env_for(tmp), cwd=tmp)
    os.close(secondary)
    try:
        screen = _read_until(primary, b"Proceed? [y/N] ")
        os.write(primary, answer.encode() + b"\n")
        status = proc.wait(timeout=60)
        while True:  # what is left on the screen
            ready, _, _ = select.select([primary], [], [], 0.5)
            try:
                chunk = os.read(primary, 4096) if ready else b""
            except OSError:
                chunk = b""
            if not chunk:
                break
            screen += chunk
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(primary)
    return status, screen.decode(errors="replace")


def _audit(tmp: Path) -> list[dict]:
    return [json.loads(line) for line in (tmp / "state" / "audit.jsonl").read_text().splitlines()]


def test_a_gated_call_in_a_terminal_asks_and_acts_on_yes(tmp_path):
    status, screen = _call_in_terminal(tmp_path, "y", "delete_client", '{"id": 5}')
    assert status == 0, screen
    assert "Permanently delete client 5" in screen and '"status": "done"' in screen
    record = _audit(tmp_path)[-1]
    assert record["outcome"] == "confirmed" and record["confirm"]["via"] == "terminal"
    gone = cli(tmp_path, "call", "get_client", '{"id": 5}', "--sandbox")  # the saved sandbox remembers
    assert gone.returncode == 1 and "not found" in gone.stderr.lower()


def test_a_gated_call_in_a_terminal_does_nothing_on_no(tmp_path):
    status, screen = _call_in_terminal(tmp_path, "", "delete_client", '{"id": 5}')
    assert status == 0 and "declined" in screen
    record = _audit(tmp_path)[-1]
    assert record["outcome"] == "declined" and record["confirm"] == {**record["confirm"], "via": "terminal",
                                                                      "answer": "decline"}
    assert cli(tmp_path, "call", "get_client", '{"id": 5}', "--sandbox").returncode == 0


def test_yes_confirms_without_asking_and_a_pipe_keeps_the_token_flow(tmp_path):
    piped = cli(tmp_path, "call", "delete_client", '{"id": 5}', "--sandbox")
    preview = json.loads(piped.stdout)
    assert preview["status"] == "preview" and preview["confirm_token"] and "Proceed" not in piped.stderr
    done = cli(tmp_path, "call", "delete_client", '{"id": 5}', "--sandbox", "--yes")
    assert done.returncode == 0 and json.loads(done.stdout)["status"] == "done"
    assert [(r.get("phase") or r["outcome"], (r.get("confirm") or {}).get("via")) for r in _audit(tmp_path)] == [
        ("preview", None), ("intent", "cli_yes"), ("outcome", "cli_yes")]  # the intent written before the DELETE
    assert _audit(tmp_path)[-1]["outcome"] == "confirmed"


def _initialize(proc: subprocess.Popen, feed: int) -> None:
    request = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
               "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                          "clientInfo": {"name": "pty-test", "version": "1"}}}
    os.write(feed, json.dumps(request).encode() + b"\n")
    assert proc.stdout is not None
    answer = json.loads(proc.stdout.readline())
    assert answer["id"] == 1 and answer["result"]["serverInfo"]["name"] == "clientary-mcp"


def test_ctrl_c_stops_the_stdio_server_at_once_and_a_second_one_is_harmless(tmp_path):
    primary, secondary = pty.openpty()
    proc = subprocess.Popen([BIN, "serve", "--sandbox"], stdin=secondary, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env_for(tmp_path))
    try:
        _initialize(proc, primary)  # serving, with stdin's reader blocked in a read
        proc.send_signal(signal.SIGINT)
        proc.send_signal(signal.SIGINT)
        status = proc.wait(timeout=STOP_WITHIN)
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(primary)
        os.close(secondary)
    err = proc.stderr.read().decode()
    assert status == 130, err
    assert "stopped" in err and "Fatal Python error" not in err and "Traceback" not in err


@pytest.mark.parametrize("signum,expected", [(signal.SIGINT, 130), (signal.SIGTERM, 0)])
def test_ctrl_c_stops_the_http_server_cleanly(tmp_path, signum, expected):
    port = free_port()
    proc = subprocess.Popen([BIN, "serve", "--transport", "http", "--sandbox", "--port", str(port)],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=env_for(tmp_path))
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read().decode()
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)  # polling a real condition: the port answering
        proc.send_signal(signum)
        proc.send_signal(signum)
        status = proc.wait(timeout=STOP_WITHIN)
    finally:
        if proc.poll() is None:
            proc.kill()
    err = proc.stderr.read().decode()
    assert status == expected, err
    assert "Traceback" not in err and "Fatal Python error" not in err and "Application shutdown complete" in err
