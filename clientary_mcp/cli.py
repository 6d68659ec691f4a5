"""Command line: serve, sandbox, tools, call, schemas, audit.

Imports stay inside the commands so that `serve` over stdio loads only what it needs.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

PROG = "clientary-mcp"


def _policy_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--sandbox", action="store_true", help="use the built-in sandbox instead of a Clientary account")
    p.add_argument("--read-only", action="store_true", default=None, help="only read tools (CLIENTARY_READ_ONLY)")
    p.add_argument("--toolsets", help="comma-separated toolsets to enable (CLIENTARY_MCP_TOOLSETS)")
    p.add_argument("--include", help="comma-separated tool names to add (CLIENTARY_MCP_INCLUDE)")
    p.add_argument("--exclude", help="comma-separated tool names to remove (CLIENTARY_MCP_EXCLUDE)")
    p.add_argument("--audit-log", help="audit log path, or - for stderr (CLIENTARY_MCP_AUDIT_LOG)")
    p.add_argument("--confirm-mode", choices=("token", "elicit"), help="how gated tools are confirmed")
    p.add_argument("--no-confirm", help="gated tools that run without confirmation (CLIENTARY_MCP_NO_CONFIRM)")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description="MCP server for the Clientary API.")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the MCP server (stdio by default)")
    _policy_flags(serve)
    serve.add_argument("--transport", choices=("stdio", "sse", "http"), default="stdio")
    serve.add_argument("--host", default=None, help="bind address for sse/http (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=None, help="port for sse/http (default 8000)")
    net = serve.add_argument_group("sse/http only (see docs/service.md)")
    net.add_argument("--principals", help="principals file: bearer tokens, accounts, policies (CLIENTARY_MCP_PRINCIPALS)")
    net.add_argument("--allowed-hosts", help="comma-separated Host names (CLIENTARY_MCP_ALLOWED_HOSTS)")
    net.add_argument("--allowed-origins", help="comma-separated browser Origins (CLIENTARY_MCP_ALLOWED_ORIGINS)")
    net.add_argument("--max-body", help="largest request body, e.g. 1MiB (CLIENTARY_MCP_MAX_BODY)")
    net.add_argument("--rate-limit", help="tool calls per principal, e.g. 60/min (CLIENTARY_MCP_RATE_LIMIT)")
    net.add_argument("--stateless", action="store_true", default=None,
                     help="no Streamable HTTP sessions, for replicas without sticky sessions (CLIENTARY_MCP_STATELESS)")
    net.add_argument("--shutdown-timeout", type=float, default=None,
                     help="seconds to let calls in flight finish on SIGTERM (CLIENTARY_MCP_SHUTDOWN_TIMEOUT)")

    sub.add_parser("sandbox", help="serve the Clientary-compatible sandbox API on a port", add_help=False)
    sub.add_parser("principals", help="manage the principals file of the network server", add_help=False)

    tools = sub.add_parser("tools", help="list the tools")
    _policy_flags(tools)

    call = sub.add_parser("call", help="run one tool through the server's call path and print the result")
    _policy_flags(call)
    call.add_argument("tool")
    call.add_argument("arguments", nargs="?", default="{}", help="JSON object of arguments")

    schemas = sub.add_parser("schemas", help="write or check schemas/ and the tool table in docs/tools.md")
    schemas.add_argument("--write", action="store_true")
    schemas.add_argument("--root", default=".", help="project folder (default: current)")

    audit = sub.add_parser("audit", help="read the audit log")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True)
    for name, text in (("verify", "check the hash chain"), ("tail", "show the latest records"),
                       ("show", "filter records"), ("stats", "per-tool calls, errors and durations")):
        a = audit_sub.add_parser(name, help=text)
        a.add_argument("path", nargs="?", help="log path (default: CLIENTARY_MCP_AUDIT_LOG or the state folder)")
        if name in ("tail", "show"):
            a.add_argument("-n", type=int, default=20, help="how many records")
            a.add_argument("--json", action="store_true", help="print raw JSON lines")
        if name == "show":
            a.add_argument("--tool")
            a.add_argument("--since", help="ISO time or date, e.g. 2026-11-01")
            a.add_argument("--outcome")
            a.add_argument("--principal")
    return parser


def _fail(message: str) -> int:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "sandbox":
        from .sandbox import main as sandbox_main

        return sandbox_main(argv[1:])
    if argv and argv[0] == "principals":
        from .transports.principals import main as principals_main

        return principals_main(argv[1:])
    args = _parser().parse_args(argv)
    from .config import ConfigError

    try:
        if args.command == "serve":
            return _serve(args)
        if args.command == "tools":
            return _tools(args)
        if args.command == "call":
            return _call(args)
        if args.command == "schemas":
            return _schemas(args)
        if args.command == "audit":
            from .safety.audit_cli import run

            return run(args)
    except ConfigError as exc:
        return _fail(str(exc))
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # e.g. `clientary-mcp tools | head`
        sys.stderr.close()
        return 0
    return 2


def _service(args: Any):
    from .app import account_settings, build_service
    from .options import load_options

    options = load_options(args)
    settings, sandbox = account_settings(bool(args.sandbox))
    return build_service(options, settings, sandbox=sandbox), options, sandbox


def _serve(args: Any) -> int:
    if args.transport != "stdio":
        from .transports.web import serve_http

        return serve_http(args)
    import anyio

    service, options, sandbox = _service(args)
    if sys.stdin.isatty():
        where = "the built-in sandbox" if sandbox else "your Clientary account"
        print(f"{PROG}: serving {len(service.tools)} tools over stdio on {where} ({options.policy.describe()}); "
              f"audit log: {options.audit_log}.\nAn MCP host (e.g. Claude Desktop) starts this command and speaks "
              "JSON-RPC on stdin/stdout; see the README. Ctrl-C to stop.", file=sys.stderr)
    if service.audit.recovered:
        print(f"{PROG}: audit log: {service.audit.recovered}", file=sys.stderr)

    async def run() -> None:
        from .server import build_server
        from .transports.stdio import stdio_server

        server = build_server(lambda ctx: (service, "local"), transport="stdio")
        try:
            async with stdio_server() as (read, write):
                await server.run(read, write, server.create_initialization_options())
        finally:
            await service.api.aclose()
            service.audit.close()

    anyio.run(run)
    return 0


def _tools(args: Any) -> int:
    from .options import load_options

    policy = load_options(args).policy
    specs = policy.allowed()
    width = max(len(s.name) for s in specs) if specs else 10
    for spec in specs:
        print(f"{spec.name:<{width}}  {spec.kind:<5}  {spec.title}")
    print(f"{len(specs)} tools ({policy.describe()})", file=sys.stderr)
    return 0


def _call(args: Any) -> int:
    import anyio

    from .service import Caller

    try:
        arguments = json.loads(args.arguments)
    except json.JSONDecodeError as exc:
        return _fail(f"arguments must be a JSON object, e.g. '{{\"id\": 1}}' ({exc.msg} at column {exc.colno})")
    service, _, _ = _service(args)

    async def run():
        try:
            return await service.call(args.tool, arguments, Caller(transport="cli"))
        finally:
            await service.api.aclose()
            service.audit.close()

    result = anyio.run(run)
    if result.data is not None and not result.is_error:
        print(json.dumps(result.data, indent=2, ensure_ascii=False))
        print(result.text.split("\n", 1)[0], file=sys.stderr)
    else:
        print(result.text, file=sys.stderr if result.is_error else sys.stdout)
    return 1 if result.is_error else 0


def _schemas(args: Any) -> int:
    from . import catalog

    root = Path(args.root)
    if args.write:
        catalog.write(root)
        print(f"wrote {len(catalog.schema_files())} files to {root / 'schemas'} and the tool table in docs/tools.md")
        return 0
    problems = catalog.check(root)
    for line in problems:
        print(line)
    if problems:
        print(f"run `{PROG} schemas --write` to regenerate", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
