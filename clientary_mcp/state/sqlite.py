"""The embedded state store: one SQLite file in the state folder, shared by every process on the machine.

WAL mode so readers never wait for writers; every method is one `BEGIN IMMEDIATE` transaction, so two
processes (or two threads) claiming the same key are serialised by SQLite's write lock and exactly one
wins. A transaction runs on the event loop only when it cannot wait (the write lock is free, asked with
no busy timeout: tens of microseconds, cheaper than a thread hop); anything that may wait - the lock
held elsewhere, the first open, a checkpoint's fsync - runs in a worker thread. Times are wall-clock
seconds (`time.time`), the one clock all processes share.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import anyio.to_thread

from .dirs import ensure_private_dir
from .store import StoreUnavailable

T = TypeVar("T")
FILE_NAME = "state.sqlite3"
BUSY_TIMEOUT_MS = 5000
CHECKPOINT_EVERY = 256  # commits between checkpoints (done in a worker thread, never in a commit on the loop)
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS claims (key TEXT PRIMARY KEY, expires REAL NOT NULL)",
    "CREATE INDEX IF NOT EXISTS claims_expiry ON claims (expires)",
    "CREATE TABLE IF NOT EXISTS buckets (bucket TEXT PRIMARY KEY, tokens REAL NOT NULL, at REAL NOT NULL)",
    ("CREATE TABLE IF NOT EXISTS members (grp TEXT NOT NULL, member TEXT NOT NULL, expires REAL NOT NULL, "
     "PRIMARY KEY (grp, member))"),
)


class _Busy:
    """A lock was held: the transaction must wait, in a worker thread."""


BUSY = _Busy()


class SqliteStore:
    """The `StateStore` on a SQLite file (created 0600 in a 0700 folder on first use)."""

    name = "sqlite"

    def __init__(self, path: str | Path, *, clock: Callable[[], float] = time.time):
        self.path = Path(path)
        self.clock = clock
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()  # one connection, used by one thread at a time
        self._claims = 0
        self._commits = 0

    def __repr__(self) -> str:
        return f"SqliteStore({str(self.path)!r})"

    # -- plumbing ---------------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        ensure_private_dir(self.path.parent)
        # Create the file 0600 before SQLite does (it would use the umask); -wal/-shm copy its mode.
        os.close(os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600))
        conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                               check_same_thread=False)
        try:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            _enter_wal(conn)
            conn.execute("PRAGMA synchronous = NORMAL")  # WAL + NORMAL: durable across process crashes
            conn.execute("PRAGMA wal_autocheckpoint = 0")  # a commit on the loop must not fsync: see _call
            conn.execute("BEGIN IMMEDIATE")
            for statement in _SCHEMA:
                conn.execute(statement)
            conn.execute("COMMIT")
            # What earlier processes left in the WAL (each checkpoints only every CHECKPOINT_EVERY of its
            # own commits, and a short-lived one may make fewer): opening runs in a worker thread anyway.
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
        except BaseException:
            conn.close()
            raise
        return conn

    def _run(self, job: Callable[[sqlite3.Connection], T], wait: bool = True) -> T | _Busy:
        """The job in one transaction; with `wait=False`, `BUSY` instead of waiting for any lock."""
        if not self._lock.acquire(blocking=wait):
            return BUSY
        try:
            if self._conn is None:
                if not wait:
                    return BUSY  # opening may wait (schema, the switch to WAL)
                self._conn = self._connect()
            conn = self._conn
            if not wait:
                conn.execute("PRAGMA busy_timeout = 0")
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                if not wait and _is_busy(exc):
                    return BUSY
                raise
            finally:
                if not wait:
                    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            try:
                result = job(conn)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
            self._commits += 1
            return result
        except (sqlite3.Error, OSError) as exc:
            if self._conn is not None:  # start afresh next time (the file may have been replaced)
                self._conn.close()
                self._conn = None
            raise StoreUnavailable(f"the state store {self.path} did not answer ({_reason(exc)})") from None
        finally:
            self._lock.release()

    def _checkpoint(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)")  # never waits for readers or writers

    async def _call(self, job: Callable[[sqlite3.Connection], T]) -> T:
        result = self._run(job, wait=False)
        if isinstance(result, _Busy):
            result = await anyio.to_thread.run_sync(self._run, job)
            assert not isinstance(result, _Busy)
        if self._commits >= CHECKPOINT_EVERY:
            self._commits = 0
            try:
                await anyio.to_thread.run_sync(self._checkpoint)
            except sqlite3.Error:
                pass  # the next one catches up; the data is in the WAL either way
        return result

    # -- the StateStore methods ------------------------------------------------------------------

    async def claim(self, key: str, ttl: float) -> bool:
        now = self.clock()
        self._claims += 1
        sweep = self._claims % 200 == 0

        def job(conn: sqlite3.Connection) -> bool:
            if sweep:
                conn.execute("DELETE FROM claims WHERE expires < ?", (now,))
            conn.execute("DELETE FROM claims WHERE key = ? AND expires < ?", (key, now))
            cur = conn.execute("INSERT OR IGNORE INTO claims (key, expires) VALUES (?, ?)", (key, now + ttl))
            return cur.rowcount == 1

        return await self._call(job)

    async def take(self, bucket: str, rate: float, burst: int) -> float:
        now = self.clock()

        def job(conn: sqlite3.Connection) -> float:
            row = conn.execute("SELECT tokens, at FROM buckets WHERE bucket = ?", (bucket,)).fetchone()
            tokens = float(burst) if row is None else min(float(burst), row[0] + max(0.0, now - row[1]) * rate)
            if tokens < 1.0:
                return (1.0 - tokens) / rate if rate > 0 else float("inf")
            conn.execute("INSERT OR REPLACE INTO buckets (bucket, tokens, at) VALUES (?, ?, ?)",
                         (bucket, tokens - 1.0, now))
            return 0.0

        return await self._call(job)

    async def enter(self, group: str, member: str, limit: int, ttl: float) -> bool:
        now = self.clock()

        def job(conn: sqlite3.Connection) -> bool:
            conn.execute("DELETE FROM members WHERE grp = ? AND expires < ?", (group, now))
            present = conn.execute("SELECT 1 FROM members WHERE grp = ? AND member = ?", (group, member)).fetchone()
            if present is None:
                (count,) = conn.execute("SELECT COUNT(*) FROM members WHERE grp = ?", (group,)).fetchone()
                if count >= limit:
                    return False
            conn.execute("INSERT OR REPLACE INTO members (grp, member, expires) VALUES (?, ?, ?)",
                         (group, member, now + ttl))
            return True

        return await self._call(job)

    async def leave(self, group: str, member: str) -> None:
        await self._call(lambda conn: conn.execute("DELETE FROM members WHERE grp = ? AND member = ?",
                                                   (group, member)))

    async def check(self) -> None:
        await self._call(lambda conn: conn.execute("SELECT 1").fetchone())

    async def aclose(self) -> None:
        def close() -> None:
            with self._lock:
                if self._conn is not None:
                    self._conn.close()
                    self._conn = None

        await anyio.to_thread.run_sync(close)


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    return "locked" in str(exc) or "busy" in str(exc)


def _enter_wal(conn: sqlite3.Connection) -> None:
    """Switch the file to WAL, waiting out other first openers.

    SQLite answers "database is locked" at once, without its busy handler, when two connections change
    the journal mode of a new file together; so this waits as the busy timeout would.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    pause = 0.001
    while True:
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if not _is_busy(exc) or time.monotonic() >= deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.05)


def _reason(exc: BaseException) -> Any:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__
