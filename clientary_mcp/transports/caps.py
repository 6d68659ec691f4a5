"""Per-principal caps of the network server: open sessions, open streams and requests in flight.

Sessions and streams are counted in the state store as capped groups (`enter`/`leave`), so replicas
that share a store share those caps. Members lapse `TTL` seconds after their last refresh, so a replica
that dies cannot hold a principal's places for ever; the members this process holds are refreshed every
`REFRESH` seconds. If the store cannot answer, the count falls back to this process alone: a cap still
holds per replica and nobody is locked out because the store is down. Requests in flight are counted
by each process alone: they last milliseconds, and counting them in the store would cost every call
two more round trips to it (they bound what one process works on at once, which is per process anyway).
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass

import anyio

from ..state import StateStore, StoreUnavailable
from ..state.memory import MemoryStore

log = logging.getLogger("clientary_mcp.transports.web")

TTL = 120.0
REFRESH = 30.0


@dataclass(frozen=True)
class Caps:
    sessions: int = 32  # open Streamable HTTP sessions
    streams: int = 16  # open SSE streams (GET /mcp, GET /sse)
    calls: int = 64  # requests carrying calls in flight (POST)
    session_idle: float = 300.0  # seconds without a request before a session is closed


LOCAL_KINDS = frozenset({"calls"})  # counted per process, never in the shared store
# kind -> (what it counts, the setting that raises it, seconds a client should wait)
KINDS = {
    "sessions": ("open sessions", "--max-sessions / CLIENTARY_MCP_MAX_SESSIONS", 30),
    "streams": ("open SSE streams", "--max-streams / CLIENTARY_MCP_MAX_STREAMS", 10),
    "calls": ("requests in flight", "--max-calls / CLIENTARY_MCP_MAX_CALLS", 1),
}


class CapFull(Exception):
    def __init__(self, kind: str, principal: str, limit: int):
        what, setting, self.retry_after = KINDS[kind]
        super().__init__(f"Principal '{principal}' already has {limit} {what}, the most allowed ({setting}); "
                         f"nothing was done. Close one or retry in {self.retry_after} s.")


class Limiter:
    """Takes and gives back places in the per-principal groups, on the shared store or locally."""

    def __init__(self, store: StateStore, caps: Caps):
        self.store = store
        self.caps = caps
        self.local = MemoryStore()
        self.held: dict[tuple[str, str], tuple[StateStore, int]] = {}  # (group, member) -> (where, limit)
        self._warned = False

    async def enter(self, kind: str, principal: str, member: str | None = None) -> str:
        """A place for `member` (a new one if None) in `kind` of `principal`; raises CapFull when full."""
        limit: int = getattr(self.caps, kind)
        group, member = f"{kind}:{principal}", member or secrets.token_hex(8)
        where: StateStore = self.local if kind in LOCAL_KINDS else self.store
        try:
            ok = await where.enter(group, member, limit, TTL)
        except StoreUnavailable as exc:
            if not self._warned:
                log.warning("%s; counting %s per process until it answers again", exc, kind)
                self._warned = True
            where = self.local
            ok = await self.local.enter(group, member, limit, TTL)
        if not ok:
            raise CapFull(kind, principal, limit)
        self._warned = self._warned and where is self.local
        self.held[(group, member)] = (where, limit)
        return member

    async def leave(self, kind: str, principal: str, member: str) -> None:
        group = f"{kind}:{principal}"
        held = self.held.pop((group, member), None)
        if held is None:
            return
        try:
            with anyio.CancelScope(shield=True):
                await held[0].leave(group, member)
        except StoreUnavailable:
            pass  # the member lapses on its own after TTL

    async def refresh_forever(self) -> None:
        while True:
            await anyio.sleep(REFRESH)
            for (group, member), (where, limit) in list(self.held.items()):
                try:
                    await where.enter(group, member, limit, TTL)
                except StoreUnavailable:
                    break


__all__ = ["CapFull", "Caps", "KINDS", "Limiter", "REFRESH", "TTL"]
