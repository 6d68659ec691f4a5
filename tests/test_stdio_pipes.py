"""The stdio transport on asyncio pipes, as a host drives it: a subprocess with pipes on both ends."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

BIN = Path(sys.executable).parent / "clientary-mcp"

INITIALIZE = {"jsonrpc": "2.0", "id": 0, "method": "initialize",
              "params": {"protocolVersion": "2025-11-25", "capabilities": {},
                         "clientInfo": {"name": "pipes-test", "version": "1"}}}
INITIALIZED = {"jsonrpc": "2.0", "method": "notifications/initialized"}


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLIENTARY")}
    env["CLIENTARY_MCP_AUDIT_LOG"] = str(tmp_path / "audit.jsonl")
    return env


def _call(i: int, tool: str = "get_client", arguments: dict | None = None) -> dict:
    return {"jsonrpc": "2.0", "id": i, "method": "tools/call",
            "params": {"name": tool, "arguments": arguments if arguments is not None else {"id": 1}}}


def _lines(*messages: dict | str) -> bytes:
    return b"".join((m if isinstance(m, str) else json.dumps(m)).encode() + b"\n" for m in messages)


class Peer:
    """`clientary-mcp serve --sandbox` with a pipe on stdin and on stdout, read one line at a time."""

    def __init__(self, tmp_path: Path) -> None:
        self.proc = subprocess.Popen([str(BIN), "serve", "--sandbox"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env(tmp_path))

    def send(self, data: bytes) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def read(self) -> dict:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        assert line, f"server closed stdout; stderr: {self.proc.stderr.read().decode()[-2000:]}"
        return json.loads(line)

    def close(self) -> str:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=30)
        assert self.proc.stderr is not None
        return self.proc.stderr.read().decode()


def test_pipelined_calls_are_all_answered_even_when_the_host_reads_late(tmp_path):
    # 300 answers of about 1 KB each are several times what a pipe holds: the server has to wait for
    # the host to read (back-pressure) and must neither lose nor reorder-away any answer meanwhile.
    peer = Peer(tmp_path)
    try:
        peer.send(_lines(INITIALIZE))
        assert peer.read()["id"] == 0
        peer.send(_lines(INITIALIZED, *(_call(i) for i in range(1, 301))))
        answers = [peer.read() for _ in range(300)]
    finally:
        stderr = peer.close()
    assert sorted(a["id"] for a in answers) == list(range(1, 301)), stderr
    assert all(a["result"]["structuredContent"]["name"] == "Acme Corporation" for a in answers)
    audit = (tmp_path / "audit.jsonl").read_text().splitlines()
    assert len(audit) == 300


def test_a_line_over_the_limit_is_answered_and_the_next_request_still_works(tmp_path):
    from clientary_mcp.transports.stdio import LINE_LIMIT

    peer = Peer(tmp_path)
    try:
        peer.send(_lines(INITIALIZE))
        assert peer.read()["id"] == 0
        huge = json.dumps(_call(7, "create_client", {"name": "x" * (LINE_LIMIT + 1024)}))
        peer.send(_lines(INITIALIZED, huge, _call(8)))
        first, second = peer.read(), peer.read()
    finally:
        peer.close()
    assert first["id"] is None and first["error"]["code"] == -32700
    assert "longer than 8 MiB" in first["error"]["message"]
    assert second["id"] == 8 and second["result"]["structuredContent"]["id"] == 1
    # The over-long create never reached the tool, so nothing was created or audited for it.
    records = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert [r["tool"] for r in records] == ["get_client"]


STRAY_SERVER = '''
import os, sys, anyio
import mcp_types as types
from mcp.server import Server
from clientary_mcp.transports.stdio import pipes_available, stdio_server

async def list_tools(ctx, params):
    return types.ListToolsResult(tools=[types.Tool(name="noisy", input_schema={"type": "object"})])

async def call_tool(ctx, params):
    print("stray print")                  # what a careless library does
    os.write(1, b"stray write\\n")          # straight to the descriptor
    return types.CallToolResult(content=[types.TextContent(text="ok")])

async def main():
    print("pipes" if pipes_available() else "threads", file=sys.stderr, flush=True)
    server = Server("noisy", on_list_tools=list_tools, on_call_tool=call_tool)
    async with stdio_server() as (read, write):
        await server.run(read, write, server.create_initialization_options())

anyio.run(main)
'''


def test_output_printed_by_a_tool_goes_to_stderr_not_onto_the_wire(tmp_path):
    script = tmp_path / "noisy.py"
    script.write_text(STRAY_SERVER)
    proc = subprocess.Popen([sys.executable, str(script)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    out, err = proc.communicate(_lines(INITIALIZE, INITIALIZED, _call(1, "noisy", {})), timeout=60)
    stdout_lines = out.decode().splitlines()
    assert err.decode().splitlines()[0] == "pipes"
    assert all(line.startswith("{") for line in stdout_lines), stdout_lines  # only protocol on stdout
    assert "stray print" in err.decode() and "stray write" in err.decode()


def test_a_regular_file_on_stdin_falls_back_to_the_threaded_transport(tmp_path):
    requests = tmp_path / "requests.jsonl"
    requests.write_bytes(_lines(INITIALIZE))
    code = "from clientary_mcp.transports.stdio import pipes_available; print(pipes_available())"
    with requests.open("rb") as stdin:
        from_file = subprocess.run([sys.executable, "-c", code], stdin=stdin, capture_output=True, text=True)
    from_pipe = subprocess.run([sys.executable, "-c", code], input="", capture_output=True, text=True)
    assert (from_file.stdout.strip(), from_pipe.stdout.strip()) == ("False", "True")
    # And the server still answers on that path.
    with requests.open("rb") as stdin:
        proc = subprocess.run([str(BIN), "serve", "--sandbox"], stdin=stdin, capture_output=True,
                              env=_env(tmp_path), timeout=60)
    assert json.loads(proc.stdout.splitlines()[0])["result"]["serverInfo"]["name"]
