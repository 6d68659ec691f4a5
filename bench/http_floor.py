"""Our HTTP service against the SDK's floor, side by side: CPU per call, calls/s and p99 on the same load.

Two servers run for the whole run: `clientary-mcp serve --transport http --sandbox` (audit log on) and
`bench/minimal_http_server.py` (the SDK's low-level server and session manager on uvicorn, answering
the same tools with fixed records). For each protocol era (2025-11-25 with its handshake and session,
2026-07-28 with self-contained requests) and each session count, the same load (bench/service_load.py's
70/30 mix, same seed) goes to one and then the other, in an order that alternates every round. Server
CPU is read from /proc before and after each load; the figure is the sum over the rounds divided by the
calls. The audit log is checked at the end: one record per call of ours, and one intact chain.
"""

from __future__ import annotations

import contextlib
import sys
import tempfile
from pathlib import Path
from typing import Any

import anyio

import _common as c
from service_load import DEFAULT_COMMAND, MODERN, launch, load

TARGET_RATIO = 1.25
FLOOR_COMMAND = "{python} bench/minimal_http_server.py --port {port}"
ERAS = (c.PROTOCOL, MODERN)


def main() -> int:
    p = c.parser("HTTP service CPU per call against the SDK floor, both protocol eras, side by side.")
    p.add_argument("--sessions", default="20,50", help="comma-separated session counts (default 20,50)")
    p.add_argument("--calls", type=int, default=None, help="calls per load (default 2000, quick 300)")
    p.add_argument("--rounds", type=int, default=None, help="rounds per era and session count (default 2, quick 1)")
    args = p.parse_args()
    calls = args.calls or (300 if args.quick else 2000)
    rounds = args.rounds or (1 if args.quick else 2)
    counts = [int(x) for x in args.sessions.split(",")]

    from clientary_mcp.safety.audit import verify

    figures: dict[tuple[str, int, str], dict[str, Any]] = {}
    ours_calls = 0
    with tempfile.TemporaryDirectory(prefix="clientary-floor-") as tmp, contextlib.ExitStack() as stack:
        env = c.server_env(Path(tmp) / "state")
        servers = {arm: launch(command, Path(tmp), arm, env, stack)
                   for arm, command in (("ours", DEFAULT_COMMAND), ("floor", FLOOR_COMMAND))}
        for server in servers.values():
            server.wait_ready()
        for era in ERAS:
            for sessions in counts:
                for r in range(rounds):
                    for arm in c.turn(["ours", "floor"], r):
                        proc, url = servers[arm].proc, servers[arm].url
                        before = c.proc_cpu_seconds(proc.pid) or 0.0
                        result = anyio.run(load, [url], sessions, calls, {}, 1 + r, era)
                        cpu = (c.proc_cpu_seconds(proc.pid) or 0.0) - before
                        f = figures.setdefault((era, sessions, arm), {"cpu": 0.0, "calls": 0, "elapsed": 0.0,
                                                                      "latencies": [], "errors": []})
                        f["cpu"] += cpu
                        f["calls"] += calls
                        f["elapsed"] += result["elapsed"]
                        f["latencies"] += result["latencies"]
                        f["errors"] += result["errors"]
                        if arm == "ours":
                            ours_calls += calls
        c.stop(servers["ours"].proc)
        audit = servers["ours"].audit
        records = c.outcome_records(audit)
        chain = verify(audit, c.AUDIT_KEY.encode()) if audit.exists() else None

    report = c.Report("http_floor", f"http_floor: ours against the SDK floor, {calls:,} calls × {rounds} rounds "
                                    "per era and session count, 70/30 mix, arms alternating")
    errors = 0
    for era in ERAS:
        for sessions in counts:
            ours, floor = figures[(era, sessions, "ours")], figures[(era, sessions, "floor")]
            label = f"{era}, {sessions} sessions"
            per_call = {arm: f["cpu"] / f["calls"] * 1000 for arm, f in (("ours", ours), ("floor", floor))}
            report.add(f"{label}: server CPU per call, ours / floor",
                       f"{per_call['ours']:.2f} / {per_call['floor']:.2f}", "ms", key=True)
            report.add(f"{label}: ratio", per_call["ours"] / per_call["floor"], "×", ("<=", TARGET_RATIO))
            report.add(f"{label}: calls/s, ours / floor",
                       f"{ours['calls'] / ours['elapsed']:.0f} / {floor['calls'] / floor['elapsed']:.0f}", "", key=True)
            report.add(f"{label}: p99, ours / floor", f"{c.percentile(ours['latencies'], 99):.1f} / "
                                                      f"{c.percentile(floor['latencies'], 99):.1f}", "ms", key=True)
            errors += len(ours["errors"]) + len(floor["errors"])
            for line in sorted(set(ours["errors"] + floor["errors"]))[:3]:
                report.note(f"error ({label}): {line}")
    report.add("errors, both servers", errors, "", ("==", 0))
    report.add("audit records of finished calls / calls of ours", f"{records:,} / {ours_calls:,}", "", "one per call",
               ok=records == ours_calls)
    report.add("audit hash chain", "intact" if chain is not None and chain.ok else "BROKEN", "", "intact",
               ok=chain is not None and chain.ok)
    report.note(f"ours: {DEFAULT_COMMAND}; floor: {FLOOR_COMMAND}")
    return report.finish(args)


if __name__ == "__main__":
    sys.exit(main())
