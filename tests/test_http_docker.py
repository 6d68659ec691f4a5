"""The Docker image's command, run outside Docker: no engine here, so the exact ENTRYPOINT + CMD and the
image's environment are read from the Dockerfile and started as a process (only the bind address and port,
given through the image's own CLIENTARY_MCP_HOST/PORT, and the /data volume's location differ)."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import anyio
import pytest
from test_http_support import CLI, Proc, add_principal, clean_env, free_port, http_client, text

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]


def _instructions() -> list[tuple[str, str]]:
    lines, current = [], ""
    for raw in (ROOT / "Dockerfile").read_text().splitlines():
        if raw.lstrip().startswith("#") or not raw.strip():
            continue
        current += raw.rstrip("\\").strip() + " "
        if not raw.rstrip().endswith("\\"):
            word, _, rest = current.strip().partition(" ")
            lines.append((word.upper(), rest.strip()))
            current = ""
    return lines


def _image() -> dict:
    image: dict = {"env": {}}
    for word, rest in _instructions():
        if word in ("ENTRYPOINT", "CMD"):
            image[word] = json.loads(rest)
        elif word in ("ENV", "LABEL"):
            for pair in shlex.split(rest):
                key, _, value = pair.partition("=")
                image.setdefault("labels", {})[key] = value if word == "LABEL" else None
                if word == "ENV":
                    image["labels"].pop(key)
                    image["env"][key] = value
        elif word == "HEALTHCHECK":
            image[word] = json.loads(rest[rest.index("CMD") + 3:].strip())
        else:
            image.setdefault(word, []).append(rest)
    return image


def test_the_image_is_small_non_root_and_keeps_data_on_a_volume():
    image = _image()
    assert image["FROM"] == ["python:3.11-slim"]
    assert image["USER"] == ["app"]
    assert any("pip install -c constraints.txt ." in step for step in image["RUN"])  # pinned dependencies
    assert any("constraints.txt" in step for step in image["COPY"])
    assert image["VOLUME"] == ["/data"] and image["env"]["CLIENTARY_MCP_AUDIT_LOG"] == "/data/audit.jsonl"
    assert image["ENTRYPOINT"] == ["clientary-mcp"]
    # Configured by environment: the command sets no host or port that would override it.
    assert image["CMD"] == ["serve", "--transport", "http"]
    assert image["env"]["CLIENTARY_MCP_HOST"] == "0.0.0.0" and image["env"]["CLIENTARY_MCP_PORT"] == "8000"
    server = json.loads((ROOT / "server.json").read_text())
    assert image["labels"]["io.modelcontextprotocol.server.name"] == server["name"]
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    assert "*" in ignored and "!clientary_mcp/" in ignored and "!constraints.txt" in ignored


def _image_env(tmp_path: Path, data: Path, port: int) -> dict[str, str]:
    env = {k: v.replace("/data", str(data)) for k, v in _image()["env"].items()}
    env.update(CLIENTARY_MCP_HOST="127.0.0.1", CLIENTARY_MCP_PORT=str(port))  # tests bind loopback only
    return clean_env(tmp_path, **env)


@pytest.mark.anyio
async def test_the_image_command_serves_a_sandbox_principal(tmp_path):
    image = _image()
    data = tmp_path / "data"  # stands in for the /data volume
    data.mkdir()
    port = free_port()
    env = _image_env(tmp_path, data, port)
    token = add_principal(Path(env["CLIENTARY_MCP_PRINCIPALS"]), "demo", "--sandbox")
    proc = Proc([CLI, *image["CMD"]], env, tmp_path, "image")
    try:
        base = f"http://127.0.0.1:{port}"
        proc.wait_http(base + "/healthz")
        probe = image["HEALTHCHECK"]
        assert probe[0] == "python"
        health = subprocess.run([sys.executable, *probe[1:]], timeout=30, capture_output=True, env=env)
        assert health.returncode == 0, health.stderr
        with anyio.fail_after(30):
            async with http_client(base, token) as client:
                listed = await client.call_tool("list_clients", {})
                assert not listed.is_error, text(listed)
    finally:
        proc.stop()
    records = [json.loads(line) for line in (data / "audit.jsonl").read_text().splitlines()]
    assert [(r["principal"], r["tool"]) for r in records] == [("demo", "list_clients")]


def test_a_volume_the_image_cannot_write_is_one_line(tmp_path):
    if os.geteuid() == 0:
        data = Path("/sys/fs")  # root may write anywhere, except in sysfs: it stands in for a root-owned volume
    else:
        data = tmp_path / "data"
        data.mkdir(mode=0o555)  # like a root-owned volume mounted over /data
    proc = subprocess.run([CLI, *_image()["CMD"]], env=_image_env(tmp_path, data, free_port()), cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert f"cannot write the audit log {data / 'audit.jsonl'}: Permission denied (this process runs as uid" in lines[0]
