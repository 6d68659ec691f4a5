"""State shared by every process and replica: the state folder, persisted secrets, and the state store."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from .dirs import ensure_private_dir, state_dir
from .store import StateStore, StoreUnavailable


def open_store(env: Mapping[str, str] | None = None, *, folder: Path | None = None) -> StateStore:
    """The state store for this configuration: the embedded SQLite file in the state folder.

    Nothing is opened until the first call, so a folder that cannot be written only affects the calls
    that need the store (they fail closed), not start-up.
    """
    from .sqlite import FILE_NAME, SqliteStore

    env = os.environ if env is None else env
    return SqliteStore((folder or state_dir(dict(env))) / FILE_NAME)


__all__ = ["StateStore", "StoreUnavailable", "ensure_private_dir", "open_store", "state_dir"]
