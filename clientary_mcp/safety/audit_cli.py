"""`clientary-mcp audit …`: verify, tail, show and stats over the audit log, for people."""

from __future__ import annotations

import json
import os
import statistics
import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from .audit import default_path, read_records, verify


def _path(args: Any) -> Path:
    return Path(args.path or os.environ.get("CLIENTARY_MCP_AUDIT_LOG") or default_path()).expanduser()


def _line(rec: dict[str, Any]) -> str:
    http = ", ".join(f"{h.get('method')} {h.get('path')} {h.get('status')}" for h in rec.get("http") or [])
    err = f" [{rec['error_kind']}]" if rec.get("error_kind") else ""
    return (f"{rec.get('ts', '?')}  #{rec.get('seq')}  {rec.get('principal')}/{rec.get('transport')}  "
            f"{rec.get('tool')}  {rec.get('outcome')}{err}  {rec.get('ms')} ms" + (f"  ({http})" if http else ""))


def run(args: Any) -> int:
    path = _path(args)
    if not path.exists():
        print(f"clientary-mcp: error: no audit log at {path}", file=sys.stderr)
        return 2
    cmd = args.audit_command
    if cmd == "verify":
        verdict = verify(path)
        for problem in verdict.problems:
            print(problem)
        print(f"{path}: {verdict.records} records, " + ("chain intact" if verdict.ok else
                                                        f"{len(verdict.problems)} problem(s)"))
        return 0 if verdict.ok else 1
    records = [rec for _, rec, _ in read_records(path) if rec]
    if cmd == "stats":
        return _stats(records)
    if cmd == "show":
        since = args.since or ""
        records = [r for r in records
                   if (not args.tool or r.get("tool") == args.tool)
                   and (not args.outcome or r.get("outcome") == args.outcome)
                   and (not args.principal or r.get("principal") == args.principal)
                   and str(r.get("ts", "")) >= since]
    for rec in records[-args.n:]:
        print(json.dumps(rec, ensure_ascii=False) if args.json else _line(rec))
    return 0


def _stats(records: list[dict[str, Any]]) -> int:
    calls: Counter[str] = Counter()
    errors: dict[str, Counter[str]] = defaultdict(Counter)
    durations: dict[str, list[float]] = defaultdict(list)
    for rec in records:
        tool = str(rec.get("tool"))
        calls[tool] += 1
        outcome = rec.get("outcome")
        if outcome not in ("ok", "preview", "confirmed", "declined", "input_required"):
            errors[tool][rec.get("error_kind") or outcome] += 1
        if isinstance(rec.get("ms"), (int, float)):
            durations[tool].append(rec["ms"])
    print(f"{'tool':<34} {'calls':>6} {'errors':>7} {'rate':>6} {'median ms':>10}  errors by kind")
    for tool, n in calls.most_common():
        errs = sum(errors[tool].values())
        kinds = ", ".join(f"{k} {v}" for k, v in errors[tool].most_common())
        med = statistics.median(durations[tool]) if durations[tool] else 0
        print(f"{tool:<34} {n:>6} {errs:>7} {errs / n:>6.0%} {med:>10.1f}  {kinds}")
    return 0
