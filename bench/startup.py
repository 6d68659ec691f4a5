"""Start-up: from process spawn to the first tools/list answer over stdio, against the SDK's floor.

Two servers, started the way a host starts them and spoken to in raw JSON-RPC over the pipes
(initialize → notifications/initialized → tools/list, each sent once the previous answer is in):

* ours: `clientary-mcp serve --sandbox --audit-log <temp file>`;
* floor: bench/minimal_server.py - the same low-level `mcp.server.Server` + stdio, one tool.

Repetitions alternate between the two (the order flips every round) so that machine noise lands
on both; one untimed warm-up start of each comes first (page cache, and the bytecode cache, which
lives in a temporary PYTHONPYCACHEPREFIX so the project's modules load precompiled, as they do
after `pip install`). Peak RSS is VmHWM from /proc/<pid>/status read right after the tools/list
answer; CPU time (user+sys, from wait4) is reported too, being less sensitive to a busy machine.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import _common as c

from clientary_mcp.tools import REGISTRY

TARGET_RATIO = 1.15


def start_once(cmd: list[str], env: dict[str, str], expect_tools: int) -> dict[str, float]:
    t0 = time.perf_counter()
    peer = c.StdioPeer(cmd, env=env, cwd=c.ROOT)
    try:
        peer.initialize()
        t_init = time.perf_counter()
        tools = peer.request("tools/list")["tools"]
        t_list = time.perf_counter()
        hwm = c.proc_status_kb(peer.pid, "VmHWM")
        wire = len(peer.last_line)
    finally:
        usage = peer.close()
    if len(tools) != expect_tools:
        raise RuntimeError(f"{cmd[-1]}: {len(tools)} tools listed, expected {expect_tools}")
    cpu = (usage.ru_utime + usage.ru_stime) * 1000 if usage else float("nan")
    return {"ms": (t_list - t0) * 1000, "init_ms": (t_init - t0) * 1000, "rss_kb": hwm or 0, "wire": wire,
            "cpu_ms": cpu}


def main() -> int:
    p = c.parser("Spawn → first tools/list answer over stdio: clientary-mcp vs a minimal SDK server.")
    p.add_argument("--reps", type=int, default=None, help="timed starts of each server (default 21, quick 4)")
    p.add_argument("--no-bytecode-cache", action="store_true",
                   help="leave PYTHONDONTWRITEBYTECODE as it is (the project's modules may be compiled at every start)")
    args = p.parse_args()
    reps = args.reps or (4 if args.quick else 21)

    with tempfile.TemporaryDirectory(prefix="clientary-bench-") as tmp:
        audit = Path(tmp) / "audit.jsonl"
        env = c.server_env(Path(tmp) / "state")
        if not args.no_bytecode_cache:
            env = c.bytecode_env(env, Path(tmp) / "pycache")
        arms = {
            "clientary-mcp": (c.clientary_command() + ["serve", "--sandbox", "--audit-log", str(audit)], len(REGISTRY)),
            "minimal SDK server": ([sys.executable, str(c.BENCH / "minimal_server.py")], 1),
        }
        for cmd, n in arms.values():  # warm-up, untimed
            start_once(cmd, env, n)
        samples: dict[str, list[dict[str, float]]] = {name: [] for name in arms}
        order = list(arms)
        for i in range(reps):
            for name in (order if i % 2 == 0 else order[::-1]):
                cmd, n = arms[name]
                samples[name].append(start_once(cmd, env, n))

    ours, floor = samples["clientary-mcp"], samples["minimal SDK server"]
    med = {name: c.median([s["ms"] for s in rows]) for name, rows in samples.items()}
    rss = {name: c.median([s["rss_kb"] for s in rows]) / 1024 for name, rows in samples.items()}
    ratio = med["clientary-mcp"] / med["minimal SDK server"]

    cache = "off (as run)" if args.no_bytecode_cache else "on"
    report = c.Report("startup", f"startup: spawn → first tools/list answer over stdio ({reps} interleaved starts "
                                 f"each, bytecode cache {cache})")
    def after_init(rows: list[dict[str, float]]) -> float:
        return c.median([s["ms"] - s["init_ms"] for s in rows])

    report.add("clientary-mcp serve --sandbox, median", med["clientary-mcp"], "ms", key=True)
    report.add("clientary-mcp, min / max", f"{min(s['ms'] for s in ours):.0f} / {max(s['ms'] for s in ours):.0f}", "ms")
    report.add("  of which tools/list round trip, median", after_init(ours), "ms")
    report.add("minimal SDK server (floor), median", med["minimal SDK server"], "ms", key=True)
    report.add("floor, min / max", f"{min(s['ms'] for s in floor):.0f} / {max(s['ms'] for s in floor):.0f}", "ms")
    report.add("  of which tools/list round trip, median", after_init(floor), "ms")
    report.add("ratio of medians (ours / floor)", ratio, "×", ("<=", TARGET_RATIO))
    # Each round's two starts sit side by side in time, so their ratio cancels slow spells of the machine.
    report.add("median of per-round ratios", c.median([a["ms"] / b["ms"] for a, b in zip(ours, floor)]), "×")
    report.add("added start-up, median", med["clientary-mcp"] - med["minimal SDK server"], "ms")
    cpu = {name: c.median([s["cpu_ms"] for s in rows]) for name, rows in samples.items()}
    report.add("CPU time per start (user+sys), ours / floor",
               f"{cpu['clientary-mcp']:.0f} / {cpu['minimal SDK server']:.0f}", "ms")
    report.add("ratio of CPU time medians", cpu["clientary-mcp"] / cpu["minimal SDK server"], "×")
    report.add("peak RSS clientary-mcp (VmHWM), median", rss["clientary-mcp"], "MiB", key=True)
    report.add("peak RSS floor (VmHWM), median", rss["minimal SDK server"], "MiB")
    report.add("tools/list answer on the wire (ours)", int(ours[-1]["wire"]), "B")
    report.extra = {"samples": samples}
    return report.finish(args)


if __name__ == "__main__":
    sys.exit(main())
