"""Clients that start a fresh server process for every tool call (langchain-mcp-adapters' default
`get_tools()`, llama-index's `BasicMCPClient`): a delete previewed by one process is confirmed by the next.

The user set no CLIENTARY_MCP_CONFIRM_SECRET — the point is that they need not: the secret generated once
into the state folder signs the token in the first process and checks it in the second. The account is a
separate sandbox process, so what the first server previews is what the second one deletes.
"""

from __future__ import annotations


import anyio
import pytest
from mcp import Client, StdioServerParameters

from test_http_support import CLI, clean_env, start_sandbox

TOKEN = "per-call-sandbox-token-0123456789"


async def one_call(env: dict[str, str], tool: str, args: dict) -> object:
    """One tool call the way per-call clients make it: spawn, initialize, call, exit."""
    params = StdioServerParameters(command=CLI, args=["serve"], env=env)
    async with Client(params, mode="legacy") as client:
        return await client.call_tool(tool, args)


@pytest.mark.slow
@pytest.mark.anyio
async def test_a_delete_previewed_in_one_process_is_confirmed_in_the_next(tmp_path):
    sandbox, base = start_sandbox(tmp_path, "sandbox", TOKEN)
    env = clean_env(tmp_path, CLIENTARY_BASE_URL=base, CLIENTARY_API_TOKEN=TOKEN)
    assert "CLIENTARY_MCP_CONFIRM_SECRET" not in env
    try:
        with anyio.fail_after(120):
            preview = await one_call(env, "delete_client", {"id": 4, "confirm": None})  # null optionals, as sent
            assert not preview.is_error, preview.content[0].text
            token = preview.structured_content["confirm_token"]
            done = await one_call(env, "delete_client", {"id": 4, "confirm": token})
            assert not done.is_error, done.content[0].text
            assert done.structured_content["status"] == "done"
            gone = await one_call(env, "get_client", {"id": 4})
            assert gone.is_error and "not found" in gone.content[0].text
            again = await one_call(env, "delete_client", {"id": 4, "confirm": token})
            assert again.is_error  # still single use, across processes
    finally:
        sandbox.stop()
