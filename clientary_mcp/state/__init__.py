"""State shared by every process and replica: the state folder, persisted secrets, and the state store."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from .dirs import ensure_private_dir, state_dir
from .store import StateStore, StoreUnavailable

REDIS_ENV = "CLIENTARY_MCP_REDIS_URL"


def open_store(env: Mapping[str, str] | None = None, *, folder: Path | None = None) -> StateStore:
    """The one place that picks the store: Redis when `CLIENTARY_MCP_REDIS_URL` is set (shared by replicas),
    else the embedded SQLite file in the state folder (shared by every process on this machine).

    Nothing is opened until the first call, so a store that cannot be reached only affects the calls that
    need it (they fail closed), not start-up.
    """
    env = os.environ if env is None else env
    url = (env.get(REDIS_ENV) or "").strip()
    if url:
        from ..config import ConfigError

        if not url.startswith(("redis://", "rediss://", "unix://")):
            raise ConfigError(f"{REDIS_ENV} must be a redis://, rediss:// or unix:// URL, e.g. redis://redis:6379/0")
        from .redis import RedisStore

        return RedisStore(url)
    from .sqlite import FILE_NAME, SqliteStore

    return SqliteStore((folder or state_dir(dict(env))) / FILE_NAME)


__all__ = ["REDIS_ENV", "StateStore", "StoreUnavailable", "ensure_private_dir", "open_store", "state_dir"]
