"""The compact catalog (`--catalog compact`): three meta-tools that find, describe and call every tool.

For hosts with small contexts or many servers: the listing costs a few hundred bytes instead of the
whole registry. `call_tool` hands the named tool and its arguments to the same `ToolService.call` as a
direct call, so validation, policy, confirmation and the audit record (under the tool's own name) are
exactly those of the full catalog.
"""

from __future__ import annotations

import re
from typing import Any

from ..safety.policy import Policy
from ..tools import BY_NAME, TOOLSETS, ToolSpec

FIND, DESCRIBE, CALL = "find_tools", "describe_tool", "call_tool"
KINDS = ("read", "write", "gated")

_NAME = {"type": "string", "description": "tool name, from find_tools"}
META_SCHEMAS: dict[str, dict[str, Any]] = {
    FIND: {
        "type": "object",
        "properties": {
            "query": {"type": "string", "description": "words to match in names and descriptions, e.g. 'overdue invoice'"},
            "toolset": {"type": "string", "enum": list(TOOLSETS)},
            "kind": {"type": "string", "enum": list(KINDS), "description": "gated: needs confirmation"},
        },
        "additionalProperties": False,
    },
    DESCRIBE: {"type": "object", "properties": {"name": _NAME}, "required": ["name"], "additionalProperties": False},
    CALL: {
        "type": "object",
        "properties": {"name": _NAME, "arguments": {"type": "object", "description": "as describe_tool's schema says"}},
        "required": ["name"],
        "additionalProperties": False,
    },
}
META_DESCRIPTIONS = {
    FIND: "Find Clientary tools by words, toolset or kind; returns names, kinds and one-line descriptions.",
    DESCRIBE: "Get one tool's description and input schema before calling it.",
    CALL: "Call a Clientary tool by name with its arguments. Gated tools return a preview first; call again "
          "with confirm to act.",
}
# call_tool can reach every kind, so its hints are the most cautious ones.
META_HINTS = {
    FIND: {"readOnlyHint": True, "destructiveHint": False, "idempotentHint": True, "openWorldHint": False},
    DESCRIBE: {"readOnlyHint": True, "destructiveHint": False, "idempotentHint": True, "openWorldHint": False},
    CALL: {"readOnlyHint": False, "destructiveHint": True, "idempotentHint": False, "openWorldHint": True},
}


class MetaError(ValueError):
    """Bad arguments to a meta-tool; the message names the field and the fix."""


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z0-9]+", text.lower()))


def _stem(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") else word


def find(tools: list[ToolSpec], arguments: dict[str, Any]) -> dict[str, Any]:
    query = arguments.get("query") or ""
    toolset, kind = arguments.get("toolset"), arguments.get("kind")
    if not isinstance(query, str):
        raise MetaError("query must be a string of words, e.g. 'invoice payment'")
    if toolset is not None and toolset not in TOOLSETS:
        raise MetaError(f"toolset must be one of: {', '.join(TOOLSETS)}")
    if kind is not None and kind not in KINDS:
        raise MetaError(f"kind must be one of: {', '.join(KINDS)}")
    wanted = {_stem(w) for w in _words(query)}
    found = []
    for spec in tools:
        if (toolset and spec.toolset != toolset) or (kind and spec.kind != kind):
            continue
        have = {_stem(w) for w in _words(f"{spec.name.replace('_', ' ')} {spec.title} {spec.description}")}
        if wanted <= have:
            found.append({"name": spec.name, "kind": spec.kind, "toolset": spec.toolset,
                          "description": spec.description})
    return {"items": found, "returned": len(found)}


def spec_named(policy: Policy, arguments: dict[str, Any]) -> ToolSpec:
    name = arguments.get("name")
    if not isinstance(name, str) or not name:
        raise MetaError("name is required: a tool name from find_tools")
    spec = BY_NAME.get(name)
    if spec is None:
        raise MetaError(f"there is no tool named {name[:80]!r}; use find_tools to search by words")
    disabled = policy.why_disabled(spec)
    if disabled:
        raise MetaError(disabled)
    return spec


def describe(spec: ToolSpec) -> dict[str, Any]:
    return {"name": spec.name, "kind": spec.kind, "toolset": spec.toolset, "description": spec.description,
            "input_schema": spec.input_schema(), "annotations": spec.annotations}


def call_target(arguments: dict[str, Any]) -> tuple[str, Any]:
    """The underlying tool's name and arguments from call_tool's arguments."""
    extra = sorted(set(arguments) - {"name", "arguments"})
    if extra:
        raise MetaError(f"call_tool takes only name and arguments; put {', '.join(extra)} inside arguments")
    name = arguments.get("name")
    if not isinstance(name, str) or not name:
        raise MetaError("name is required: a tool name from find_tools")
    inner = arguments.get("arguments")
    if inner is None:
        inner = {}
    if not isinstance(inner, dict):
        raise MetaError("arguments must be an object of the tool's arguments, e.g. {\"id\": 1}")
    return name, inner
