"""What several commands share: the service for the flags, and checks that fail in one line before start."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..config import ConfigError


def check_audit_log(path: str) -> None:
    """Fail now, in one line, if the audit log cannot be written (a missing or read-only folder, a volume)."""
    if path == "-":
        return
    target = Path(path).expanduser()
    fix = "set --audit-log / CLIENTARY_MCP_AUDIT_LOG to a writable file, or - for stderr"
    if target.is_dir():
        raise ConfigError(f"the audit log {target} is a folder, not a file: {fix}")
    try:
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.close(os.open(target, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600))  # the log is private to its owner
    except OSError as exc:
        denied = isinstance(exc, PermissionError) or exc.errno == 30  # EROFS
        who = f" (this process runs as uid {os.getuid()})" if denied and hasattr(os, "getuid") else ""
        raise ConfigError(f"cannot write the audit log {target}: {exc.strerror or exc}{who}; make its folder "
                          f"writable, or {fix}") from None


def options_for(args: Any) -> Any:
    """Server options for the flags, refusing a policy that leaves no tool at all."""
    from ..options import load_options

    options = load_options(args)
    policy = options.policy
    if policy.read_only and policy.include:
        from ..tools import BY_NAME

        writes = sorted(n for n in policy.include if BY_NAME[n].kind != "read")
        if writes:
            raise ConfigError(f"--include / CLIENTARY_MCP_INCLUDE names {', '.join(writes)}, which read-only mode "
                              "removes: drop --read-only / CLIENTARY_READ_ONLY, or drop them from the include list")
    if not policy.allowed():
        raise ConfigError(f"the policy enables no tools ({options.policy.describe()}): check --read-only, "
                          "--toolsets, --include and --exclude (and their CLIENTARY_* variables)")
    return options


def build(args: Any, options: Any = None, *, sandbox_app: Any = None, confirm_mode: str | None = None):
    """(service, options, sandbox) for the flags; raises ConfigError naming the variable or flag to fix."""
    from ..app import account_settings, build_service

    options = options or options_for(args)
    if confirm_mode is not None:
        options = replace(options, confirm_mode=confirm_mode)
    check_audit_log(options.audit_log)
    settings, sandbox = account_settings(bool(getattr(args, "sandbox", False)))
    return build_service(options, settings, sandbox=sandbox, sandbox_app=sandbox_app), options, sandbox


def count(n: int, noun: str, plural: str | None = None) -> str:
    return f"{n} {noun if n == 1 else plural or noun + 's'}"
