"""tools/list: the same bytes for the same caller, every time, and marked private to that caller on 2026-07-28."""

from __future__ import annotations

import pytest

from clientary_mcp.server import LIST_CACHE
from clientary_mcp.tools import REGISTRY

from support import session


def wire(result) -> str:
    return result.model_dump_json(by_alias=True, exclude_none=True, include={"tools"})


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["legacy", "2026-07-28"])
async def test_the_listing_is_identical_across_calls_and_sessions(mode, tmp_path):
    seen = []
    for n in range(2):
        async with session(tmp_path / str(n), mode=mode) as h:
            seen += [wire(await h.client.list_tools()) for _ in range(2)]
    assert len(set(seen)) == 1
    async with session(tmp_path / "x", mode=mode) as h:
        assert [t.name for t in (await h.client.list_tools()).tools] == [spec.name for spec in REGISTRY]


@pytest.mark.anyio
async def test_the_listing_follows_the_callers_policy(tmp_path):
    async with session(tmp_path / "a", env={"CLIENTARY_READ_ONLY": "1"}) as h:
        read_only = [t.name for t in (await h.client.list_tools()).tools]
    assert read_only == [spec.name for spec in REGISTRY if spec.kind == "read"]


@pytest.mark.anyio
async def test_on_2026_07_28_the_listing_is_cacheable_only_for_its_caller(tmp_path):
    async with session(tmp_path, mode="2026-07-28") as h:
        listed = await h.client.list_tools()
    assert listed.cache_scope == "private" and listed.ttl_ms == LIST_CACHE.ttl_ms > 0
