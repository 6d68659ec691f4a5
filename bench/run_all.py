"""Run every benchmark one after the other and print one combined table.

Each script runs in its own process (so one does not warm up or slow down the next) with
`--json` into a temporary file; their own tables are shown as they finish, then the combined one.
A script that fails is reported as such and the others still run.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _common as c

SCRIPTS = ("context_cost", "result_size", "startup", "call_overhead", "pagination", "service_load", "http_floor",
           "workflows")


def main() -> int:
    p = c.parser("Run all benchmarks; one combined table of figures and targets.")
    p.add_argument("--only", help="comma-separated subset, e.g. startup,pagination")
    p.add_argument("--skip", help="comma-separated scripts to leave out")
    p.add_argument("--quick-for", help="comma-separated scripts to run with --quick even without --quick")
    p.add_argument("--markdown", action="store_true", help="print the combined table as Markdown")
    p.add_argument("--summary", action="store_true", help="only figures with a target and headline figures")
    args = p.parse_args()
    chosen = [s for s in SCRIPTS if not args.only or s in args.only.split(",")]
    chosen = [s for s in chosen if not args.skip or s not in args.skip.split(",")]
    quick_for = set((args.quick_for or "").split(","))

    results: list[dict] = []
    failed: list[str] = []
    with tempfile.TemporaryDirectory(prefix="clientary-bench-") as tmp:
        for name in chosen:
            out = Path(tmp) / f"{name}.json"
            quick = args.quick or name in quick_for
            cmd = [sys.executable, str(c.BENCH / f"{name}.py"), "--json", str(out)] + (["--quick"] if quick else [])
            print(f"$ python bench/{name}.py" + (" --quick" if quick else ""), flush=True)
            t0 = time.perf_counter()
            code = subprocess.run(cmd, cwd=c.ROOT).returncode
            print(f"({time.perf_counter() - t0:.0f} s)\n", flush=True)
            if out.exists():
                results.append(json.loads(out.read_text()))
            else:
                failed.append(f"{name} (exit {code}, no figures)")

    rows = []
    for r in results:
        label = r["script"] + (" (quick)" if r["quick"] else "")
        for row in r["rows"]:
            if args.summary and not row.get("key"):
                continue
            shown = c.Row(**row).shown()
            rows.append((label, row["metric"], shown, row["target"], c.status(row["ok"])))
            label = ""
    header = ("script", "figure", "value", "target", "")
    if args.markdown:
        print("| " + " | ".join(header[:-1]) + " | met |")
        print("|---|---|--:|---|---|")
        for r in rows:
            print("| " + " | ".join(x.replace("|", "\\|") for x in r) + " |")
    else:
        print(c.format_table("all benchmarks", [(a, b, v, t, s) for a, b, v, t, s in rows], header, "llr"))
    for line in failed:
        print(f"FAILED: {line}")
    if args.json:
        Path(args.json).write_text(json.dumps({"command": c.command_line(), "machine": c.machine(),
                                               "results": results, "failed": failed}, indent=2) + "\n")
    missed = sum(1 for r in rows if r[4] == "MISS")
    print(f"\n{len(rows)} figures, {sum(1 for r in rows if r[4] == 'ok')} targets met, {missed} missed"
          + (f", {len(failed)} scripts failed" if failed else ""))
    return 1 if failed or missed else 0


if __name__ == "__main__":
    sys.exit(main())
