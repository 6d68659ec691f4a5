"""Fault injection settings and the dice that decide which request misbehaves."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass
class Faults:
    """What can go wrong, as shares of requests (0.0–1.0). All off by default.

    The object is read on every request, so changing an attribute while the sandbox
    runs takes effect on the next request.
    """

    latency: float = 0.0
    latency_spike_rate: float = 0.0
    latency_spike: float = 0.0
    rate_429: float = 0.0
    retry_after: float = 1.0
    rate_5xx_reads: float = 0.0
    rate_5xx_writes: float = 0.0
    plan_limit_after: int | None = None
    drop_rate: float = 0.0
    # Updates (PUT/PATCH) answer 204 with no body after applying the change, as reported for tasks.
    empty_update_bodies: bool = False
    # Writes matching one of these "METHOD /path-prefix" patterns fail (answered `fail_status`, not applied) once
    # `fail_after` matching writes went through: a failure in the middle of a multi-request job.
    fail_writes: tuple[str, ...] = ()
    fail_after: int = 0
    fail_status: int = 503
    seed: int | None = None


class Dice:
    """A random source that follows `Faults.seed`, re-seeding when the seed changes.

    `salt` keeps the app's and the transport's sequences independent of each other.
    """

    def __init__(self, salt: str) -> None:
        self._salt = salt
        self._seed: int | None = None
        self._rng = random.Random()

    def _sync(self, faults: Faults) -> random.Random:
        if faults.seed is not None and faults.seed != self._seed:
            self._seed = faults.seed
            self._rng = random.Random(f"{self._salt}:{faults.seed}")
        return self._rng

    def roll(self, faults: Faults, share: float) -> bool:
        # Always draw, so a seeded sequence does not depend on which shares are zero.
        return self._sync(faults).random() < share

    def choice(self, faults: Faults, options: tuple[int, ...]) -> int:
        return self._sync(faults).choice(options)


def retry_after_header(seconds: float) -> str:
    return str(int(seconds)) if float(seconds).is_integer() else f"{seconds:g}"


def matches_failing_write(faults: Faults, method: str, path: str) -> bool:
    return any(method == m and path.startswith(prefix)
               for m, _, prefix in (pattern.partition(" ") for pattern in faults.fail_writes))
