"""The audit log: JSON lines, one or two per tool call, in a keyed chain that any number of processes share.

Each record carries `seq`, the previous record's `hash` (`prev`) and its own `hash`: HMAC-SHA256 with the
audit key over the record without `hash`. Next to the log, `<log>.head` holds the last `seq` and `hash`,
sealed with the same key, so a removed tail or a recomputed chain shows (see `verify`).

Appends from every process are serialised by an exclusive lock on `<log>.lock`; under it the writer reads
the log's real tail (or the head, when the file is new after a rotation), writes one line, then updates
the head. A failed or short write is cut back, so the file never holds half a record. With
`max_bytes` the file is renamed to `<log>.N` before it would grow past the bound and the chain continues
in a fresh file; `verify` checks the whole set. A rename by another program (logrotate) is noticed on the
next append, which opens the new file (SIGHUP makes it close the old one at once).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import math
import os
import re
import signal
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

GENESIS = "0" * 64
_SECRET_KEYS = re.compile(r"token|secret|password|authorization|api_key|apikey|bearer|confirm", re.I)
MAX_TEXT = 200  # characters kept of any string value
MAX_KEY = 100  # characters kept of any key
MAX_ITEMS = 50  # entries kept of any list or object
MAX_DEPTH = 8
MAX_RECORD = 64 * 1024  # bytes of one line, newline included
KEY_FILE = "audit.key"
KEY_ENV = "CLIENTARY_MCP_AUDIT_KEY"
_TAIL_READ = MAX_RECORD + 1024
_HEAD_SIZE = 256


class AuditError(RuntimeError):
    """The audit log cannot be written; the message says which file and why, in words (no errno)."""


def default_path(env: Mapping[str, str] | None = None) -> Path:
    from ..state import state_dir

    return state_dir(None if env is None else dict(env)) / "audit.jsonl"


def audit_key(env: Mapping[str, str] | None = None, *, create: bool = True) -> bytes | None:
    """The chain's key: CLIENTARY_MCP_AUDIT_KEY, else `audit.key` in the state folder (generated once)."""
    from ..state.secrets import persisted_secret, read_secret

    if create:
        return persisted_secret(KEY_FILE, KEY_ENV, env).value
    found = read_secret(KEY_FILE, KEY_ENV, env)
    return found.value if found else None


# ---------------------------------------------------------------------------------------------
# What a record may hold


def redact(value: Any, key: str = "", depth: int = 0) -> Any:
    """Arguments as they may be kept: secrets replaced, text, keys, lists and nesting cut, strict JSON."""
    if key and _SECRET_KEYS.search(key) and value not in (None, "", False):
        return "[redacted]"
    if depth >= MAX_DEPTH and isinstance(value, (dict, list)):
        return f"[nested {type(value).__name__} cut]"
    if isinstance(value, dict):
        items = list(value.items())
        kept = {_cut(str(k), MAX_KEY): redact(v, str(k), depth + 1) for k, v in items[:MAX_ITEMS]}
        if len(items) > MAX_ITEMS:
            kept["[more]"] = f"{len(items) - MAX_ITEMS} more keys"
        return kept
    if isinstance(value, (list, tuple)):
        kept_list = [redact(v, "", depth + 1) for v in value[:MAX_ITEMS]]
        return kept_list + ([f"[+{len(value) - MAX_ITEMS} more]"] if len(value) > MAX_ITEMS else [])
    if isinstance(value, str):
        return _cut(value, MAX_TEXT)
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # strict JSON has no NaN or Infinity
    if value is None or isinstance(value, (bool, int, float)):
        return value
    return _cut(str(value), MAX_TEXT)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + f"…[{len(text)} chars]"


def _blank(value: Any, secrets: tuple[str, ...]) -> Any:
    """`value` with every occurrence of the secrets in its strings (keys too) replaced."""
    if isinstance(value, str):
        for secret in secrets:
            value = value.replace(secret, "[redacted]")
        return value
    if isinstance(value, dict):
        return {_blank(str(k), secrets): _blank(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [_blank(v, secrets) for v in value]
    return value


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False, default=str)


def _mac(key: bytes, record: dict[str, Any]) -> str:
    body = {k: v for k, v in record.items() if k != "hash"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), allow_nan=False, default=str)
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


def _head_mac(key: bytes, seq: int, last: str) -> str:
    return hmac.new(key, f"head:{seq}:{last}".encode(), hashlib.sha256).hexdigest()


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


# ---------------------------------------------------------------------------------------------
# Writing


class _Busy(Exception):
    """Another process holds the log's lock (only raised when asked not to wait)."""


class AuditLog:
    """Append-only, keyed-chain JSON Lines. `path` may be a file path, "-" (stderr) or None (off)."""

    def __init__(self, path: str | Path | None, *, scrub: tuple[str, ...] = (), key: bytes | None = None,
                 max_bytes: int = 0):
        self._lock = threading.Lock()
        self._stream: TextIO | None = None
        self.path: Path | None = None
        self.max_bytes = max_bytes
        self.recovered: str | None = None
        self.failure: str | None = None  # why the last write failed; None while writes succeed
        self._failed_since: str | None = None
        self._refused = 0
        self._last_probe = 0.0
        self._fd: int | None = None
        self._lock_fd: int | None = None
        self._head_fd: int | None = None
        self._tail: tuple[int, int, int, str] | None = None  # (inode, size, seq, hash) after our last append
        self._seq, self._prev = 0, GENESIS  # for the stderr stream only
        self._reopen = False
        if path is None:
            self.key = b""
            self._scrub = tuple(s for s in scrub if s and len(s) >= 6)
            return
        self.key = key if key is not None else (audit_key() or b"")
        self._scrub = tuple(s for s in (*scrub, self.key.decode("latin-1")) if s and len(s) >= 6)
        if str(path) == "-":
            self._stream = sys.stderr
            return
        from ..state.dirs import ensure_private_dir

        self.path = Path(path).expanduser()
        ensure_private_dir(self.path.parent)
        self.lock_path = self.path.with_name(self.path.name + ".lock")
        self.head_path = self.path.with_name(self.path.name + ".head")
        try:
            with self._locked():
                self._open_current()
        except OSError as exc:
            self._failed(exc)

    @classmethod
    def from_options(cls, options: Any, *, scrub: tuple[str, ...] = ()) -> AuditLog:
        log = cls(options.audit_log, scrub=(*scrub, options.confirm_secret.decode("latin-1")),
                  key=options.audit_key or None, max_bytes=options.audit_max_bytes)
        log.reopen_on_sighup()
        return log

    def __repr__(self) -> str:
        return f"AuditLog({str(self.path) if self.path else self._stream and '-'!r})"

    def scrub_also(self, *secrets: str) -> None:
        """Blank these too from now on (an account added after start, e.g. by a principals reload)."""
        with self._lock:
            self._scrub = tuple(dict.fromkeys((*self._scrub, *(s for s in secrets if s and len(s) >= 6))))

    @property
    def enabled(self) -> bool:
        return self.path is not None or self._stream is not None

    # -- the file and its lock ---------------------------------------------------------------------

    @contextlib.contextmanager
    def _locked(self, wait: bool = True) -> Iterator[None]:
        import fcntl

        if self._lock_fd is None:
            self._lock_fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise _Busy from None
        try:
            yield
        finally:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)

    def _open_current(self) -> int:
        """The fd of the file now at `path` (reopened after a rename), its partial last line moved aside."""
        assert self.path is not None
        if self._fd is not None and not self._reopen:
            try:
                same = os.stat(self.path).st_ino == os.fstat(self._fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                return self._fd
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        self._reopen = False
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self._tail = None
        self._cut_partial(self._fd)
        return self._fd

    def _cut_partial(self, fd: int) -> None:
        """A writer killed mid-line left a fragment: move it to `<log>.partial` and cut it off."""
        assert self.path is not None
        size = os.fstat(fd).st_size
        if size == 0:
            return
        with open(self.path, "rb") as fh:
            fh.seek(max(0, size - _TAIL_READ))
            data = fh.read(size)
        if data.endswith(b"\n"):
            return
        cut = data.rfind(b"\n") + 1
        start = size - len(data) + cut
        partial = self.path.with_name(self.path.name + ".partial")
        with open(partial, "ab") as side:
            side.write(data[cut:] + b"\n")
        os.ftruncate(fd, start)
        self.recovered = f"moved a partial last line ({size - start} bytes) to {partial}"

    def _real_tail(self, fd: int) -> tuple[int, str]:
        """The seq and hash the next record continues from: the file's last record, else the head."""
        assert self.path is not None
        st = os.fstat(fd)
        if self._tail and self._tail[:2] == (st.st_ino, st.st_size):
            return self._tail[2], self._tail[3]
        self._cut_partial(fd)  # another writer may have died mid-line since (none is writing: we hold the lock)
        st = os.fstat(fd)
        if st.st_size:
            with open(self.path, "rb") as fh:
                fh.seek(max(0, st.st_size - _TAIL_READ))
                lines = fh.read(st.st_size).splitlines()
            with contextlib.suppress(ValueError, KeyError, TypeError, IndexError):
                last = json.loads(lines[-1])
                return int(last["seq"]), str(last["hash"])
        head = read_head(self.head_path, self.key)
        if head is not None:
            return head
        return 0, GENESIS  # a new log (or a damaged one: `audit verify` says where)

    def _rotate(self) -> int:
        assert self.path is not None and self._fd is not None
        taken = [int(p.name.rsplit(".", 1)[1]) for p in self.path.parent.glob(self.path.name + ".*")
                 if p.name.rsplit(".", 1)[1].isdigit()]
        os.rename(self.path, self.path.with_name(f"{self.path.name}.{max(taken, default=0) + 1}"))
        os.close(self._fd)
        self._fd = None
        return self._open_current()

    def _write_head(self, seq: int, last: str) -> None:
        # Overwritten in place with one fixed-size write (a rename per record costs a journal flush), and
        # not fsynced: after a power cut it may lag the log, which `verify` accepts (records after it still
        # need the key to verify).
        if self._head_fd is None:
            self._head_fd = os.open(self.head_path, os.O_RDWR | os.O_CREAT, 0o600)
        data = _dumps({"seq": seq, "hash": last, "mac": _head_mac(self.key, seq, last)}).encode()
        data = data.ljust(_HEAD_SIZE - 1) + b"\n"
        if os.pwrite(self._head_fd, data, 0) != len(data):
            raise OSError(28, "short write of the head file")

    # -- appending ---------------------------------------------------------------------------------

    def _line(self, seq: int, prev: str, record: dict[str, Any]) -> tuple[dict[str, Any], bytes]:
        full = {"seq": seq, **record, "prev": prev}
        full["hash"] = _mac(self.key, full)
        line = _dumps(full)
        if any(secret in line for secret in self._scrub):
            # Keep the record without the secret (refusing would lose it).
            full = _blank({k: v for k, v in full.items() if k != "hash"}, self._scrub)
            full["hash"] = _mac(self.key, full)
            line = _dumps(full)
        for secret in self._scrub:  # belt and braces: a secret must never reach the file
            if secret in line:
                raise AuditError("refusing to write a secret into the audit log")
        data = line.encode() + b"\n"
        if len(data) > MAX_RECORD:
            slim = {k: v for k, v in record.items() if k not in ("args", "http")}
            slim["args"] = {"[omitted]": f"{len(data)} bytes of record exceed the {MAX_RECORD}-byte bound"}
            if "http" in record:
                slim["http"] = record["http"][:20]
            return self._line(seq, prev, slim)
        return full, data

    def write(self, record: dict[str, Any], *, sync: bool = False) -> dict[str, Any]:
        """Append one record (`sync`: and fsync it before returning); raises AuditError if it cannot be written."""
        written = self._write(record, sync, wait=True)
        assert written is not None
        return written

    def _write(self, record: dict[str, Any], sync: bool, *, wait: bool) -> dict[str, Any] | None:
        """`write`; with `wait=False`, None instead of waiting for a lock another thread or process holds."""
        if self._stream is None and self.path is None:
            return record
        if not self._lock.acquire(blocking=wait):
            return None
        try:
            if self.path is None:  # stderr
                full, data = self._line(self._seq + 1, self._prev, record)
                assert self._stream is not None
                self._stream.write(data.decode())
                self._stream.flush()
                self._seq, self._prev = full["seq"], full["hash"]
                return full
            try:
                full = self._append(record, sync, wait)
            except _Busy:
                return None
            except OSError as exc:
                self._failed(exc)
                raise AuditError(self.failure) from None
            except AuditError:
                raise
            self._succeeded()
            return full
        finally:
            self._lock.release()

    def _append(self, record: dict[str, Any], sync: bool, wait: bool = True) -> dict[str, Any]:
        if self.failure is not None and self._failed_since is not None and "event" not in record:
            # The first record after an outage says how long calls were refused.
            record = {**record, "after_outage": {"since": self._failed_since, "refused_calls": self._refused}}
        with self._locked(wait):
            fd = self._open_current()
            seq, prev = self._real_tail(fd)
            full, data = self._line(seq + 1, prev, record)
            size = os.fstat(fd).st_size
            if self.max_bytes and size and size + len(data) > self.max_bytes:
                fd = self._rotate()
                size = 0
            try:
                written = 0
                while written < len(data):
                    n = os.write(fd, data[written:])
                    if n <= 0:
                        raise OSError(28, "No space left on device")
                    written += n
                if sync:
                    os.fsync(fd)
            except OSError:
                with contextlib.suppress(OSError):
                    os.ftruncate(fd, size)  # never leave half a record
                self._tail = None
                raise
            self._tail = (os.fstat(fd).st_ino, size + len(data), full["seq"], full["hash"])
            self._write_head(full["seq"], full["hash"])
            return full

    async def awrite(self, record: dict[str, Any], *, sync: bool = False) -> dict[str, Any]:
        """`write` without stalling the event loop: a record that needs no fsync is appended at once when
        no other writer holds the lock (a few microseconds of system calls, cheaper than a thread hop);
        an fsync, or a wait for another writer, happens in a worker thread."""
        if self.path is None:
            return self.write(record)
        if not sync:
            written = self._write(record, False, wait=False)
            if written is not None:
                return written
        import functools

        import anyio.to_thread

        return await anyio.to_thread.run_sync(functools.partial(self.write, record, sync=sync))

    def _failed(self, exc: BaseException) -> None:
        first = self.failure is None
        self.failure = f"the audit log {self.path} cannot be written ({_reason(exc)})"
        if first:
            self._failed_since = now_iso()
            self._refused = 0
            print(f"clientary-mcp: {self.failure}; calls that change something are refused and reads withheld "
                  "until it can be written again", file=sys.stderr, flush=True)

    def _succeeded(self) -> None:
        if self.failure is not None:
            self.failure = None
            self._failed_since = None
            print(f"clientary-mcp: the audit log {self.path} can be written again", file=sys.stderr, flush=True)

    def refused(self) -> None:
        """Count a call refused because the log could not be written (reported in the next record)."""
        self._refused += 1

    def probe(self, every: float = 1.0) -> bool:
        """While failing, try (at most once per `every` seconds) to write the record that ends the outage."""
        if self.failure is None:
            return True
        now = time.monotonic()
        if now - self._last_probe < every:
            return False
        self._last_probe = now
        with contextlib.suppress(AuditError):
            self.write({"ts": now_iso(), "event": "audit_resumed",
                        "after_outage": {"since": self._failed_since, "refused_calls": self._refused}})
        return self.failure is None

    def reopen(self) -> None:
        """Close the file at the next append and open whatever is at the path then (after logrotate)."""
        self._reopen = True

    def reopen_on_sighup(self) -> None:
        if self.path is None or not hasattr(signal, "SIGHUP") or threading.current_thread() is not threading.main_thread():
            return
        with contextlib.suppress(ValueError, OSError):
            if signal.getsignal(signal.SIGHUP) in (signal.SIG_DFL, None):
                signal.signal(signal.SIGHUP, lambda signum, frame: self.reopen())

    def close(self) -> None:
        with self._lock:
            for fd in (self._fd, self._lock_fd, self._head_fd):
                if fd is not None:
                    with contextlib.suppress(OSError):
                        os.close(fd)
            self._fd = self._lock_fd = self._head_fd = None
            self._stream = None
            self.path = None


def now_iso() -> str:
    t = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t % 1 * 1000):03d}Z"


# ---------------------------------------------------------------------------------------------
# Reading and verifying


def read_head(path: Path, key: bytes) -> tuple[int, str] | None:
    """The head's (seq, hash), or None when it is missing, unreadable or not sealed with `key`."""
    try:
        head = json.loads(path.read_text())
        seq, last = int(head["seq"]), str(head["hash"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return (seq, last) if hmac.compare_digest(str(head.get("mac", "")), _head_mac(key, seq, last)) else None


def log_files(path: str | Path) -> list[Path]:
    """The rotated files (`<log>.N`) then the current file, in the order of their records."""
    path = Path(path)
    rotated = [p for p in path.parent.glob(path.name + ".*") if p.name.rsplit(".", 1)[1].isdigit()]
    rotated.sort(key=lambda p: int(p.name.rsplit(".", 1)[1]))
    return rotated + ([path] if path.exists() else [])


def read_records(path: str | Path) -> Iterator[tuple[int, dict[str, Any] | None, str]]:
    with open(path, encoding="utf-8", errors="replace") as fh:
        for n, line in enumerate(fh, 1):
            text = line.rstrip("\n")
            try:
                rec = json.loads(text)
                yield n, rec if isinstance(rec, dict) else None, text
            except ValueError:
                yield n, None, text


def all_records(path: str | Path) -> Iterator[dict[str, Any]]:
    for file in log_files(path):
        for _, rec, _ in read_records(file):
            if rec:
                yield rec


@dataclass
class Verdict:
    records: int
    problems: list[str]
    files: int = 1

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(path: str | Path, key: bytes) -> Verdict:
    """Check the whole set of files against the key and the head; every problem says where."""
    path = Path(path)
    problems: list[str] = []
    prev, seq, count = GENESIS, 0, 0
    files = log_files(path)
    first_seen = False
    for file in files:
        where = file.name
        raw = file.read_bytes()
        partial_line = raw.count(b"\n") + 1 if raw and not raw.endswith(b"\n") else None
        if partial_line:
            problems.append(f"{where} line {partial_line}: truncated last line (an interrupted write)")
        for n, rec, _text in read_records(file):
            if n == partial_line:
                continue
            if rec is None:
                problems.append(f"{where} line {n}: not a JSON record")
                continue
            count += 1
            rseq = rec.get("seq")
            if not first_seen:
                first_seen = True
                if rseq != 1 or rec.get("prev") != GENESIS:
                    problems.append(f"{where} line {n}: the log starts at seq {rseq}, not 1 — the records (or "
                                    "rotated files) before it are missing")
                    prev, seq = rec.get("prev"), (rseq - 1 if isinstance(rseq, int) else 0)
            if not hmac.compare_digest(str(rec.get("hash", "")), _mac(key, rec)):
                problems.append(f"{where} line {n} (seq {rseq}): contents were edited, or the record was not "
                                "written with this audit key (its keyed hash does not match)")
            if isinstance(rseq, int) and rseq > seq + 1 and n == 1 and file is not files[0]:
                problems.append(f"{where}: records seq {seq + 1}–{rseq - 1} are missing before this file "
                                "(a rotated file was removed?)")
            elif rec.get("prev") != prev:
                problems.append(f"{where} line {n} (seq {rseq}): chain broken — a record before it was removed, "
                                "inserted or reordered")
            if rseq != seq + 1 and not (n == 1 and isinstance(rseq, int) and rseq > seq + 1):
                problems.append(f"{where} line {n}: sequence jumps from {seq} to {rseq}")
            prev = rec.get("hash", "")
            seq = rseq if isinstance(rseq, int) else seq + 1
    head_path = path.with_name(path.name + ".head")
    if not head_path.exists():
        if count:
            problems.append(f"{head_path.name} is missing: whether records were removed from the end cannot be "
                            "checked")
    else:
        head = read_head(head_path, key)
        if head is None:
            problems.append(f"{head_path.name} is unreadable or was not sealed with this audit key")
        elif head[0] > seq:
            problems.append(f"the last {head[0] - seq} record(s) were removed: the head says seq {head[0]}, "
                            f"the log ends at seq {seq}")
        elif head[0] == seq and head[1] != prev:
            problems.append(f"the last record (seq {seq}) is not the one the head recorded (replaced)")
    if len(problems) > 50:
        problems = problems[:50] + [f"… and {len(problems) - 50} more problems"]
    return Verdict(count, problems, len(files))
