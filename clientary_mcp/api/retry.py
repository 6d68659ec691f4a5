"""Backoff, Retry-After parsing and the shared pause that every request honours after a 429."""

from __future__ import annotations

import math
import random
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Awaitable, Callable

BASE_DELAY = 0.5
MAX_DELAY = 20.0


def backoff(attempt: int, rng: random.Random) -> float:
    """Full jitter: uniform in [0, min(cap, base * 2**(attempt-1))]."""
    return rng.uniform(0.0, min(MAX_DELAY, BASE_DELAY * 2 ** (attempt - 1)))


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP-date; None if unusable."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        seconds = (when - (now or datetime.now(timezone.utc))).total_seconds()
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)


class Gate:
    """A "not before" time shared by all requests of one client: a 429 pauses everyone, not one task."""

    def __init__(self, clock: Callable[[], float], sleep: Callable[[float], Awaitable[object]]) -> None:
        self._clock = clock
        self._sleep = sleep
        self.not_before = -math.inf

    def remaining(self) -> float:
        return max(0.0, self.not_before - self._clock())

    def hold(self, seconds: float) -> None:
        self.not_before = max(self.not_before, self._clock() + seconds)

    async def wait(self) -> None:
        # Sleep again only if the pause was extended meanwhile, so a fake sleep cannot spin forever.
        waited_for = None
        while self.not_before != waited_for:
            waited_for = self.not_before
            remaining = waited_for - self._clock()
            if remaining <= 0:
                return
            await self._sleep(remaining)


__all__ = ["backoff", "parse_retry_after", "Gate", "BASE_DELAY", "MAX_DELAY"]
