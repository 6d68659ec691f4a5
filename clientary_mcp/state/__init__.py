"""State shared by every process and replica: the state folder, persisted secrets, and the state store."""

from .dirs import state_dir
from .store import StateStore, StoreUnavailable

__all__ = ["StateStore", "StoreUnavailable", "state_dir"]
