"""The argument parser: every command with only the flags that apply to it, each with its help text."""

from __future__ import annotations

import argparse

from .. import __version__

PROG = "clientary-mcp"
LOG_LEVELS = ("debug", "info", "warning", "error")
# serve's flags that only mean something on the network transports (refused on stdio).
NETWORK_ONLY = ("host", "port", "principals", "allowed_hosts", "allowed_origins", "max_body", "rate_limit",
                "stateless", "shutdown_timeout")


class Parser(argparse.ArgumentParser):
    """argparse, except that a usage error is one line naming the fix (no usage block)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def _account_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument("--sandbox", action="store_true",
                   help="use the built-in sandbox (demo data) instead of a Clientary account")


def _policy_flags(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("which tools (fixed at start)")
    g.add_argument("--read-only", action="store_true", default=None,
                   help="only the read tools (CLIENTARY_READ_ONLY)")
    g.add_argument("--toolsets", metavar="LIST",
                   help="comma-separated toolsets to enable, e.g. clients,invoices (CLIENTARY_MCP_TOOLSETS)")
    g.add_argument("--include", metavar="TOOLS",
                   help="comma-separated tools to add to the enabled toolsets (CLIENTARY_MCP_INCLUDE)")
    g.add_argument("--exclude", metavar="TOOLS",
                   help="comma-separated tools to remove; beats --include (CLIENTARY_MCP_EXCLUDE)")


def _audit_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument("--audit-log", metavar="PATH",
                   help="audit log file, or - for stderr (CLIENTARY_MCP_AUDIT_LOG; default: the state folder)")


def _log_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument("--log-level", choices=LOG_LEVELS, type=str.lower,
                   help="how much the server logs to stderr (CLIENTARY_MCP_LOG_LEVEL; default warning)")


def build() -> Parser:
    parser = Parser(prog=PROG, description="MCP server for the Clientary API: every Clientary action as a tool, "
                                           "with confirmation of destructive tools and an audit log.")
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=Parser)

    serve = sub.add_parser("serve", help="run the MCP server (stdio by default, for MCP hosts)",
                           description="Run the MCP server. Over stdio an MCP host starts it; over http/sse it "
                                       "listens on a port (see docs/service.md).")
    _account_flag(serve)
    serve.add_argument("--transport", choices=("stdio", "http", "sse"), default="stdio",
                       help="stdio for a host that starts the server (default); http for Streamable HTTP at /mcp; "
                            "sse for the legacy HTTP+SSE transport")
    _policy_flags(serve)
    serve.add_argument("--catalog", choices=("full", "compact"), type=str.lower,
                       help="full lists every enabled tool (default); compact lists three meta-tools that find, "
                            "describe and call them, for hosts with small contexts (CLIENTARY_MCP_CATALOG)")
    confirm = serve.add_argument_group("confirmation and audit")
    confirm.add_argument("--confirm-mode", choices=("token", "elicit"),
                         help="how gated tools are confirmed: a preview token (default), or by asking the human "
                              "through the MCP client (CLIENTARY_MCP_CONFIRM_MODE)")
    confirm.add_argument("--no-confirm", metavar="TOOLS",
                         help="gated tools that run without confirmation, for unattended use (CLIENTARY_MCP_NO_CONFIRM)")
    _audit_flag(confirm)
    _log_flag(serve)
    net = serve.add_argument_group("http/sse only (see docs/service.md)")
    net.add_argument("--host", help="bind address (CLIENTARY_MCP_HOST; default 127.0.0.1)")
    net.add_argument("--port", type=int, help="TCP port (CLIENTARY_MCP_PORT; default 8000)")
    net.add_argument("--principals", metavar="FILE",
                     help="principals file: bearer tokens, accounts, policies (CLIENTARY_MCP_PRINCIPALS)")
    net.add_argument("--allowed-hosts", metavar="LIST", help="comma-separated Host names (CLIENTARY_MCP_ALLOWED_HOSTS)")
    net.add_argument("--allowed-origins", metavar="LIST",
                     help="comma-separated browser Origins (CLIENTARY_MCP_ALLOWED_ORIGINS)")
    net.add_argument("--max-body", metavar="SIZE", help="largest request body, e.g. 1MiB (CLIENTARY_MCP_MAX_BODY)")
    net.add_argument("--rate-limit", metavar="RATE",
                     help="tool calls per principal, e.g. 60/min (CLIENTARY_MCP_RATE_LIMIT)")
    net.add_argument("--stateless", action="store_true", default=None,
                     help="no Streamable HTTP sessions, for replicas without sticky sessions (CLIENTARY_MCP_STATELESS)")
    net.add_argument("--shutdown-timeout", type=float, metavar="SECONDS",
                     help="seconds to let calls in flight finish when stopping (CLIENTARY_MCP_SHUTDOWN_TIMEOUT)")
    net.add_argument("--max-sessions", metavar="N",
                     help="open sessions per principal (CLIENTARY_MCP_MAX_SESSIONS; default 32)")
    net.add_argument("--max-streams", metavar="N",
                     help="open SSE streams per principal (CLIENTARY_MCP_MAX_STREAMS; default 16)")
    net.add_argument("--max-calls", metavar="N",
                     help="requests in flight per principal (CLIENTARY_MCP_MAX_CALLS; default 64)")
    net.add_argument("--session-idle", metavar="SECONDS",
                     help="seconds before an idle session closes (CLIENTARY_MCP_SESSION_IDLE; default 300)")

    call = sub.add_parser("call", help="run one tool and print its result",
                          description="Run one tool through the server's own call path (policy, confirmation, "
                                      "audit). In a terminal a gated tool shows its preview and asks before acting.")
    call.add_argument("tool", help="tool name, e.g. list_clients (`clientary-mcp tools` lists them)")
    call.add_argument("arguments", nargs="?", default="{}",
                      help="a JSON object of arguments (default {}), @FILE to read it from a file, or - for stdin")
    _account_flag(call)
    call.add_argument("--yes", "-y", action="store_true",
                      help="confirm a gated tool without asking (for scripts that already decided)")
    call.add_argument("--format", choices=("json", "table"), type=str.lower,
                      help="output format (default: table for lists in a terminal, else json)")
    _policy_flags(call)
    _audit_flag(call)
    _log_flag(call)

    tools = sub.add_parser("tools", help="list the tools the policy enables",
                           description="List the tools (name, kind, title) that the given policy enables.")
    _policy_flags(tools)
    tools.add_argument("--format", choices=("json", "table"), type=str.lower, default="table",
                       help="output format (default table)")

    schemas = sub.add_parser("schemas", help="check (or --write) schemas/ and docs/tools.md in a source checkout",
                             description="Check that the committed schemas/*.json and the tool table in "
                                         "docs/tools.md match the tool registry (for contributors).")
    schemas.add_argument("--write", action="store_true", help="regenerate them instead of checking")
    schemas.add_argument("--root", default=".", metavar="DIR", help="the source checkout (default: current folder)")

    audit = sub.add_parser("audit", help="read and verify the audit log",
                           description="Read the audit log (default: CLIENTARY_MCP_AUDIT_LOG or the state folder).")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True, metavar="ACTION", parser_class=Parser)
    for name, text in (("verify", "check the hash chain for edited, removed or reordered records"),
                       ("tail", "show the latest records"),
                       ("show", "show the records that match filters"),
                       ("stats", "calls, errors and median duration per tool")):
        a = audit_sub.add_parser(name, help=text, description=text[:1].upper() + text[1:] + ".")
        a.add_argument("path", nargs="?", help="audit log file (default: CLIENTARY_MCP_AUDIT_LOG or the state folder)")
        if name in ("tail", "show"):
            a.add_argument("-n", type=int, default=20, metavar="N", help="how many records at most (default 20; 0 for all)")
            a.add_argument("--json", action="store_true", help="print the records as raw JSON lines")
        if name == "show":
            a.add_argument("--tool", help="only this tool")
            a.add_argument("--since", metavar="WHEN",
                           help="only records from then on: a date (2026-11-01), a time (2026-11-01T09:30, UTC "
                                "unless it has an offset) or a span back from now (90m, 24h, 7d, 2w)")
            a.add_argument("--outcome", help="only this outcome, e.g. ok, preview, confirmed, api_error")
            a.add_argument("--principal", help="only this principal (local for stdio and call)")

    bundle = sub.add_parser("bundle", help="make an MCP Bundle (.mcpb) for one-click install in Claude Desktop",
                            description="Write an MCP Bundle that Claude Desktop installs in one click; it asks "
                                        "for the Clientary domain and API token, and offers read-only and toolsets.")
    bundle.add_argument("--output", "-o", metavar="FILE",
                        help="where to write it (default: ./clientary-mcp-<version>.mcpb)")

    # Parsed by their own modules; listed here for --help.
    sub.add_parser("sandbox", help="serve the Clientary-compatible sandbox API on a port (`sandbox reset` "
                                   "starts call --sandbox's demo data over)", add_help=False)
    sub.add_parser("principals", help="manage the principals file of the network server", add_help=False)
    return parser
