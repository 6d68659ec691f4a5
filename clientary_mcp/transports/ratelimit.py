"""What the network server puts in front of each principal's ToolService.

`RateLimit` is a per-principal token bucket kept in the state store (so replicas sharing a store share
the bucket); `Gate` counts calls in flight so a shutdown can wait for them; `GuardedService` applies both
and makes sure every call leaves exactly one audit record — also one refused here (rate limit, store
unreachable, shutting down) or cut off by cancellation, which ToolService never sees or cannot finish.
"""

from __future__ import annotations

import logging
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import anyio

from ..config import ConfigError
from ..service import Caller, ToolResult, ToolService
from ..state import StateStore, StoreUnavailable
from ..tools import BY_NAME

_PERIODS = {unit: seconds for seconds, units in ((1.0, "s sec secs second seconds"),
                                                 (60.0, "m min mins minute minutes"),
                                                 (3600.0, "h hr hour hours")) for unit in units.split()}
_SPEC = re.compile(r"^(\d+)\s*/\s*([a-z]+)$")
_PERIOD_WORD = {1.0: "second", 60.0: "minute", 3600.0: "hour"}
log = logging.getLogger("clientary_mcp.transports.web")


@dataclass(frozen=True)
class RateLimit:
    calls: int
    period: float  # seconds

    @classmethod
    def parse(cls, text: str | None, label: str = "CLIENTARY_MCP_RATE_LIMIT") -> RateLimit | None:
        """`60/min`, `5/s`, `1000/hour`; empty, `off` or `0` means no limit."""
        raw = (text or "").strip().lower()
        if raw in ("", "off", "none", "0"):
            return None
        match = _SPEC.match(raw)
        unit = match.group(2) if match else ""
        if not match or unit not in _PERIODS or int(match.group(1)) < 1:
            raise ConfigError(f"{label} must look like 60/min, 5/s or 1000/hour, or be off (got {raw[:30]!r})")
        return cls(int(match.group(1)), _PERIODS[unit])

    def describe(self) -> str:
        return f"{self.calls} tool calls per {_PERIOD_WORD[self.period]}"

    @property
    def rate(self) -> float:
        """Tokens per second: the bucket holds `calls` and refills evenly over `period`."""
        return self.calls / self.period


class Gate:
    """Counts tool calls and MCP requests in flight; once closed, new calls are refused so a shutdown can drain.

    Requests are counted besides calls because a call's answer is still on its way to the client after
    ToolService returns; the server stops only once both are zero (and have stayed so for a moment).
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.calls = 0
        self.requests = 0
        self.closing = False
        self.clock = clock
        self.idle_since = clock()
        self._idle = anyio.Event()
        self._idle.set()

    @property
    def busy(self) -> int:
        return self.calls + self.requests

    def enter(self, kind: str = "calls") -> None:
        setattr(self, kind, getattr(self, kind) + 1)
        if self.busy == 1:
            self._idle = anyio.Event()

    def leave(self, kind: str = "calls") -> None:
        setattr(self, kind, getattr(self, kind) - 1)
        if self.busy == 0:
            self.idle_since = self.clock()
            self._idle.set()

    def quiet_for(self) -> float:
        """Seconds since the last call or request ended (0 while any is running)."""
        return 0.0 if self.busy else self.clock() - self.idle_since

    async def wait_idle(self, timeout: float) -> bool:
        with anyio.move_on_after(timeout):
            await self._idle.wait()
        return self.busy == 0


class GuardedService:
    """A ToolService as seen by one principal of the network server (same `tools`, `call`, `audit`, `api`).

    `store` holds the principal's bucket (key `rate:<principal>`). It must answer for a rate-limited call
    and for a gated tool (whose single use it keeps); if it cannot, those calls are refused with a clear
    error and nothing is done. Reads and writes of a principal without a rate limit do not touch it.
    """

    def __init__(self, service: ToolService, gate: Gate, limit: RateLimit | None = None,
                 store: StateStore | None = None):
        from ..state.memory import MemoryStore

        self.service = service
        self.gate = gate
        self.limit = limit
        self.store: StateStore = store if store is not None else MemoryStore()

    @property
    def tools(self) -> Any:
        return self.service.tools

    @property
    def audit(self) -> Any:
        return self.service.audit

    @property
    def api(self) -> Any:
        return self.service.api

    @property
    def policy(self) -> Any:
        return self.service.policy

    async def call(self, name: str, arguments: Any, caller: Caller, **kwargs: Any) -> ToolResult:
        started = time.perf_counter()
        if self.gate.closing:
            message = ("The server is shutting down and takes no new calls; nothing was done. "
                       "Call again in a few seconds (another replica, or this one after its restart, will answer).")
            return self._refuse(name, arguments, caller, started, "shutting_down", message, {"retry_after_seconds": 5})
        spec = BY_NAME.get(name) if isinstance(name, str) else None
        try:
            if self.limit is not None:
                wait = await self.store.take(f"rate:{caller.principal}", self.limit.rate, self.limit.calls)
                if wait > 0:
                    seconds = max(1, math.ceil(wait))
                    message = (f"Rate limit reached: principal '{caller.principal}' may make {self.limit.describe()}. "
                               f"Nothing was done; retry in {seconds} s.")
                    return self._refuse(name, arguments, caller, started, "rate_limited", message,
                                        {"retry_after_seconds": seconds})
            if spec is not None and spec.kind == "gated":
                await self.store.check()
        except StoreUnavailable as exc:
            log.warning("refused %s of principal '%s': %s", name if spec else "a call", caller.principal, exc)
            why = "its rate limit" if self.limit is not None else "the single use of its confirmation"
            message = (f"Refused: {exc}, and this call depends on it ({why}). Nothing was done; retry in a "
                       "few seconds. Reads of principals without a rate limit still work; /readyz shows the state.")
            return self._refuse(name, arguments, caller, started, "store_unavailable", message,
                                {"retry_after_seconds": 5})
        self.gate.enter()
        try:
            return await self.service.call(name, arguments, caller, **kwargs)
        finally:
            self.gate.leave()

    def _refuse(self, name: str, arguments: Any, caller: Caller, started: float, kind: str, message: str,
                extra: dict[str, Any]) -> ToolResult:
        self.service.record_refusal(name, arguments, caller, kind, started)
        return ToolResult.failure(message, kind, **extra)
