"""Record the HTTP exchanges made while handling one call, for the audit log.

The active recorders live in a context variable; tasks spawned inside a ``record()`` block copy the
context and therefore append to the same list objects.
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from typing import Iterator

Exchange = dict  # {"method", "path", "status", "ms", "attempt"}

_active: ContextVar[tuple[list[Exchange], ...]] = ContextVar("clientary_trace", default=())


@contextmanager
def record() -> Iterator[list[Exchange]]:
    """Collect every HTTP attempt made inside the block; nested blocks also feed the outer ones."""
    exchanges: list[Exchange] = []
    token = _active.set(_active.get() + (exchanges,))
    try:
        yield exchanges
    finally:
        _active.reset(token)


def add(method: str, path: str, status: int | None, ms: float, attempt: int) -> None:
    recorders = _active.get()
    if not recorders:
        return
    entry = {
        "method": method,
        "path": path.split("?", 1)[0],
        "status": status,
        "ms": round(ms, 1),
        "attempt": attempt,
    }
    for exchanges in recorders:
        exchanges.append(dict(entry))


__all__ = ["Exchange", "record", "add"]
