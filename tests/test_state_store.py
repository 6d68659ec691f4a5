"""The embedded state store: atomic claims, token buckets and capped groups, shared by threads and processes."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time

import anyio
import pytest

from clientary_mcp.state import StoreUnavailable, open_store
from clientary_mcp.state.secrets import persisted_secret
from clientary_mcp.state.sqlite import SqliteStore
from support import ticking

pytestmark = pytest.mark.anyio


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


async def test_a_key_is_claimed_once_among_many_concurrent_callers(tmp_path):
    stores = [open_store(folder=tmp_path) for _ in range(4)]  # four connections, as four processes would hold
    wins: list[bool] = []

    async def one(i: int) -> None:
        wins.append(await stores[i % 4].claim("confirm:token:abc", 60))

    async with anyio.create_task_group() as tg:
        for i in range(40):
            tg.start_soon(one, i)
    assert wins.count(True) == 1 and len(wins) == 40
    assert await stores[0].claim("confirm:token:other", 60)
    for store in stores:
        await store.aclose()


async def test_the_first_open_waits_for_a_writer_instead_of_failing(tmp_path):
    # Another process writing to the new file (still in rollback mode) makes SQLite refuse the switch
    # to WAL at once, without its busy handler: the store must wait it out like any other lock.
    path = tmp_path / "state.sqlite3"
    writer = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    writer.execute("CREATE TABLE other (a)")
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("INSERT INTO other VALUES (1)")
    release = threading.Timer(0.3, writer.execute, ("COMMIT",))
    release.start()
    store = SqliteStore(path)
    try:
        assert await store.claim("confirm:token:abc", 60)
        assert not await store.claim("confirm:token:abc", 60)
    finally:
        release.join()
        writer.close()
        await store.aclose()


async def test_a_claim_waiting_for_another_processs_write_lock_does_not_stall_the_event_loop(tmp_path):
    path = tmp_path / "state.sqlite3"
    store = SqliteStore(path)
    assert await store.claim("first", 60)  # opened and in WAL: later claims may run on the loop
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")  # another process in the middle of its write
    release = threading.Timer(0.3, other.execute, ("COMMIT",))  # from a thread: a stalled loop could not
    started = time.monotonic()
    release.start()
    try:
        won, ticks = await ticking(store.claim("second", 60))
    finally:
        release.join()
        other.close()
    assert won and time.monotonic() - started >= 0.29  # it waited for the lock ...
    assert ticks >= 10  # ... while the loop went on running
    assert not await store.claim("second", 60)
    await store.aclose()


async def test_claims_survive_the_checkpoints_that_keep_the_wal_small(tmp_path):
    from clientary_mcp.state import sqlite as sqlite_store

    store = SqliteStore(tmp_path / "state.sqlite3")
    wal = tmp_path / "state.sqlite3-wal"
    every = sqlite_store.CHECKPOINT_EVERY
    won = [await store.claim(f"k{i}", 60) for i in range(2 * every)]
    settled = wal.stat().st_size
    won += [await store.claim(f"k{i}", 60) for i in range(2 * every, 6 * every)]
    assert all(won) and not any([await store.claim(f"k{i}", 60) for i in range(0, len(won), 37)])
    assert wal.stat().st_size <= settled * 1.5  # checkpointed and reused (it would triple without checkpoints)
    await store.aclose()
    reopened = SqliteStore(tmp_path / "state.sqlite3")
    assert not await reopened.claim("k5", 60) and await reopened.claim("new", 60)
    await reopened.aclose()


async def test_a_claim_lapses_after_its_ttl(tmp_path):
    clock = Clock()
    store = SqliteStore(tmp_path / "s.sqlite3", clock=clock)
    assert await store.claim("k", 10) and not await store.claim("k", 10)
    clock.now += 11
    assert await store.claim("k", 10)
    await store.aclose()


async def test_claims_are_atomic_across_processes(tmp_path):
    script = textwrap.dedent(f"""
        import anyio, sys
        from pathlib import Path
        from clientary_mcp.state import open_store
        async def main():
            store = open_store(folder=Path({str(tmp_path)!r}))
            won = [await store.claim(f"key-{{i}}", 60) for i in range(30)]
            print(sum(won))
        anyio.run(main)
    """)
    procs = [subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True) for _ in range(4)]
    totals = [int(p.communicate(timeout=60)[0]) for p in procs]
    assert sum(totals) == 30, totals  # every key won by exactly one of the four processes


async def test_token_bucket_takes_refills_and_says_how_long_to_wait(tmp_path):
    clock = Clock()
    store = SqliteStore(tmp_path / "s.sqlite3", clock=clock)
    assert [await store.take("p", 2.0, 3) for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = await store.take("p", 2.0, 3)
    assert wait == pytest.approx(0.5)
    clock.now += 0.5
    assert await store.take("p", 2.0, 3) == 0.0
    assert await store.take("other", 2.0, 3) == 0.0  # buckets are separate
    await store.aclose()


async def test_group_admits_up_to_its_limit_and_members_lapse(tmp_path):
    clock = Clock()
    store = SqliteStore(tmp_path / "s.sqlite3", clock=clock)
    assert await store.enter("g", "a", 2, 30) and await store.enter("g", "b", 2, 30)
    assert not await store.enter("g", "c", 2, 30)
    assert await store.enter("g", "a", 2, 30)  # a member refreshes itself
    await store.leave("g", "b")
    await store.leave("g", "nobody")
    assert await store.enter("g", "c", 2, 30)
    clock.now += 31  # a crashed process's members expire
    assert await store.enter("g", "d", 2, 30) and await store.enter("g", "e", 2, 30)
    await store.check()
    await store.aclose()


async def test_the_file_is_private_and_a_broken_store_says_so(tmp_path):
    store = open_store(folder=tmp_path / "state")
    await store.check()
    assert (tmp_path / "state" / "state.sqlite3").stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "state").stat().st_mode & 0o777 == 0o700
    await store.aclose()

    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    broken = open_store(folder=blocked / "state")
    with pytest.raises(StoreUnavailable) as info:
        await broken.claim("k", 1)
    assert "state store" in str(info.value) and str(blocked) in str(info.value)
    with pytest.raises(StoreUnavailable):
        await broken.check()


def test_processes_starting_together_agree_on_one_generated_secret(tmp_path):
    script = ("import sys; from pathlib import Path; from clientary_mcp.state.secrets import persisted_secret; "
              f"print(persisted_secret('confirm.key', 'UNSET_VAR_X', {{}}, Path({str(tmp_path)!r})).value.decode())")
    procs = [subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True) for _ in range(6)]
    values = {p.communicate(timeout=60)[0].strip() for p in procs}
    assert len(values) == 1 and len(values.pop()) == 64
    assert (tmp_path / "confirm.key").stat().st_mode & 0o777 == 0o600
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]
    secret = persisted_secret("confirm.key", "UNSET_VAR_X", {}, tmp_path)
    assert secret.value.decode() not in repr(secret)


async def test_short_lived_processes_do_not_grow_the_wal_without_bound(tmp_path):
    # Each process (a stdio server per host session) may make fewer commits than a checkpoint waits for.
    path = tmp_path / "state.sqlite3"
    sizes = []
    for run in range(12):
        store = SqliteStore(path)
        for i in range(40):
            assert await store.claim(f"run{run}-{i}", 60)
        sizes.append((tmp_path / "state.sqlite3-wal").stat().st_size)
        del store  # the process ends without closing its store
    assert max(sizes[6:]) <= max(sizes[:6]) * 1.5, sizes  # it would grow twelvefold without the checkpoint on open
