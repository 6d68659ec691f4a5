"""`clientary-mcp serve`: stdio for a host that starts it, or the network service; Ctrl-C stops it at once."""

from __future__ import annotations

import os
import signal
import socket
import sys
from typing import Any

from ..config import ConfigError
from .common import build, check_audit_log, count, options_for
from .parser import NETWORK_ONLY, PROG


def _flag(dest: str) -> str:
    return "--" + dest.replace("_", "-")


def serve(args: Any) -> int:
    if args.transport == "stdio":
        given = [_flag(d) for d in NETWORK_ONLY if getattr(args, d, None) not in (None, False)]
        if given:
            raise ConfigError(f"{', '.join(given)} {'applies' if len(given) == 1 else 'apply'} only to --transport "
                              "http or sse; the stdio server "
                              "is started by the MCP host and listens on no port")
        return _stdio(args)
    return _network(args)


# ---------------------------------------------------------------------------------------------
# stdio


def _stdio(args: Any) -> int:
    import anyio

    service, options, sandbox = build(args)
    if sys.stdin.isatty():
        where = "the built-in sandbox" if sandbox else "your Clientary account"
        print(f"{PROG}: serving {count(len(service.tools), 'tool')} over stdio on {where} "
              f"({options.policy.describe()}); audit log: {options.audit_log}.\nAn MCP host (e.g. Claude Desktop) "
              "starts this command and speaks JSON-RPC on stdin/stdout; see the README. Ctrl-C to stop.",
              file=sys.stderr, flush=True)
    if service.audit.recovered:
        print(f"{PROG}: audit log: {service.audit.recovered}", file=sys.stderr)
    stopped: list[int] = []
    cancel: list[Any] = []

    def on_signal(signum: int, frame: Any) -> None:
        # Python runs this on the main thread (the event loop's) between bytecodes. A second signal while
        # stopping does nothing, so it can never abort the interpreter mid-shutdown.
        if stopped:
            return
        stopped.append(signum)
        if not cancel:
            raise KeyboardInterrupt  # not serving yet: nothing to close
        cancel[0]()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, on_signal)

    async def run() -> None:
        import asyncio

        from ..server import build_server
        from ..transports.stdio import stdio_server

        server = build_server(lambda ctx: (service, "local"), transport="stdio", catalog=options.catalog)
        loop = asyncio.get_running_loop()
        try:
            with anyio.CancelScope() as scope:
                cancel.append(lambda: loop.call_soon_threadsafe(scope.cancel))
                async with stdio_server() as (read, write):
                    await server.run(read, write, server.create_initialization_options())
        finally:
            await service.api.aclose()
            service.audit.close()

    anyio.run(run)
    if stopped:
        # Stdin's reader thread may still be blocked in a read that nothing can interrupt; everything of
        # ours is closed, so leave without waiting for it (the interpreter would abort trying to).
        print(("\n" if sys.stdin.isatty() else "") + f"{PROG}: stopped.", file=sys.stderr)  # after the ^C echo
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(_status(stopped[0]))
    return 0


# ---------------------------------------------------------------------------------------------
# http / sse


def _port_free(host: str, port: int) -> None:
    family = socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            if os.name != "nt":
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
            probe.bind((host.strip("[]"), port))
    except OSError as exc:
        if exc.errno in (98, 48, 10048):  # EADDRINUSE on Linux, macOS, Windows
            raise ConfigError(f"port {port} on {host} is already in use: stop what listens there, or choose "
                              "another with --port / CLIENTARY_MCP_PORT") from None
        raise ConfigError(f"cannot listen on {host}:{port} ({exc.strerror or exc}): check --host / "
                          "CLIENTARY_MCP_HOST and --port / CLIENTARY_MCP_PORT") from None


def _network(args: Any) -> int:
    from ..transports.web import load_web_options, serve_http

    options = options_for(args)
    check_audit_log(options.audit_log)
    web = load_web_options(args, os.environ)
    _port_free(web.host, web.port)

    def stopped(signum: int, frame: Any) -> None:
        raise _Stopped(signum)

    # uvicorn puts this handler back once it has stopped cleanly, then raises the signal it caught again.
    previous = signal.signal(signal.SIGTERM, stopped)
    try:
        return serve_http(args)
    except KeyboardInterrupt:
        return 130
    except _Stopped as exc:
        return _status(exc.signum)
    finally:
        signal.signal(signal.SIGTERM, previous)


def _status(signum: int) -> int:
    """Ctrl-C is the shell's 130; SIGTERM is how hosts and `docker stop` ask for a normal stop (0)."""
    return 130 if signum == signal.SIGINT else 0


class _Stopped(Exception):
    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum
