"""The compact catalog: three meta-tools in the listing, every tool still reachable through the same path."""

from __future__ import annotations

import json

import pytest

from clientary_mcp.compact import CALL, DESCRIBE, FIND
from clientary_mcp.tools import BY_NAME

from support import data, error_text, session

pytestmark = pytest.mark.anyio


def listing_bytes(tools) -> int:
    return sum(len(json.dumps({"name": t.name, "description": t.description, "inputSchema": t.input_schema},
                              separators=(",", ":"))) for t in tools)


async def test_the_listing_is_three_small_tools(tmp_path):
    async with session(tmp_path, catalog="compact") as h:
        tools = (await h.client.list_tools()).tools
    assert [t.name for t in tools] == [FIND, DESCRIBE, CALL]
    assert listing_bytes(tools) <= 4000
    call_tool = tools[2]
    assert call_tool.annotations.destructive_hint is True and call_tool.annotations.read_only_hint is False


async def test_find_then_describe_then_call_acts_and_is_audited_under_the_tools_own_name(tmp_path):
    async with session(tmp_path, catalog="compact") as h:
        found = data(await h.client.call_tool(FIND, {"query": "create client"}))
        assert "create_client" in [t["name"] for t in found["items"]]
        described = data(await h.client.call_tool(DESCRIBE, {"name": "create_client"}))
        assert described["input_schema"] == BY_NAME["create_client"].input_schema()
        made = data(await h.client.call_tool(CALL, {"name": "create_client",
                                                    "arguments": {"name": "Compact Co"}}))
        assert h.store.get("clients", made["id"])["name"] == "Compact Co"
        records = h.audit()
    # the intent, written before the POST, then the outcome
    assert [(r["tool"], r.get("phase"), r.get("outcome")) for r in records] == [
        ("create_client", "intent", None), ("create_client", "outcome", "ok")]


async def test_find_filters_by_toolset_and_kind(tmp_path):
    async with session(tmp_path, catalog="compact") as h:
        gated = data(await h.client.call_tool(FIND, {"kind": "gated", "toolset": "invoices"}))
        everything = data(await h.client.call_tool(FIND, {}))
    assert gated["items"] and all(t["kind"] == "gated" and t["toolset"] == "invoices" for t in gated["items"])
    assert {t["name"] for t in everything["items"]} == {s.name for s in h.service.tools}


async def test_the_policy_holds_for_find_describe_and_call(tmp_path):
    async with session(tmp_path, catalog="compact", flags={"read_only": True}) as h:
        found = data(await h.client.call_tool(FIND, {"query": "client"}))
        assert found["items"] and all(t["kind"] == "read" for t in found["items"])
        assert "read-only" in error_text(await h.client.call_tool(DESCRIBE, {"name": "delete_client"}))
        assert "no tool named 'nope'" in error_text(await h.client.call_tool(DESCRIBE, {"name": "nope"}))
        refused = error_text(await h.call("delete_client", {"id": 1}))
        assert "read-only" in refused
        assert h.store.get("clients", 1) is not None


async def test_a_gated_tool_previews_then_acts_with_its_token_through_call_tool(tmp_path):
    async with session(tmp_path, catalog="compact") as h:
        preview = data(await h.call("delete_expense", {"id": 1}))
        assert preview["status"] == "preview" and h.store.get("expenses", 1) is not None
        done = data(await h.call("delete_expense", {"id": 1, "confirm": preview["confirm_token"]}))
        assert done["status"] == "done" and h.store.get("expenses", 1) is None
        assert [r["outcome"] for r in h.calls()] == ["preview", "confirmed"]
        assert [r.get("phase") for r in h.audit()] == [None, "intent", "outcome"]


async def test_bad_meta_arguments_get_errors_that_name_the_field(tmp_path):
    async with session(tmp_path, catalog="compact") as h:
        assert "name is required" in error_text(await h.client.call_tool(CALL, {}))
        assert "put id inside arguments" in error_text(await h.client.call_tool(CALL, {"name": "get_client", "id": 1}))
        assert "arguments must be an object" in error_text(
            await h.client.call_tool(CALL, {"name": "get_client", "arguments": [1]}))
        assert "toolset must be one of" in error_text(await h.client.call_tool(FIND, {"toolset": "nope"}))
        unknown = error_text(await h.call("get_cliente", {"id": 1}))
        assert "find_tools" in unknown
        invalid = error_text(await h.call("get_client", {"id": "one"}))
        assert "id" in invalid and "nothing was sent" in invalid.lower()
        assert h.api_requests() == 0
        assert [r["outcome"] for r in h.audit()] == ["unknown_tool", "validation_error"]
