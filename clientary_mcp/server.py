"""MCP wiring: the SDK's low-level Server, with tools/list and tools/call served from a ToolService."""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

import mcp_types as types
from mcp.server import CacheHint, Server, ServerRequestContext
from mcp.shared.exceptions import MCPError
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from . import __version__
from .service import Answer, Caller, ToolService
from .tools import ToolSpec
from .tools.shapes import entity_schema, gated_schema, list_schema

INSTRUCTIONS = (
    "Clientary (clients, projects, time, invoices, payments). Deletes, emails and card charges are gated: call them "
    "without `confirm` to get a preview, show it to the user, then call again with the returned token. Prompts "
    "(and skills) describe the month-end, overdue, onboarding and time-audit procedures."
)
CONFIRM_SCHEMA = {
    "type": "object",
    "properties": {"confirm": {"type": "boolean", "title": "Go ahead", "description": "Do exactly this"}},
    "required": ["confirm"],
}

# tools/list on 2026-07-28: the listing depends on the caller's policy, so a cache may reuse it only for the
# same caller; it changes only when the server restarts with another policy, so five minutes are safe.
LIST_CACHE = CacheHint(ttl_ms=300_000, scope="private")

# Resolves who is calling and which service (policy, account) serves them.
Resolver = Callable[[ServerRequestContext[Any, Any]], tuple[ToolService, str]]


def output_schema(spec: ToolSpec) -> dict[str, Any]:
    if spec.output is not None:
        return spec.output
    entity = spec.entity or "record"
    if spec.kind == "gated":
        return gated_schema(entity)
    if spec.list_key:
        return list_schema(entity)
    return entity_schema(entity)


def mcp_tool(spec: ToolSpec) -> types.Tool:
    hints = spec.annotations
    return types.Tool(
        name=spec.name,
        title=spec.title,
        description=spec.description,
        input_schema=spec.input_schema(),
        output_schema=output_schema(spec),
        annotations=types.ToolAnnotations(
            title=hints["title"],
            read_only_hint=hints["readOnlyHint"],
            destructive_hint=hints["destructiveHint"],
            idempotent_hint=hints["idempotentHint"],
            open_world_hint=hints["openWorldHint"],
        ),
    )


ERROR_META = "clientary-mcp/error"


def call_result(result: Any) -> types.CallToolResult:
    """A tools/call result. Structured content only on success: clients (the TypeScript SDK from 1.12 on)
    validate any structured content against the tool's output schema, errors included, and an error is not
    the tool's output. An error's kind and details go in `_meta` instead, for programs; people read the text."""
    if result.is_error:
        return types.CallToolResult(content=[types.TextContent(text=result.text)], is_error=True,
                                    meta={ERROR_META: result.error} if result.error else None)
    return types.CallToolResult(content=[types.TextContent(text=result.text)], structured_content=result.data)


def _answer(responses: Any) -> Answer | None:
    """The human's reply to our confirmation question, from a 2026-07-28 retry."""
    if not responses:
        return None
    reply = responses.get("confirm") if isinstance(responses, dict) else None
    if reply is None:
        return "cancel"
    action = getattr(reply, "action", None) or (reply.get("action") if isinstance(reply, dict) else None)
    content = getattr(reply, "content", None) if not isinstance(reply, dict) else reply.get("content")
    if action == "accept":
        return "accept" if isinstance(content, dict) and content.get("confirm") is True else "decline"
    return "decline" if action == "decline" else "cancel"


def meta_tool(name: str) -> types.Tool:
    from . import compact

    hints = compact.META_HINTS[name]
    return types.Tool(
        name=name, description=compact.META_DESCRIPTIONS[name], input_schema=compact.META_SCHEMAS[name],
        annotations=types.ToolAnnotations(
            read_only_hint=hints["readOnlyHint"], destructive_hint=hints["destructiveHint"],
            idempotent_hint=hints["idempotentHint"], open_world_hint=hints["openWorldHint"]),
    )


def _local_result(data: dict[str, Any], summary: str) -> types.CallToolResult:
    import json

    text = summary + "\n" + json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return types.CallToolResult(content=[types.TextContent(text=text)], structured_content=data)


def _local_error(message: str) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(text=message)], is_error=True)


def build_server(resolve: Resolver, *, transport: str = "stdio", catalog: str = "full") -> Server[Any]:
    """`catalog` "full" lists every tool the policy allows; "compact" lists three meta-tools instead."""
    from . import compact

    # The policy is fixed per service, so its listing is built once: the same bytes on every call.
    listings: weakref.WeakKeyDictionary[ToolService, types.ListToolsResult] = weakref.WeakKeyDictionary()

    def listing(service: ToolService) -> types.ListToolsResult:
        if service not in listings:
            tools = ([meta_tool(name) for name in compact.META_SCHEMAS] if catalog == "compact"
                     else [mcp_tool(spec) for spec in service.tools])
            listings[service] = types.ListToolsResult(tools=tools)
        return listings[service]

    def unwrap(service: ToolService, name: str, arguments: Any) -> tuple[str, Any] | types.CallToolResult:
        """compact: the underlying call of a call_tool, or the local answer of find/describe."""
        args = arguments if isinstance(arguments, dict) else {}
        try:
            if name == compact.FIND:
                found = compact.find(service.tools, args)
                return _local_result(found, f"{found['returned']} matching tool" + "s" * (found["returned"] != 1))
            if name == compact.DESCRIBE:
                spec = compact.spec_named(service.policy, args)
                return _local_result(compact.describe(spec), f"{spec.name} ({spec.kind})")
            if name == compact.CALL:
                return compact.call_target(args)
        except compact.MetaError as exc:
            return _local_error(f"{name}: {exc}")
        return _local_error(f"Unknown tool {name[:80]!r}: this server lists find_tools, describe_tool and "
                            "call_tool (compact catalog).")

    async def on_list_tools(ctx: ServerRequestContext[Any, Any], params: Any) -> types.ListToolsResult:
        service, _ = resolve(ctx)
        return listing(service)

    async def on_call_tool(ctx: ServerRequestContext[Any, Any], params: types.CallToolRequestParams) -> Any:
        service, principal = resolve(ctx)
        name, arguments = params.name, params.arguments
        if catalog == "compact":
            target = unwrap(service, name, arguments)
            if isinstance(target, types.CallToolResult):
                return target
            name, arguments = target
        caps = ctx.session.client_capabilities
        can_elicit = caps is not None and caps.elicitation is not None
        modern = ctx.protocol_version in MODERN_PROTOCOL_VERSIONS
        caller = Caller(principal=principal, transport=transport, request_id=ctx.request_id)
        if can_elicit and modern:
            caller.can_elicit_inline = True
        elif can_elicit and ctx.session.can_send_request:
            async def elicitor(message: str) -> Answer:
                reply = await ctx.session.elicit_form(message, CONFIRM_SCHEMA, related_request_id=ctx.request_id)
                if reply.action == "accept":
                    return "accept" if (reply.content or {}).get("confirm") is True else "decline"
                return reply.action

            caller.elicitor = elicitor
        result = await service.call(name, arguments, caller,
                                    answer=_answer(params.input_responses), state=params.request_state)
        if result.unknown_tool and catalog == "compact":  # audited as unknown_tool all the same
            return _local_error(f"call_tool: no tool named {str(name)[:80]!r}; use find_tools to search by words.")
        if result.unknown_tool:
            raise MCPError(code=types.INVALID_PARAMS, message=result.text)
        if result.ask is not None:
            question = types.ElicitRequest(
                params=types.ElicitRequestFormParams(message=result.ask["message"], requested_schema=CONFIRM_SCHEMA))
            return types.InputRequiredResult(input_requests={"confirm": question}, request_state=result.ask["state"])
        return call_result(result)

    from .tools import REGISTRY

    # Asked per request on 2026-07-28 HTTP.
    schemas = (dict(compact.META_SCHEMAS) if catalog == "compact"
               else {spec.name: spec.input_schema() for spec in REGISTRY})

    def input_schema(name: str) -> dict[str, Any] | None:
        return schemas.get(name)

    server: Server[Any] = Server(
        "clientary-mcp",
        version=__version__,
        title="Clientary",
        instructions=INSTRUCTIONS,
        on_list_tools=on_list_tools,
        on_call_tool=on_call_tool,
        get_tool_input_schema=input_schema,
        cache_hints={"tools/list": LIST_CACHE},
    )
    from .skills.serve import install

    install(server)  # the procedures, as prompts and as skills
    return server
