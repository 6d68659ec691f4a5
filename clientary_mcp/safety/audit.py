"""The audit log: one JSON line per tool call, hash-chained so edits, removals and reordering show.

Each record carries `seq`, the previous record's hash (`prev`) and its own (`hash`, SHA-256 over the
record without `hash`). Writes are serialised by one lock and each line goes out in a single write, so
concurrent calls never interleave. A crash can leave at most a partial last line; opening the log moves
that fragment aside (to `<log>.partial`) and the chain continues from the last complete record.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

GENESIS = "0" * 64
_SECRET_KEYS = re.compile(r"token|secret|password|authorization|api_key|apikey|bearer|confirm", re.I)
MAX_TEXT = 200


def default_path() -> Path:
    from ..state.dirs import state_dir

    return state_dir() / "audit.jsonl"


def redact(value: Any, key: str = "") -> Any:
    """Arguments as they may be kept: secrets replaced, long text cut (with its length)."""
    if key and _SECRET_KEYS.search(key) and value not in (None, "", False):
        return "[redacted]"
    if isinstance(value, dict):
        return {str(k): redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value[:50]] + ([f"[+{len(value) - 50} more]"] if len(value) > 50 else [])
    if isinstance(value, str) and len(value) > MAX_TEXT:
        return value[:MAX_TEXT] + f"…[{len(value)} chars]"
    return value


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


def _hash(record: dict[str, Any]) -> str:
    body = {k: v for k, v in record.items() if k != "hash"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


class AuditLog:
    """Append-only, hash-chained JSON Lines. `path` may be a file path, "-" (stderr) or None (off)."""

    def __init__(self, path: str | Path | None, *, scrub: tuple[str, ...] = ()):
        self._lock = threading.Lock()
        self._scrub = tuple(s for s in scrub if s and len(s) >= 6)
        self._stream: TextIO | None = None
        self.path: Path | None = None
        self._seq = 0
        self._prev = GENESIS
        self.recovered: str | None = None
        if path is None:
            return
        if str(path) == "-":
            self._stream = sys.stderr
            return
        self.path = Path(path).expanduser()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._recover()
        self._stream = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - kept open for the process

    def _recover(self) -> None:
        if not self.path or not self.path.exists():
            return
        data = self.path.read_bytes()
        if data and not data.endswith(b"\n"):
            cut = data.rfind(b"\n") + 1
            partial = self.path.with_name(self.path.name + ".partial")
            with open(partial, "ab") as side:
                side.write(data[cut:] + b"\n")
            with open(self.path, "r+b") as fh:
                fh.truncate(cut)
            self.recovered = f"moved a partial last line ({len(data) - cut} bytes) to {partial}"
            data = data[:cut]
        lines = data.splitlines()
        if lines:
            try:
                last = json.loads(lines[-1])
                self._seq, self._prev = int(last["seq"]), str(last["hash"])
            except (ValueError, KeyError, TypeError):
                self._seq = len(lines)  # a damaged log: keep appending; `audit verify` reports where

    def write(self, record: dict[str, Any]) -> dict[str, Any]:
        if self._stream is None:
            return record
        with self._lock:
            self._seq += 1
            full = {"seq": self._seq, **record, "prev": self._prev}
            full["hash"] = _hash(full)
            line = json.dumps(full, ensure_ascii=False, separators=(",", ":"), default=str)
            if any(secret in line for secret in self._scrub):
                # The call this record describes has already happened: keep the record, without the secret
                # (refusing would lose it and turn a completed change into an error for the agent).
                full = _blank({k: v for k, v in full.items() if k != "hash"}, self._scrub)
                full["hash"] = _hash(full)
                line = json.dumps(full, ensure_ascii=False, separators=(",", ":"), default=str)
            for secret in self._scrub:  # belt and braces: a secret must never reach the file
                if secret in line:
                    self._seq -= 1
                    raise RuntimeError("refusing to write a secret into the audit log")
            self._stream.write(line + "\n")
            self._stream.flush()
            self._prev = full["hash"]
            return full

    def close(self) -> None:
        with self._lock:
            if self._stream is not None and self._stream is not sys.stderr:
                self._stream.close()
            self._stream = None


def now_iso() -> str:
    t = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t % 1 * 1000):03d}Z"


# ---------------------------------------------------------------------------------------------
# Reading


def read_records(path: str | Path) -> Iterator[tuple[int, dict[str, Any] | None, str]]:
    with open(path, encoding="utf-8", errors="replace") as fh:
        for n, line in enumerate(fh, 1):
            text = line.rstrip("\n")
            try:
                rec = json.loads(text)
                yield n, rec if isinstance(rec, dict) else None, text
            except ValueError:
                yield n, None, text


@dataclass
class Verdict:
    records: int
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(path: str | Path) -> Verdict:
    problems: list[str] = []
    prev, seq, count = GENESIS, 0, 0
    raw = Path(path).read_bytes()
    partial_line = raw.count(b"\n") + 1 if raw and not raw.endswith(b"\n") else None
    if partial_line:
        problems.append(f"line {partial_line}: truncated last line (an interrupted write)")
    for n, rec, _text in read_records(path):
        if n == partial_line:
            continue
        if rec is None:
            problems.append(f"line {n}: not a JSON record")
            continue
        count += 1
        if rec.get("hash") != _hash(rec):
            problems.append(f"line {n} (seq {rec.get('seq')}): contents were edited (hash mismatch)")
        if rec.get("prev") != prev:
            problems.append(f"line {n} (seq {rec.get('seq')}): chain broken — a record before it was removed, "
                            "inserted or reordered")
        if rec.get("seq") != seq + 1:
            problems.append(f"line {n}: sequence jumps from {seq} to {rec.get('seq')}")
        prev = rec.get("hash", "")
        seq = rec.get("seq", seq + 1) if isinstance(rec.get("seq"), int) else seq + 1
    return Verdict(count, problems)
