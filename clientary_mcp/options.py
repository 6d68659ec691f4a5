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
    secret_source: str = "this process only"  # the variable, or the state folder's file
    audit_key: bytes = field(default=b"", repr=False)
    audit_max_bytes: int = 0  # 0: no rotation
    state_dir: str = ""  # where the state store (and generated secrets) live


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

    audit_key = env.get("CLIENTARY_MCP_AUDIT_KEY", "")
    if audit_key and len(audit_key) < 32:
        raise ConfigError("CLIENTARY_MCP_AUDIT_KEY must be at least 32 characters "
                          "(generate one with: python -c 'import secrets; print(secrets.token_urlsafe(32))')")
    raw_max = (env.get("CLIENTARY_MCP_AUDIT_MAX_BYTES") or "0").strip()
    if not raw_max.isdigit() or 0 < int(raw_max) < 4096:
        raise ConfigError("CLIENTARY_MCP_AUDIT_MAX_BYTES must be a whole number of bytes, at least 4096, "
                          f"or 0 for no rotation (got {raw_max[:20]!r})")

    from .safety.audit import KEY_ENV, KEY_FILE
    from .safety.confirm import SECRET_FILE
    from .state import state_dir
    from .state.secrets import Secret, persisted_secret

    folder = state_dir(dict(env))
    audit = pick("audit_log", "CLIENTARY_MCP_AUDIT_LOG")
    if not audit:
        audit = str(folder / "audit.jsonl")

    def kept(name: str, var: str) -> Secret:
        # Generated once into the state folder so every process on this machine agrees; a folder that
        # cannot be written leaves a secret of this process only (tokens then work in this process only).
        try:
            return persisted_secret(name, var, env, folder)
        except OSError:
            return Secret(secrets.token_hex(32).encode(), "this process only")

    confirm = kept(SECRET_FILE, "CLIENTARY_MCP_CONFIRM_SECRET")
    return ServerOptions(
        policy=policy,
        audit_log=audit,
        confirm_mode=mode,
        confirm_ttl=ttl,
        confirm_secret=confirm.value,
        secret_is_configured=bool(secret),
        unconfirmed=unconfirmed,
        catalog=catalog,
        secret_source=confirm.source,
        audit_key=kept(KEY_FILE, KEY_ENV).value,
        audit_max_bytes=int(raw_max),
        state_dir=str(folder),
    )
