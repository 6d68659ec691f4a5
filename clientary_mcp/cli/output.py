"""How `call` prints a result: JSON, or a table for lists (the default when stdout is a terminal)."""

from __future__ import annotations

import json
import shutil
from typing import Any

MAX_COLUMNS = 7
MAX_CELL = 40


def render(data: dict[str, Any], fmt: str | None, terminal: bool) -> str:
    items = data.get("items") if isinstance(data.get("items"), list) else None
    if fmt is None:
        fmt = "table" if terminal and items is not None else "json"
    if fmt == "json":
        return json.dumps(data, indent=2, ensure_ascii=False)
    if items is None:
        return _record(data)
    return _table(items)


def _cell(value: Any) -> str:
    text = "" if value is None else value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    text = " ".join(str(text).split())
    return text if len(text) <= MAX_CELL else text[: MAX_CELL - 1] + "…"


def _columns(items: list[dict[str, Any]]) -> list[str]:
    seen: list[str] = []
    for item in items:
        for key, value in item.items():
            if key not in seen and not isinstance(value, (dict, list)):
                seen.append(key)
    first = [k for k in ("id", "number", "name", "title") if k in seen]
    rest = [k for k in seen if k not in first and not k.endswith(("_at", "description"))]
    return (first + rest)[:MAX_COLUMNS]


def _table(items: list[dict[str, Any]]) -> str:
    if not items:
        return "(none)"
    columns = _columns(items)
    rows = [[_cell(item.get(c)) for c in columns] for item in items]
    widths = [max(len(c), *(len(r[i]) for r in rows)) for i, c in enumerate(columns)]
    limit = shutil.get_terminal_size((120, 24)).columns
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths)).rstrip()]
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip() for row in rows]
    return "\n".join(line[:limit] for line in lines)


def _record(data: dict[str, Any]) -> str:
    width = max((len(k) for k in data), default=0)
    return "\n".join(f"{k:<{width}}  {_cell(v) if not isinstance(v, (dict, list)) else json.dumps(v, ensure_ascii=False)}"
                     for k, v in data.items())
