"""Server options (policy, confirmation, audit) from flags and environment, validated once at start.

Account settings (domain, token, timeouts) live in config.py; this module covers what the MCP server
itself does with calls. Flags win over environment variables.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .config import ConfigError
from .safety.policy import Policy, PolicyError
from .tools import BY_NAME

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


@dataclass(frozen=True)
class ServerOptions:
    policy: Policy
    audit_log: str  # a path, or "-" for stderr
    confirm_mode: str = "token"
    confirm_ttl: float = 300.0
    confirm_secret: bytes = field(default=b"", repr=False)  # never in a repr or a log line
    secret_is_configured: bool = False
    unconfirmed: frozenset[str] = frozenset()
    catalog: str = "full"  # or "compact": three meta-tools instead of the whole listing


def _flag(env: Mapping[str, str], name: str) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ConfigError(f"{name} must be true or false (got {raw[:20]!r})")


def load_options(args: Any = None, env: Mapping[str, str] | None = None) -> ServerOptions:
    env = os.environ if env is None else env

    def pick(attr: str, var: str) -> str | None:
        value = getattr(args, attr, None) if args is not None else None
        return value if value is not None else env.get(var)

    read_only = bool(getattr(args, "read_only", False)) or _flag(env, "CLIENTARY_READ_ONLY")
    try:
        policy = Policy.build(
            read_only=read_only,
            toolsets=pick("toolsets", "CLIENTARY_MCP_TOOLSETS"),
            include=pick("include", "CLIENTARY_MCP_INCLUDE"),
            exclude=pick("exclude", "CLIENTARY_MCP_EXCLUDE"),
            labels={"toolsets": "--toolsets / CLIENTARY_MCP_TOOLSETS", "include": "--include / CLIENTARY_MCP_INCLUDE",
                    "exclude": "--exclude / CLIENTARY_MCP_EXCLUDE"},
        )
    except PolicyError as exc:
        raise ConfigError(str(exc)) from None

    mode = (pick("confirm_mode", "CLIENTARY_MCP_CONFIRM_MODE") or "token").strip().lower()
    if mode not in ("token", "elicit"):
        raise ConfigError(f"CLIENTARY_MCP_CONFIRM_MODE / --confirm-mode must be token or elicit (got {mode[:20]!r})")

    catalog = (pick("catalog", "CLIENTARY_MCP_CATALOG") or "full").strip().lower()
    if catalog not in ("full", "compact"):
        raise ConfigError(f"CLIENTARY_MCP_CATALOG / --catalog must be full or compact (got {catalog[:20]!r})")

    raw_ttl = env.get("CLIENTARY_MCP_CONFIRM_TTL", "300")
    try:
        ttl = float(raw_ttl)
    except ValueError:
        ttl = -1
    if not 10 <= ttl <= 3600:
        raise ConfigError("CLIENTARY_MCP_CONFIRM_TTL must be a number of seconds from 10 to 3600")

    secret = env.get("CLIENTARY_MCP_CONFIRM_SECRET", "")
    if secret and len(secret) < 32:
        raise ConfigError("CLIENTARY_MCP_CONFIRM_SECRET must be at least 32 characters "
                          "(generate one with: python -c 'import secrets; print(secrets.token_urlsafe(32))')")

    raw_unconfirmed = pick("no_confirm", "CLIENTARY_MCP_NO_CONFIRM") or ""
    unconfirmed = frozenset(n.strip() for n in raw_unconfirmed.split(",") if n.strip())
    for name in sorted(unconfirmed):
        spec = BY_NAME.get(name)
        if spec is None or spec.kind != "gated":
            gated = ", ".join(s for s, v in BY_NAME.items() if v.kind == "gated")
            raise ConfigError(f"CLIENTARY_MCP_NO_CONFIRM / --no-confirm: {name[:60]!r} is not a gated tool; "
                              f"gated tools are: {gated}")

    audit = pick("audit_log", "CLIENTARY_MCP_AUDIT_LOG")
    if not audit:
        from .safety.audit import default_path

        audit = str(default_path())
    return ServerOptions(
        policy=policy,
        audit_log=audit,
        confirm_mode=mode,
        confirm_ttl=ttl,
        confirm_secret=secret.encode() if secret else secrets.token_bytes(32),
        secret_is_configured=bool(secret),
        unconfirmed=unconfirmed,
        catalog=catalog,
    )
