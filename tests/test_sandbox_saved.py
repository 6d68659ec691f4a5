"""`call --sandbox` keeps its demo account between runs (locked against concurrent runs); `sandbox reset`
starts over; `serve --sandbox` still gets a fresh in-process sandbox."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from cli_support import BIN, cli, env_for, one_line_error
from mcp import Client, StdioServerParameters

from clientary_mcp.sandbox import create_app
from clientary_mcp.sandbox.saved import dumps, loads
from clientary_mcp.sandbox.store import TABLES


def test_the_saved_account_comes_back_exactly(tmp_path):
    original = create_app()
    copy = create_app(seed_data=False)
    loads(copy, dumps(original), tmp_path / "x.json")
    for table in TABLES:
        assert copy.state.store.table(table) == original.state.store.table(table), table
    # ids keep growing from where they were
    assert copy.state.store.next_id("clients") == original.state.store.next_id("clients")


def _clients(tmp: Path) -> list[dict]:
    out = cli(tmp, "call", "list_clients", '{"all_pages": true}', "--sandbox")
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)["items"]


def test_changes_last_between_runs_until_reset(tmp_path):
    made = cli(tmp_path, "call", "create_client", '{"name": "Saved Co"}', "--sandbox")
    assert made.returncode == 0, made.stderr
    assert "Saved Co" in [c["name"] for c in _clients(tmp_path)]
    reset = cli(tmp_path, "sandbox", "reset")
    assert reset.returncode == 0 and "reset" in reset.stderr
    assert "Saved Co" not in [c["name"] for c in _clients(tmp_path)]
    assert len(_clients(tmp_path)) == 5


def test_concurrent_runs_lose_no_write(tmp_path):
    runs = [subprocess.Popen([BIN, "call", "create_client", json.dumps({"name": f"Parallel {n}"}), "--sandbox"],
                             env=env_for(tmp_path), cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            for n in range(6)]
    for run in runs:
        out, err = run.communicate(timeout=120)
        assert run.returncode == 0, err
    clients = _clients(tmp_path)
    names = sorted(c["name"] for c in clients if c["name"].startswith("Parallel"))
    assert names == [f"Parallel {n}" for n in range(6)]
    assert len({c["id"] for c in clients}) == len(clients) == 11


@pytest.mark.anyio
async def test_serve_sandbox_keeps_its_own_fresh_account(tmp_path):
    assert cli(tmp_path, "call", "create_client", '{"name": "Only In The File"}', "--sandbox").returncode == 0
    params = StdioServerParameters(command=BIN, args=["serve", "--sandbox"], env=env_for(tmp_path))
    async with Client(params) as client:
        listed = await client.call_tool("list_clients", {})
    assert listed.structured_content["total_count"] == 5


def test_an_unreadable_saved_account_is_one_line_naming_reset(tmp_path):
    (tmp_path / "state").mkdir()
    (tmp_path / "state" / "sandbox.json").write_text("{not json")
    one_line_error(cli(tmp_path, "call", "list_clients", "--sandbox"), "sandbox reset")
    assert cli(tmp_path, "sandbox", "reset").returncode == 0
    assert len(_clients(tmp_path)) == 5
