"""Every tool's input schema, as tools/list sends it, through the model providers' own SDK code.

Gemini (`google-genai`), OpenAI (`openai`) and Anthropic (`anthropic`) each turn MCP tools into their tool
format; a schema one of them refuses makes a host that hands it all tools fail on every request. The
schemas come from a live tools/list, so a tool added to the registry is checked without a change here.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import anthropic.lib._parse._transform as anthropic_transform
import anthropic.lib.tools.mcp as anthropic_mcp
import google.genai.types as genai_types
import openai.lib._parsing._completions as openai_parsing
import openai.lib._pydantic as openai_pydantic
import pytest
from anthropic.types import ToolParam
from openai.types.chat import ChatCompletionFunctionToolParam
from pydantic import TypeAdapter

from clientary_mcp.tools import REGISTRY

from support import session


@pytest.fixture(scope="module")
def listed(tmp_path_factory) -> list[Any]:
    import anyio

    async def tools() -> list[Any]:
        async with session(tmp_path_factory.mktemp("providers")) as h:
            return list((await h.client.list_tools()).tools)

    return anyio.run(tools)


def test_the_listing_has_every_tool(listed):
    assert [t.name for t in listed] == [spec.name for spec in REGISTRY]


def test_gemini_accepts_every_schema_unchanged(listed):
    declarations = []
    for tool in listed:
        # Schema forbids unknown keys, so a keyword Gemini does not know fails here rather than being dropped.
        parsed = genai_types.Schema.model_validate(tool.input_schema)
        back = parsed.model_dump(by_alias=True, exclude_none=True, mode="json")
        assert _lower_types(back) == tool.input_schema, tool.name
        declarations.append(genai_types.FunctionDeclaration(name=tool.name, description=tool.description,
                                                            parameters=parsed))
    genai_types.Tool(function_declarations=declarations)  # all tools in one request, as agents send them


def _lower_types(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: (v.lower() if k == "type" and isinstance(v, str) else _lower_types(v)) for k, v in node.items()}
    if isinstance(node, list):
        return [_lower_types(v) for v in node]
    return node


def test_openai_strict_conversion_changes_nothing_but_required(listed):
    tools = []
    for tool in listed:
        original = copy.deepcopy(tool.input_schema)
        strict = openai_pydantic._ensure_strict_json_schema(copy.deepcopy(original), path=(), root=original)
        assert _without_required(strict) == _without_required(original), tool.name  # no keyword added or removed
        tools.append({"type": "function", "function": {"name": tool.name, "description": tool.description,
                                                       "parameters": strict, "strict": True}})
    TypeAdapter(list[ChatCompletionFunctionToolParam]).validate_python(tools)
    assert len(openai_parsing.validate_input_tools(tools)) == len(listed)
    # Non-strict function tools, as MCP adapters send them by default: the schema exactly as listed.
    plain = [{"type": "function", "function": {"name": t.name, "description": t.description,
                                               "parameters": t.input_schema}} for t in listed]
    TypeAdapter(list[ChatCompletionFunctionToolParam]).validate_python(plain)


def _without_required(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _without_required(v) for k, v in node.items() if k != "required"}
    if isinstance(node, list):
        return [_without_required(v) for v in node]
    return node


@pytest.mark.anyio
async def test_anthropic_mcp_helper_passes_every_schema_unchanged(tmp_path):
    async with session(tmp_path) as h:
        listed = (await h.client.list_tools()).tools
        converted = [anthropic_mcp.async_mcp_tool(tool, h.client).to_dict() for tool in listed]
        for tool, param in zip(listed, converted):
            assert param["name"] == tool.name and param["input_schema"] == tool.input_schema
            TypeAdapter(ToolParam).validate_python({"name": tool.name, "description": tool.description,
                                                    "input_schema": tool.input_schema})
            anthropic_transform.transform_schema(tool.input_schema)  # strict tools: raises on a typeless schema
        # The helper's tool call goes through our server: an error's text reaches the model as the tool error.
        bad = await converted_call(listed, h.client, "get_client", {"id": 999_999})
        assert "not found" in bad
    assert json.dumps(converted)  # plain JSON, ready for the Messages API


async def converted_call(listed: list[Any], client: Any, name: str, args: dict[str, Any]) -> str:
    from anthropic.lib.tools._beta_functions import ToolError

    tool = anthropic_mcp.async_mcp_tool(next(t for t in listed if t.name == name), client)
    try:
        await tool.call(args)
    except ToolError as exc:
        return " ".join(getattr(block, "text", None) or block.get("text", "") for block in exc.content)
    raise AssertionError(f"{name} {args} succeeded")
