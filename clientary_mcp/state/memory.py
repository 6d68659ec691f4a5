"""A state store inside one process: the fallback for caps when the shared store is down, and for tests.

Nothing here is shared with another process; single use and limits hold only within this one.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class MemoryStore:
    name = "memory"

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._claims: dict[str, float] = {}
        self._buckets: dict[str, tuple[float, float]] = {}  # bucket -> (tokens, at)
        self._groups: dict[str, dict[str, float]] = {}  # group -> member -> lapses at

    # Every method runs without an await in between, so each is atomic within the event loop.

    async def claim(self, key: str, ttl: float) -> bool:
        now = self.clock()
        if len(self._claims) > 4096:
            self._claims = {k: t for k, t in self._claims.items() if t > now}
        if self._claims.get(key, 0.0) > now:
            return False
        self._claims[key] = now + ttl
        return True

    async def take(self, bucket: str, rate: float, burst: int) -> float:
        now = self.clock()
        tokens, at = self._buckets.get(bucket, (float(burst), now))
        tokens = min(float(burst), tokens + max(0.0, now - at) * rate)
        wait = 0.0
        if tokens >= 1.0:
            tokens -= 1.0
        else:
            wait = (1.0 - tokens) / rate
        self._buckets[bucket] = (tokens, now)
        return wait

    async def enter(self, group: str, member: str, limit: int, ttl: float) -> bool:
        now = self.clock()
        members = self._groups.setdefault(group, {})
        for lapsed in [m for m, t in members.items() if t <= now]:
            del members[lapsed]
        if member not in members and len(members) >= limit:
            return False
        members[member] = now + ttl
        return True

    async def leave(self, group: str, member: str) -> None:
        members = self._groups.get(group)
        if members is not None:
            members.pop(member, None)
            if not members:
                del self._groups[group]

    async def count(self, group: str) -> int:
        now = self.clock()
        return sum(1 for t in self._groups.get(group, {}).values() if t > now)

    async def check(self) -> None:
        return None

    async def aclose(self) -> None:
        return None


__all__ = ["MemoryStore"]
