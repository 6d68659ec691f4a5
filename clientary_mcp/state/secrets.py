"""Secrets that must be the same for every process on one machine, kept in the state folder.

Each is taken from its environment variable when set (deployments with several replicas set it on all of
them); otherwise generated once into `<state folder>/<name>` (0600). The file is written completely under a
temporary name and then hard-linked into place, which fails if the name exists: two processes starting at
the same moment therefore agree on the one that won.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from .dirs import ensure_private_dir, state_dir


@dataclass(frozen=True)
class Secret:
    value: bytes
    source: str  # the variable's name, the file's path, or "this process only"

    def __repr__(self) -> str:  # never the value
        return f"Secret(source={self.source!r})"


def persisted_secret(name: str, env_var: str, env: Mapping[str, str] | None = None,
                     folder: Path | None = None) -> Secret:
    """The secret from `env_var`, else from (or generated into) the state folder's file `name`.

    Raises OSError when the folder cannot be read or written; callers decide whether to go on.
    """
    env = os.environ if env is None else env
    given = env.get(env_var, "")
    if given:
        return Secret(given.encode(), env_var)
    path = (folder or state_dir(dict(env))) / name
    existing = _read(path)
    if existing:
        return Secret(existing, str(path))
    ensure_private_dir(path.parent)
    tmp = path.with_name(f".{name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(secrets.token_hex(32).encode())
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass  # another process won the race: use its secret
    finally:
        tmp.unlink(missing_ok=True)
    value = _read(path)
    if not value:
        raise OSError(f"{path} is empty")
    return Secret(value, str(path))


def read_secret(name: str, env_var: str, env: Mapping[str, str] | None = None) -> Secret | None:
    """The secret if it exists (the variable, or the state folder's file); never creates one."""
    env = os.environ if env is None else env
    if env.get(env_var):
        return Secret(env[env_var].encode(), env_var)
    path = state_dir(dict(env)) / name
    value = _read(path)
    return Secret(value, str(path)) if value else None


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes().strip() or None
    except FileNotFoundError:
        return None
