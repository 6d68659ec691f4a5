"""Log level for the command line: `--log-level`, else CLIENTARY_MCP_LOG_LEVEL, else warning."""

from __future__ import annotations

import logging
import os
import sys

from ..config import ConfigError

ENV = "CLIENTARY_MCP_LOG_LEVEL"
_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}


def level_name(flag: str | None = None) -> str:
    name = (flag or os.environ.get(ENV) or "warning").strip().lower()
    if name not in _LEVELS:
        raise ConfigError(f"{ENV} must be one of {', '.join(_LEVELS)} (got {name[:20]!r})")
    return name


def configure(flag: str | None) -> None:
    """Send our loggers to stderr at the chosen level (stdout may carry the protocol)."""
    if flag is None and not os.environ.get(ENV):
        return  # the defaults: warnings and errors (HTTP serving adds its own info lines)
    name = level_name(flag)
    ours = logging.getLogger("clientary_mcp")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s:     %(name)s: %(message)s"))
    ours.handlers[:] = [handler]
    ours.setLevel(_LEVELS[name])
    ours.propagate = False


def debugging() -> bool:
    try:
        return level_name(None) == "debug" or logging.getLogger("clientary_mcp").level == logging.DEBUG
    except ConfigError:
        return False
