"""A release as a user gets it: `python -m build` makes an sdist and a wheel, and the wheel alone, installed
in a fresh virtual environment (no checkout on the path), runs the server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import venv
import zipfile
from pathlib import Path

import pytest
from cli_support import ROOT
from mcp import Client, StdioServerParameters

from clientary_mcp import __version__

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    built = subprocess.run([sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)], capture_output=True,
                           text=True, timeout=600)
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-2000:]
    return out


@pytest.fixture(scope="module")
def fresh(dist, tmp_path_factory) -> Path:
    """A new virtual environment with only the wheel (and its dependencies, at the Docker image's pins)."""
    home = tmp_path_factory.mktemp("fresh")
    venv.EnvBuilder(with_pip=True).create(home / "venv")
    wheel = next(dist.glob("*.whl"))
    pip = subprocess.run([str(home / "venv" / "bin" / "python"), "-m", "pip", "install", "--quiet",
                          "--disable-pip-version-check", "-c", str(ROOT / "constraints.txt"), str(wheel)],
                         capture_output=True, text=True, timeout=600)
    assert pip.returncode == 0, pip.stdout[-2000:] + pip.stderr[-2000:]
    return home


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CLIENTARY", "PYTHON", "VIRTUAL_ENV"))}
    env.update(HOME=str(home), CLIENTARY_MCP_STATE_DIR=str(home / "state"))
    return env


def test_build_makes_an_sdist_and_a_wheel_with_what_a_release_needs(dist):
    sdist = next(dist.glob(f"clientary_mcp-{__version__}.tar.gz"))
    wheel = next(dist.glob(f"clientary_mcp-{__version__}-py3-none-any.whl"))
    with tarfile.open(sdist) as tf:
        names = tf.getnames()
    assert any(n.endswith("/README.md") for n in names) and any(n.endswith("/clientary_mcp/cli/__init__.py") for n in names)
    with zipfile.ZipFile(wheel) as zf:
        files = zf.namelist()
        meta = zf.read(f"clientary_mcp-{__version__}.dist-info/METADATA").decode()
        entry = zf.read(f"clientary_mcp-{__version__}.dist-info/entry_points.txt").decode()
    assert "clientary_mcp/sandbox/seed.py" in files and not any("tests/" in f for f in files)
    assert "clientary_mcp/skills/month-end-billing.md" in files  # the skills' one source each, as package data
    assert "clientary-mcp = clientary_mcp.cli:main" in entry
    assert "mcp-name: " in meta  # the README, with the registry's ownership line, is the long description


@pytest.mark.anyio
async def test_the_wheel_alone_runs_the_server(fresh, tmp_path):
    exe = fresh / "venv" / "bin" / "clientary-mcp"
    env = _env(fresh)

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(exe), *args], env=env, capture_output=True, text=True, timeout=120, cwd=tmp_path)

    assert run("--version").stdout.strip() == f"clientary-mcp {__version__}"
    tools = run("tools")
    assert tools.returncode == 0 and len(tools.stdout.splitlines()) == 77 and tools.stderr.startswith("77 tools")
    listed = run("call", "list_clients", "--sandbox")
    assert listed.returncode == 0 and json.loads(listed.stdout)["total_count"] == 5
    where = subprocess.run([str(fresh / "venv" / "bin" / "python"), "-c",
                            "import clientary_mcp; print(clientary_mcp.__file__)"],
                           env=env, capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert str(fresh) in where.stdout and str(ROOT) not in where.stdout  # not the checkout
    params = StdioServerParameters(command=str(exe), args=["serve", "--sandbox"], env=env, cwd=str(tmp_path))
    async with Client(params) as client:
        assert client.server_info.version == __version__
        assert len((await client.list_tools()).tools) == 77
        assert {p.name for p in (await client.list_prompts()).prompts} >= {"month_end_billing"}  # the .md shipped
        got = await client.call_tool("get_client", {"id": 1})
        assert got.structured_content["name"] == "Acme Corporation"
