"""State shared by every process and replica: the state folder, persisted secrets, and the state store."""

from __future__ import annotations

import os
from collections.abc import Mapping

from .dirs import state_dir
from .store import StateStore, StoreUnavailable

REDIS_ENV = "CLIENTARY_MCP_REDIS_URL"


def open_store(env: Mapping[str, str] | None = None) -> StateStore:
    """The one place that picks the store: Redis when `CLIENTARY_MCP_REDIS_URL` is set, else the embedded one."""
    env = os.environ if env is None else env
    url = (env.get(REDIS_ENV) or "").strip()
    if url:
        from ..config import ConfigError

        if not url.startswith(("redis://", "rediss://", "unix://")):
            raise ConfigError(f"{REDIS_ENV} must be a redis://, rediss:// or unix:// URL, e.g. redis://redis:6379/0")
        from .redis import RedisStore

        return RedisStore(url)
    from .memory import MemoryStore

    return MemoryStore()


__all__ = ["REDIS_ENV", "StateStore", "StoreUnavailable", "open_store", "state_dir"]
