"""The state store: the one interface behind single use, rate limits and caps, whatever backs it.

Implementations: an embedded SQLite file in the state folder (the default, shared by every process on one
machine) and Redis (`CLIENTARY_MCP_REDIS_URL`, shared by replicas). Every method is atomic across all the
processes that share the store. A store that cannot answer raises `StoreUnavailable`; callers fail closed
for anything that must happen at most once (gated tools) or be limited.
"""

from __future__ import annotations

from typing import Protocol


class StoreUnavailable(RuntimeError):
    """The store did not answer; the message says which store and why, never a secret."""


class StateStore(Protocol):
    name: str  # "sqlite" or "redis", for /readyz and errors

    async def claim(self, key: str, ttl: float) -> bool:
        """Record `key` as used for `ttl` seconds. True for exactly one caller; False if already claimed."""

    async def take(self, bucket: str, rate: float, burst: int) -> float:
        """Take one token from a token bucket (`rate` per second, up to `burst`).

        0.0 if taken; otherwise the seconds until one will be available (nothing is taken).
        """

    async def enter(self, group: str, member: str, limit: int, ttl: float) -> bool:
        """Add `member` to `group` if the group has fewer than `limit` live members (or refresh it if present).

        A member lapses `ttl` seconds after its last `enter`, so a crashed process's members expire.
        """

    async def leave(self, group: str, member: str) -> None:
        """Remove `member` from `group` (no error if absent)."""

    async def check(self) -> None:
        """Raise StoreUnavailable unless the store answers now (for /readyz)."""

    async def aclose(self) -> None:
        """Release connections and files."""
