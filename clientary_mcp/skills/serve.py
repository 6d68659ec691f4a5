"""Serving the procedures: prompts/list and prompts/get, the skills extension's skills/list and skills/get, and
their SKILL.md files through resources/list and resources/read."""

from __future__ import annotations

from typing import Any

import mcp_types as types
from mcp.server import Server, ServerRequestContext
from mcp.shared.exceptions import MCPError

from . import EXTENSION_ID, MIME, Skill, all_skills, by_prompt, by_uri

TTL_MS = 3_600_000  # the procedures change only with a release


class SkillGetParams(types.RequestParams):
    uri: str


def _unknown(what: str, name: str, known: list[str]) -> MCPError:
    return MCPError(code=types.INVALID_PARAMS, message=f"Unknown {what} {name!r}; known: {', '.join(known)}")


def prompt(skill: Skill) -> types.Prompt:
    return types.Prompt(name=skill.prompt, title=skill.name.replace("-", " ").capitalize(),
                        description=skill.description,
                        arguments=[types.PromptArgument(name=a.name, description=a.description, required=a.required)
                                   for a in skill.arguments])


def resource(skill: Skill) -> types.Resource:
    return types.Resource(uri=skill.uri, name=skill.name, description=skill.description, mime_type=MIME,
                          size=len(skill.raw))


async def list_prompts(ctx: ServerRequestContext[Any, Any], params: Any) -> types.ListPromptsResult:
    return types.ListPromptsResult(prompts=[prompt(s) for s in all_skills()], ttl_ms=TTL_MS, cache_scope="public")


async def get_prompt(ctx: ServerRequestContext[Any, Any], params: types.GetPromptRequestParams) -> types.GetPromptResult:
    skill = by_prompt(params.name)
    if skill is None:
        raise _unknown("prompt", params.name, [s.prompt for s in all_skills()])
    given = params.arguments or {}
    unknown = sorted(set(given) - {a.name for a in skill.arguments})
    missing = [a.name for a in skill.arguments if a.required and not given.get(a.name)]
    if unknown or missing:
        problems = ([f"unknown argument(s) {', '.join(unknown)}"] if unknown else []) + (
            [f"missing required argument(s) {', '.join(missing)}"] if missing else [])
        allowed = ", ".join(a.name for a in skill.arguments)
        raise MCPError(code=types.INVALID_PARAMS,
                       message=f"Prompt {skill.prompt}: {'; '.join(problems)} (arguments: {allowed})")
    message = types.PromptMessage(role="user", content=types.TextContent(text=skill.render(given)))
    return types.GetPromptResult(description=skill.description, messages=[message])


async def list_resources(ctx: ServerRequestContext[Any, Any], params: Any) -> types.ListResourcesResult:
    return types.ListResourcesResult(resources=[resource(s) for s in all_skills()], ttl_ms=TTL_MS,
                                     cache_scope="public")


async def read_resource(ctx: ServerRequestContext[Any, Any],
                        params: types.ReadResourceRequestParams) -> types.ReadResourceResult:
    skill = by_uri(str(params.uri))
    if skill is None:
        raise _unknown("resource", str(params.uri), [s.uri for s in all_skills()])
    return types.ReadResourceResult(contents=[types.TextResourceContents(uri=skill.uri, mime_type=MIME,
                                                                         text=skill.text)],
                                    ttl_ms=TTL_MS, cache_scope="public")


async def list_skills(ctx: ServerRequestContext[Any, Any], params: types.PaginatedRequestParams) -> dict[str, Any]:
    # A handful of skills: one page, so a cursor (ours never issues one) has nothing after it.
    entries = [] if params.cursor else [s.entry() for s in all_skills()]
    return {"skills": entries, "ttlMs": TTL_MS, "cacheScope": "public"}


async def get_skill(ctx: ServerRequestContext[Any, Any], params: SkillGetParams) -> dict[str, Any]:
    skill = by_uri(params.uri)
    if skill is None:
        raise _unknown("skill", params.uri, [s.uri for s in all_skills()])
    return {"skill": skill.entry(), "ttlMs": TTL_MS, "cacheScope": "public"}


def install(server: Server[Any]) -> None:
    """Add the prompts, the skills extension and the skill files to a server."""
    server.add_request_handler("prompts/list", types.PaginatedRequestParams, list_prompts)
    server.add_request_handler("prompts/get", types.GetPromptRequestParams, get_prompt)
    server.add_request_handler("resources/list", types.PaginatedRequestParams, list_resources)
    server.add_request_handler("resources/read", types.ReadResourceRequestParams, read_resource)
    server.add_request_handler("skills/list", types.PaginatedRequestParams, list_skills)
    server.add_request_handler("skills/get", SkillGetParams, get_skill)
    server.extensions[EXTENSION_ID] = {}
