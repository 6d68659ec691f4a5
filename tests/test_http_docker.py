"""The Docker image's command, run outside Docker: no engine here, so the exact ENTRYPOINT + CMD and the
image's environment are read from the Dockerfile and started as a process (only the port, and the /data
volume's location, differ)."""

from __future__ import annotations

import json
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
        elif word == "ENV":
            for pair in shlex.split(rest):
                key, _, value = pair.partition("=")
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
    assert any("pip install ." in step for step in image["RUN"])
    assert image["VOLUME"] == ["/data"] and image["env"]["CLIENTARY_MCP_AUDIT_LOG"] == "/data/audit.jsonl"
    assert image["ENTRYPOINT"] == ["clientary-mcp"]
    assert image["CMD"] == ["serve", "--transport", "http", "--host", "0.0.0.0", "--port", "8000"]
    ignored = (ROOT / ".dockerignore").read_text()
    assert "*" in ignored.splitlines() and "!clientary_mcp/" in ignored


@pytest.mark.anyio
async def test_the_image_command_serves_a_sandbox_principal(tmp_path):
    image = _image()
    data = tmp_path / "data"  # stands in for the /data volume
    data.mkdir()
    env = {k: v.replace("/data", str(data)) for k, v in image["env"].items()}
    token = add_principal(Path(env["CLIENTARY_MCP_PRINCIPALS"]), "demo", "--sandbox")
    port = free_port()
    argv = [CLI, *image["CMD"]]
    argv[argv.index("8000")] = str(port)
    proc = Proc(argv, clean_env(tmp_path, **env), tmp_path, "image")
    try:
        base = f"http://127.0.0.1:{port}"
        proc.wait_http(base + "/healthz")
        probe = [part.replace("8000", str(port)) for part in image["HEALTHCHECK"]]
        assert probe[0] == "python"
        health = subprocess.run([sys.executable, *probe[1:]], timeout=30, capture_output=True)  # the image's python
        assert health.returncode == 0, health.stderr
        with anyio.fail_after(30):
            async with http_client(base, token) as client:
                listed = await client.call_tool("list_clients", {})
                assert not listed.is_error, text(listed)
    finally:
        proc.stop()
    records = [json.loads(line) for line in (data / "audit.jsonl").read_text().splitlines()]
    assert [(r["principal"], r["tool"]) for r in records] == [("demo", "list_clients")]
