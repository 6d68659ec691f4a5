"""`clientary-mcp audit …`: verify, tail, show and stats over the audit log (all its files), for people."""

from __future__ import annotations

import json
import os
import re
import statistics
import sys
from collections import Counter, defaultdict
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from ..config import ConfigError
from .audit import KEY_ENV, KEY_FILE, all_records, audit_key, default_path, verify

# Every outcome the service records (see service.py).
OUTCOMES = ("ok", "preview", "confirmed", "declined", "input_required", "refused", "unknown_tool",
            "validation_error", "api_error", "internal_error", "interrupted")
_SPAN = re.compile(r"^(\d+)\s*(m|min|h|d|w)$")
_SPAN_UNIT = {"m": "minutes", "min": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def _path(args: Any) -> Path:
    return Path(args.path or os.environ.get("CLIENTARY_MCP_AUDIT_LOG") or default_path()).expanduser()


def parse_since(text: str, now: datetime | None = None) -> str:
    """The UTC timestamp, in the log's own format, from which `--since` keeps records."""
    raw = text.strip().lower()
    now = now or datetime.now(timezone.utc)
    span = _SPAN.match(raw)
    if span:
        moment = now - timedelta(**{_SPAN_UNIT[span.group(2)]: int(span.group(1))})
    else:
        try:
            moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            raise ConfigError(f"--since {text[:40]!r} is neither a date (2026-11-01), a time (2026-11-01T09:30) "
                              "nor a span back from now (90m, 24h, 7d, 2w)") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)  # the log is in UTC
    utc = moment.astimezone(timezone.utc)
    return utc.strftime("%Y-%m-%dT%H:%M:%S") + f".{utc.microsecond // 1000:03d}Z"


def _check_filters(args: Any) -> None:
    if args.outcome and args.outcome not in OUTCOMES:
        raise ConfigError(f"--outcome {args.outcome[:40]!r} is not an outcome; one of: {', '.join(OUTCOMES)}")
    if args.tool:
        from ..tools import BY_NAME

        if args.tool not in BY_NAME:
            import difflib

            close = difflib.get_close_matches(args.tool, list(BY_NAME), n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]}?" if close else "; `clientary-mcp tools` lists them"
            raise ConfigError(f"--tool {args.tool[:60]!r} is not a tool{hint}")


def _line(rec: dict[str, Any]) -> str:
    http = ", ".join(f"{h.get('method')} {h.get('path')} {h.get('status')}" for h in rec.get("http") or [])
    err = f" [{rec['error_kind']}]" if rec.get("error_kind") else ""
    if rec.get("phase") == "intent":
        return (f"{rec.get('ts', '?')}  #{rec.get('seq')}  {rec.get('principal')}/{rec.get('transport')}  "
                f"{rec.get('tool')}  intent (about to send)")
    if rec.get("event"):
        return f"{rec.get('ts', '?')}  #{rec.get('seq')}  {rec['event']}  {json.dumps(rec.get('after_outage'))}"
    return (f"{rec.get('ts', '?')}  #{rec.get('seq')}  {rec.get('principal')}/{rec.get('transport')}  "
            f"{rec.get('tool')}  {rec.get('outcome')}{err}  {rec.get('ms')} ms" + (f"  ({http})" if http else ""))


def run(args: Any) -> int:
    path = _path(args)
    if getattr(args, "n", 0) < 0:
        raise ConfigError("-n must be 0 (all) or more")
    if args.audit_command == "show":
        _check_filters(args)
        since = parse_since(args.since) if args.since else ""
    if path.is_dir():
        raise ConfigError(f"{path} is a folder; give the audit log file (e.g. {path / 'audit.jsonl'})")
    if not path.exists():
        raise ConfigError(f"no audit log at {path}: give its path, or set CLIENTARY_MCP_AUDIT_LOG")
    cmd = args.audit_command
    if cmd == "verify":
        key = audit_key(create=False)
        if key is None:
            from ..state import state_dir

            raise ConfigError(f"no audit key: set {KEY_ENV} to the key the server used, or CLIENTARY_MCP_STATE_DIR "
                              f"to the folder holding its {KEY_FILE} (looked in {state_dir()})")
        verdict = verify(path, key)
        for problem in verdict.problems:
            print(problem)
        files = f" in {verdict.files} files" if verdict.files > 1 else ""
        print(f"{path}: {verdict.records} record{'' if verdict.records == 1 else 's'}{files}, " +
              ("chain intact" if verdict.ok else f"{len(verdict.problems)} problem(s)"))
        return 0 if verdict.ok else 1
    records = list(all_records(path))
    if cmd == "stats":
        return _stats(records)
    if cmd == "show":
        records = [r for r in records
                   if (not args.tool or r.get("tool") == args.tool)
                   and (not args.outcome or r.get("outcome") == args.outcome)
                   and (not args.principal or r.get("principal") == args.principal)
                   and str(r.get("ts", "")) >= since]
    shown = records[-args.n:] if args.n else records
    for rec in shown:
        print(json.dumps(rec, ensure_ascii=False) if args.json else _line(rec))
    what = "matching records" if cmd == "show" else "records"
    if len(shown) < len(records):
        print(f"showing the last {len(shown)} of {len(records)} {what} (-n N for more, -n 0 for all)", file=sys.stderr)
    elif not records:
        print(f"no {what}", file=sys.stderr)
    return 0


def _stats(records: list[dict[str, Any]]) -> int:
    calls: Counter[str] = Counter()
    errors: dict[str, Counter[str]] = defaultdict(Counter)
    durations: dict[str, list[float]] = defaultdict(list)
    for rec in records:
        if rec.get("phase") == "intent" or rec.get("event"):  # a call's outcome record counts it once
            continue
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
