"""The `clientary-mcp` command line: serve, call, tools, schemas, audit, bundle, sandbox, principals.

Every user error ends as one line on stderr naming what to fix (exit 2), never a traceback. Imports stay
inside the commands so that `serve` over stdio loads only what it needs.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from .parser import PROG


class UsageError(Exception):
    """A mistake on the command line; str() is one line naming the fix."""


def fail(message: str) -> int:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return 2


def _delegated(argv: list[str]) -> int | None:
    """`sandbox` and `principals` have parsers of their own."""
    if not argv or argv[0] not in ("sandbox", "principals"):
        return None
    if argv[0] == "principals":
        from ..transports.principals import main as principals_main

        return principals_main(argv[1:])
    if argv[1:2] == ["reset"]:
        from .sandbox_state import reset

        return reset(argv[2:])
    from ..sandbox.cli import main as sandbox_main

    return sandbox_main(argv[1:])


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    from ..config import ConfigError

    args: Any = None
    try:
        delegated = _delegated(argv)
        if delegated is not None:
            return delegated
        from .parser import build

        args = build().parse_args(argv)
        from .logs import configure

        configure(getattr(args, "log_level", None))
        return _dispatch(args)
    except (ConfigError, UsageError) as exc:
        return fail(str(exc))
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `clientary-mcp tools | head`
        _silence_stdout()
        return 0
    except OSError as exc:
        # A file or port the command needed: say which and why, in one line.
        what = f" {exc.filename}" if exc.filename else ""
        return fail(f"{exc.strerror or exc}{':' if what else ''}{what}")
    except Exception as exc:  # a bug: still one line, with the traceback only when asked for
        from .logs import debugging

        if debugging():
            raise
        return fail(f"unexpected {type(exc).__name__}: {str(exc)[:200]} (run with CLIENTARY_MCP_LOG_LEVEL=debug "
                    "for the traceback, and please report it)")


def _silence_stdout() -> None:
    # Python would complain again when flushing the closed pipe at exit.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def _dispatch(args: Any) -> int:
    command = args.command
    if command == "serve":
        from .serve import serve

        return serve(args)
    if command == "call":
        from .call import call

        return call(args)
    if command == "tools":
        from .listing import tools

        return tools(args)
    if command == "schemas":
        from .listing import schemas

        return schemas(args)
    if command == "bundle":
        from .bundle import bundle

        return bundle(args)
    if command == "audit":
        from ..safety.audit_cli import run

        return run(args)
    return fail(f"unknown command {command!r}")


__all__ = ["PROG", "UsageError", "fail", "main"]
