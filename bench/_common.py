"""Shared helpers for the benchmark scripts: arguments, statistics, result tables, processes.

Each script builds a `Report`, adds rows (a figure, its unit and an optional target) and calls
`report.finish(args)`, which prints the table and writes `--json FILE` if asked.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent


# ---- arguments ------------------------------------------------------------------------------------

def parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--quick", action="store_true", help="a fast smoke run (fewer repetitions)")
    p.add_argument("--json", metavar="FILE", help="also write the figures to FILE as JSON")
    return p


# ---- statistics -----------------------------------------------------------------------------------

def median(values: Sequence[float]) -> float:
    s = sorted(values)
    n = len(s)
    if not n:
        return math.nan
    mid = n // 2
    return s[mid] if n % 2 else (s[mid - 1] + s[mid]) / 2


def percentile(values: Sequence[float], p: float) -> float:
    """Linear interpolation between closest ranks (numpy's default), p in 0..100."""
    s = sorted(values)
    if not s:
        return math.nan
    k = (len(s) - 1) * p / 100
    lo, hi = math.floor(k), math.ceil(k)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def turn(order: Sequence[str], i: int) -> list[str]:
    """Round i's order of the arms: rotated each round, so no arm always runs first or after the same one."""
    k = i % len(order)
    return list(order[k:]) + list(order[:k])


# ---- the report -----------------------------------------------------------------------------------

@dataclass
class Row:
    metric: str
    value: Any
    unit: str = ""
    target: str = ""
    ok: bool | None = None  # None: informational, no target
    key: bool = False  # a headline figure: kept in run_all's --summary even without a target

    def shown(self) -> str:
        v = self.value
        if isinstance(v, float):
            text = f"{v:,.3f}" if abs(v) < 10 else f"{v:,.1f}" if abs(v) < 1000 else f"{v:,.0f}"
        elif isinstance(v, int) and not isinstance(v, bool):
            text = f"{v:,}"
        else:
            text = str(v)
        return f"{text} {self.unit}".rstrip()


def check(value: float, op: str, limit: float) -> bool:
    return {"<=": value <= limit, ">=": value >= limit, "==": value == limit, "<": value < limit,
            ">": value > limit}[op]


@dataclass
class Report:
    name: str
    title: str
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)  # detail that goes to JSON only
    started: float = field(default_factory=time.time)

    def add(self, metric: str, value: Any, unit: str = "", target: tuple[str, float] | str | None = None,
            ok: bool | None = None, key: bool = False) -> Row:
        """`target` is (op, limit) to check the value, or a text when the script decides `ok` itself."""
        text = ""
        if isinstance(target, tuple):
            op, limit = target
            shown_limit = f"{limit:,}" if isinstance(limit, int) else f"{limit:g}"
            text = f"{op} {shown_limit} {unit}".rstrip()
            ok = check(value, op, limit)
        elif isinstance(target, str):
            text = target
        row = Row(metric, value, unit, text, ok, key or bool(text))
        self.rows.append(row)
        return row

    def note(self, text: str) -> None:
        self.notes.append(text)

    def table(self) -> str:
        return format_table(self.title, [(r.metric, r.shown(), r.target, status(r.ok)) for r in self.rows],
                            ("figure", "value", "target", ""))

    def finish(self, args: argparse.Namespace) -> int:
        print(self.table())
        for line in self.notes:
            print(f"  · {line}")
        if args.json:
            payload = {
                "script": self.name,
                "title": self.title,
                "quick": bool(getattr(args, "quick", False)),
                "command": command_line(),
                "when": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(self.started)),
                "seconds": round(time.time() - self.started, 1),
                "machine": machine(),
                "rows": [asdict(r) for r in self.rows],
                "notes": self.notes,
                **({"detail": self.extra} if self.extra else {}),
            }
            Path(args.json).write_text(json.dumps(payload, indent=2, default=str) + "\n")
        missed = [r for r in self.rows if r.ok is False]
        return 1 if missed else 0


def status(ok: bool | None) -> str:
    return "" if ok is None else ("ok" if ok else "MISS")


def format_table(title: str, rows: list[tuple[str, ...]], header: tuple[str, ...], align: str = "lr") -> str:
    """Plain-text table; `align` holds l or r per column (missing ones are l)."""
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    side = align.ljust(len(widths), "l")

    def line(cells: tuple[str, ...]) -> str:
        return "  ".join(str(x).rjust(w) if side[i] == "r" else str(x).ljust(w)
                         for i, (x, w) in enumerate(zip(cells, widths))).rstrip()

    out = [title, line(header), "  ".join("-" * w for w in widths)]
    out += [line(r) for r in rows]
    return "\n".join(out)


def command_line() -> str:
    script = Path(sys.argv[0])
    try:
        script = script.resolve().relative_to(ROOT)
    except ValueError:
        pass
    return " ".join(["python", str(script), *sys.argv[1:]])


def machine() -> dict[str, Any]:
    return {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()}


# ---- processes ------------------------------------------------------------------------------------

def clientary_command() -> list[str]:
    """How a host starts us: the installed console script beside this interpreter, else `-m`."""
    script = Path(sys.executable).parent / "clientary-mcp"
    if script.exists():
        return [str(script)]
    found = shutil.which("clientary-mcp")
    return [found] if found else [sys.executable, "-m", "clientary_mcp"]


def clean_env(**extra: str) -> dict[str, str]:
    """The parent's environment without Clientary settings (they would change what is measured)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLIENTARY")}
    env.update(extra)
    return env


AUDIT_KEY = "bench-audit-key-0123456789abcdef0123456789"  # a known key, so the bench can verify the chain


def outcome_records(audit: Path) -> int:
    """Records of finished calls in an audit log (a write also has its intent record, written before it)."""
    if not audit.exists():
        return 0
    return sum(1 for line in audit.read_text().splitlines() if json.loads(line).get("outcome") is not None)


def server_env(state_dir: str | Path, **extra: str) -> dict[str, str]:
    """`clean_env` for a server under test: its own state folder (not the user's) and a known audit key."""
    return clean_env(CLIENTARY_MCP_STATE_DIR=str(state_dir), CLIENTARY_MCP_AUDIT_KEY=AUDIT_KEY, **extra)


def bytecode_env(env: dict[str, str], cache_dir: str | Path) -> dict[str, str]:
    """Children read and write compiled bytecode under `cache_dir`, as after `pip install`.

    An editable checkout run with PYTHONDONTWRITEBYTECODE=1 would otherwise recompile the
    project's modules on every start (the SDK's are precompiled in site-packages), which
    measures the checkout, not the product. The prefix keeps the cache out of the repository.
    """
    env = dict(env)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(cache_dir)
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, proc: subprocess.Popen | None = None, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before listening on port {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listening on port {port} after {timeout:g}s")


def proc_status_kb(pid: int, key: str = "VmHWM") -> int | None:
    """A /proc/<pid>/status figure in kB (VmHWM: peak resident set size so far)."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


PROTOCOL = "2025-11-25"  # latest handshake-era revision: what stdio hosts send today


class StdioPeer:
    """Raw JSON-RPC over a child's stdin/stdout, one message per line, no client library in between."""

    def __init__(self, cmd: list[str], env: dict[str, str] | None = None, cwd: str | Path | None = None):
        import tempfile

        self._stderr = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr,
                                     env=env, cwd=cwd)
        self._next = 0
        self.last_line = b""

    @property
    def pid(self) -> int:
        return self.proc.pid

    def send(self, message: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(message, separators=(",", ":")).encode() + b"\n")
        self.proc.stdin.flush()

    def request(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        self._next += 1
        ident = self._next
        message: dict[str, Any] = {"jsonrpc": "2.0", "id": ident, "method": method}
        if params is not None:
            message["params"] = params
        self.send(message)
        assert self.proc.stdout is not None
        while True:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError(f"{method}: the server closed stdout; stderr: {self.stderr_text()[-2000:]}")
            reply = json.loads(line)
            if reply.get("id") == ident:  # skip notifications and anything else in between
                self.last_line = line
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]

    def notify(self, method: str, params: dict[str, Any] | None = None) -> None:
        message: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            message["params"] = params
        self.send(message)

    def initialize(self) -> dict[str, Any]:
        result = self.request("initialize", {"protocolVersion": PROTOCOL, "capabilities": {},
                                             "clientInfo": {"name": "clientary-bench", "version": "1"}})
        self.notify("notifications/initialized")
        return result

    def stderr_text(self) -> str:
        self._stderr.seek(0)
        return self._stderr.read().decode(errors="replace")

    def close(self, timeout: float = 10.0) -> Any:
        """EOF on stdin is how a host ends a stdio server; only if it hangs, signal it.

        Returns the child's resource usage (CPU seconds, ru_maxrss) from wait4, or None.
        """
        try:
            if self.proc.stdin:
                self.proc.stdin.close()
        except OSError:
            pass
        usage = None
        deadline = time.monotonic() + timeout
        while self.proc.returncode is None and time.monotonic() < deadline:
            pid, status, ru = os.wait4(self.proc.pid, os.WNOHANG)
            if pid:
                self.proc.returncode = os.waitstatus_to_exitcode(status)
                usage = ru
                break
            time.sleep(0.002)
        if self.proc.returncode is None:
            stop(self.proc)
        if self.proc.stdout:
            self.proc.stdout.close()
        self._stderr.close()
        return usage


def proc_cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds a live process has used so far (/proc/<pid>/stat)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    # After the command name: field 3 is state, so utime and stime (fields 14, 15) sit at 11 and 12.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def stop(proc: subprocess.Popen, timeout: float = 10.0) -> None:
    """Ask politely (SIGINT, like Ctrl-C), then insist; only ever the process we started."""
    if proc.poll() is not None:
        return
    try:
        proc.send_signal(2)
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
