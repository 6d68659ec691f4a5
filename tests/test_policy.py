"""Least privilege: what is listed is exactly what is callable, and the rules combine as documented."""

from __future__ import annotations

import pytest

from clientary_mcp.config import ConfigError
from clientary_mcp.options import load_options
from clientary_mcp.tools import REGISTRY
from support import data, error_text, session

READS = {s.name for s in REGISTRY if s.kind == "read"}


async def _listed(h) -> set[str]:
    return {t.name for t in (await h.client.list_tools()).tools}


@pytest.mark.anyio
@pytest.mark.parametrize("flags,expected", [
    ({}, {s.name for s in REGISTRY}),
    ({"read_only": True}, READS),
    ({"toolsets": "clients,staff"}, {s.name for s in REGISTRY if s.toolset in ("clients", "staff")}),
    ({"toolsets": "clients", "include": "get_invoice"},
     {s.name for s in REGISTRY if s.toolset == "clients"} | {"get_invoice"}),
    ({"include": "get_invoice,list_clients"}, {s.name for s in REGISTRY}),  # include adds to all toolsets
    ({"toolsets": "clients", "exclude": "delete_client"},
     {s.name for s in REGISTRY if s.toolset == "clients"} - {"delete_client"}),
    ({"toolsets": "staff", "include": "get_client,delete_client", "exclude": "delete_client"},
     {"get_client", "list_staff", "get_staff"}),  # exclude beats include
    ({"toolsets": "staff", "include": "get_client,create_client", "read_only": True},
     {"get_client", "list_staff", "get_staff"}),  # read-only beats include
])
async def test_policy_combinations(flags, expected, tmp_path):
    async with session(tmp_path, flags=flags) as h:
        assert await _listed(h) == expected
        for spec in REGISTRY:
            if spec.name not in expected:
                text = error_text(await h.call(spec.name, {}))
                assert "disabled" in text and ("--" in text), text
        assert h.api_requests() == 0


@pytest.mark.anyio
async def test_disabled_tool_says_how_to_enable_it(tmp_path):
    async with session(tmp_path, flags={"read_only": True}) as h:
        text = error_text(await h.call("delete_client", {"id": 1}))
        assert "read-only" in text and "--read-only" in text
        assert h.store.get("clients", 1) is not None
    async with session(tmp_path / "x", flags={"toolsets": "clients"}) as h:
        text = error_text(await h.call("list_staff", {}))
        assert "'staff'" in text and "--toolsets" in text


@pytest.mark.anyio
async def test_listing_does_not_change_with_calls(tmp_path):
    async with session(tmp_path, flags={"toolsets": "invoices"}) as h:
        first = await _listed(h)
        data(await h.call("get_invoice", {"id": 1}))
        await h.call("get_client", {"id": 1})
        assert await _listed(h) == first


@pytest.mark.parametrize("env,needle", [
    ({"CLIENTARY_MCP_TOOLSETS": "clients,billing"}, "unknown toolset(s) in --toolsets / CLIENTARY_MCP_TOOLSETS: billing"),
    ({"CLIENTARY_MCP_INCLUDE": "get_clients"}, "unknown tool name(s) in --include / CLIENTARY_MCP_INCLUDE: get_clients"),
    ({"CLIENTARY_MCP_EXCLUDE": "nuke"}, "CLIENTARY_MCP_EXCLUDE: nuke"),
    ({"CLIENTARY_READ_ONLY": "maybe"}, "CLIENTARY_READ_ONLY must be true or false"),
    ({"CLIENTARY_MCP_NO_CONFIRM": "get_client"}, "not a gated tool"),
    ({"CLIENTARY_MCP_CONFIRM_MODE": "ask"}, "token or elicit"),
    ({"CLIENTARY_MCP_CONFIRM_SECRET": "short"}, "at least 32 characters"),
])
def test_bad_policy_settings_fail_at_start_naming_the_setting(env, needle):
    with pytest.raises(ConfigError) as info:
        load_options(None, env=env)
    assert needle in str(info.value)
    assert "\n" not in str(info.value)


def test_read_only_env_flag():
    assert load_options(None, env={"CLIENTARY_READ_ONLY": "true"}).policy.read_only is True
