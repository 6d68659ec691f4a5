"""Every command, given the mistakes people make: one line on stderr that names the fix, never a traceback.

The sweep calls the entry point in process (what the `clientary-mcp` script runs), which keeps it fast;
the other command-line tests run the installed script as a subprocess.
"""

from __future__ import annotations

import os
import socket

import pytest
from cli_support import cli

from clientary_mcp.cli import main

SANDBOX_SERVE = ("serve", "--sandbox")
CASES = [
    # (arguments, extra environment, words the line must contain)
    (("frobnicate",), {}, "invalid choice"),
    (("serve", "--transport", "carrier-pigeon"), {}, "--transport"),
    (("serve",), {}, "CLIENTARY_API_TOKEN"),
    (("serve",), {"CLIENTARY_API_TOKEN": "tok-abcdef123456"}, "CLIENTARY_DOMAIN"),
    ((*SANDBOX_SERVE, "--audit-log", "/proc/nope/audit.jsonl"), {}, "--audit-log"),
    ((*SANDBOX_SERVE, "--audit-log", "/"), {}, "is a folder"),
    ((*SANDBOX_SERVE, "--host", "0.0.0.0"), {}, "--transport http"),
    ((*SANDBOX_SERVE, "--transport", "http", "--port", "70000"), {}, "--port"),
    ((*SANDBOX_SERVE, "--transport", "http", "--port", "eighty"), {}, "--port"),
    ((*SANDBOX_SERVE, "--transport", "http", "--host", "0.0.0.0"), {}, "principals"),
    ((*SANDBOX_SERVE, "--transport", "http", "--principals", "/nonexistent.json"), {}, "/nonexistent.json"),
    ((*SANDBOX_SERVE, "--transport", "sse", "--rate-limit", "lots"), {}, "--rate-limit"),
    ((*SANDBOX_SERVE, "--toolsets", "everything"), {}, "unknown toolset"),
    ((*SANDBOX_SERVE, "--no-confirm", "list_clients"), {}, "gated"),
    (SANDBOX_SERVE, {"CLIENTARY_MCP_CONFIRM_TTL": "soon"}, "CLIENTARY_MCP_CONFIRM_TTL"),
    (SANDBOX_SERVE, {"CLIENTARY_READ_ONLY": "maybe"}, "CLIENTARY_READ_ONLY"),
    (SANDBOX_SERVE, {"CLIENTARY_MCP_LOG_LEVEL": "chatty"}, "CLIENTARY_MCP_LOG_LEVEL"),
    (("call",), {}, "tool"),
    (("call", "nope", "--sandbox"), {}, "unknown tool"),
    (("call", "get_client", "{", "--sandbox"), {}, "JSON object"),
    (("call", "get_client", "@/nonexistent.json", "--sandbox"), {}, "/nonexistent.json"),
    (("call", "get_client", "@/", "--sandbox"), {}, "cannot read arguments"),
    (("call", "list_clients", "--sandbox", "--format", "xml"), {}, "--format"),
    (("tools", "--exclude", "everything"), {}, "unknown tool name"),
    (("schemas", "--root", "/nonexistent"), {}, "--root"),
    (("audit",), {}, "ACTION"),
    (("audit", "verify", "/"), {}, "is a folder"),
    (("audit", "verify", "/nonexistent.jsonl"), {}, "no audit log"),
    (("audit", "stats"), {}, "no audit log"),
    (("audit", "show", "--since", "last tuesday"), {}, "--since"),
    (("audit", "tail", "-n", "-1"), {}, "-n"),
    (("audit", "tail", "-n", "many"), {}, "-n"),
    (("bundle", "--output", "/proc/nope/x.mcpb"), {}, "/proc/nope"),
    (("principals",), {}, "ACTION"),
    (("principals", "add", "bad name!", "--file", "p.json"), {}, "name"),
    (("principals", "add", "ci", "--sandbox", "--token-env", "X", "--file", "p.json"), {}, "--token-env"),
    (("principals", "list", "--file", "/nonexistent.json"), {}, "/nonexistent.json"),
    (("principals", "remove", "x", "--file", "/nonexistent.json"), {}, "/nonexistent.json"),
    (("sandbox", "--port", "eighty"), {}, "--port"),
    (("sandbox", "--rate-429", "2"), {}, "between 0 and 1"),
    (("sandbox", "reset", "--everything"), {}, "unrecognized"),
]


@pytest.mark.parametrize("args,env,needle", CASES, ids=[" ".join(c[0])[:60] for c in CASES])
def test_a_mistake_is_one_line_naming_the_fix(tmp_path, monkeypatch, capsys, args, env, needle):
    for name in [k for k in os.environ if k.startswith("CLIENTARY")]:
        monkeypatch.delenv(name)
    for name, value in {"HOME": str(tmp_path), "CLIENTARY_MCP_STATE_DIR": str(tmp_path / "state"), **env}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    try:
        status = main(list(args))
    except SystemExit as exc:  # argparse's own exit
        status = exc.code
    stderr = capsys.readouterr().err
    assert status in (1, 2), (status, stderr)
    assert "Traceback" not in stderr, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert needle in lines[0], lines[0]
    assert "tok-abcdef123456" not in stderr


def test_the_sandbox_on_a_port_in_use_is_one_line(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = cli(tmp_path, "sandbox", "--port", str(port))
    assert proc.returncode == 1 and proc.stderr.strip().count("\n") == 0 and "--port" in proc.stderr
    assert "Clientary sandbox" not in proc.stdout  # no banner claiming it serves
