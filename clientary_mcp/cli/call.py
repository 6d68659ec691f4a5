"""`clientary-mcp call`: one tool through the server's call path, for people and scripts.

In a terminal the person at it is the human in the loop: a gated tool shows its preview and asks
`Proceed? [y/N]` (audited as confirmed via the terminal). `--yes` confirms without asking; anything
else that is not a terminal gets the preview and its token, as an agent would.
"""

from __future__ import annotations

import contextlib
import difflib
import json
import sys
from pathlib import Path
from typing import Any

from ..config import ConfigError
from .output import render
from .parser import PROG


def read_arguments(raw: str) -> dict[str, Any]:
    where = "the arguments"
    if raw == "-":
        text, where = sys.stdin.read(), "the arguments on stdin"
    elif raw.startswith("@"):
        path = Path(raw[1:]).expanduser()
        where = f"the arguments in {path}"
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "strerror", None) or type(exc).__name__
            raise ConfigError(f"cannot read arguments from {path}: {reason}") from None
    else:
        text = raw
    try:
        value = json.loads(text or "{}")
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{where} must be a JSON object, e.g. '{{\"id\": 1}}' ({exc.msg} at line {exc.lineno} "
                          f"column {exc.colno})") from None
    if not isinstance(value, dict):
        raise ConfigError(f"{where} must be a JSON object, e.g. '{{\"id\": 1}}' (got a {type(value).__name__})")
    return value


def known_tool(name: str) -> Any:
    from ..tools import BY_NAME

    spec = BY_NAME.get(name)
    if spec is None:
        close = difflib.get_close_matches(name, list(BY_NAME), n=3, cutoff=0.6)
        hint = f"; did you mean {' or '.join(close)}?" if close else f"; `{PROG} tools` lists them"
        raise ConfigError(f"unknown tool {name[:60]!r}{hint}")
    return spec


def _terminal_prompt(message: str) -> str:
    print(f"\n{message}", file=sys.stderr)
    print("Proceed? [y/N] ", end="", file=sys.stderr, flush=True)
    reply = sys.stdin.readline()
    if not reply:
        print(file=sys.stderr)
        return "cancel"
    return "accept" if reply.strip().lower() in ("y", "yes") else "decline"


def call(args: Any) -> int:
    import anyio

    from ..service import Caller
    from .common import build, options_for

    spec = known_tool(args.tool)
    arguments = read_arguments(args.arguments)
    options = options_for(args)
    caller = Caller(transport="cli")
    mode = None
    if spec.kind == "gated" and "confirm" not in arguments:
        if args.yes:
            async def yes(message: str) -> str:
                print(message, file=sys.stderr)
                return "accept"

            caller.elicitor, caller.confirm_via, mode = yes, "cli_yes", "elicit"
        elif args.arguments != "-" and sys.stdin.isatty() and sys.stderr.isatty():
            async def ask(message: str) -> str:
                return _terminal_prompt(message)

            caller.elicitor, caller.confirm_via, mode = ask, "terminal", "elicit"

    with _sandbox(args) as app:
        service, _, _ = build(args, options, sandbox_app=app, confirm_mode=mode)

        async def run():
            try:
                return await service.call(spec.name, arguments, caller)
            finally:
                await service.api.aclose()
                service.audit.close()

        result = anyio.run(run)
    if result.data is not None and not result.is_error:
        print(render(result.data, args.format, sys.stdout.isatty()))
        print(result.text.split("\n", 1)[0], file=sys.stderr)
    else:
        print(result.text, file=sys.stderr if result.is_error else sys.stdout)
    return 1 if result.is_error else 0


@contextlib.contextmanager
def _sandbox(args: Any):
    """With --sandbox, the saved demo account (locked while this call runs); else nothing."""
    if not args.sandbox:
        yield None
        return
    from ..app import SANDBOX_TOKEN
    from ..sandbox.saved import session
    from .sandbox_state import path

    with session(path(), token=SANDBOX_TOKEN) as app:
        yield app
