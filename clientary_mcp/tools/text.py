"""What a result costs on the wire: empty values left out, and a text block that does not repeat the JSON.

Every result goes out twice, as `structuredContent` (for programs and hosts that pass it to the model) and
as text (for hosts that pass only text). The text of a record is its compact JSON; the text of a list is a
table — the column names once, then one line per record — so the same keys are not repeated per item and
the JSON is not carried twice, while a text-only host still sees every field of every record.
"""

from __future__ import annotations

import json
from typing import Any

# Top-level keys a list result always carries (its output schema requires them), even when empty.
KEPT = frozenset({"items", "returned"})


def _is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, (str, list, dict)) and not value)


def prune(value: Any, keep: frozenset[str] = frozenset()) -> Any:
    """`value` without null, empty-string, empty-list and empty-object members, at any depth.

    False and 0 stay: they say something. Keys in `keep` stay at this level whatever they hold.
    """
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            item = prune(item)
            if key in keep or not _is_empty(item):
                out[key] = item
        return out
    if isinstance(value, list):
        return [prune(item) for item in value]
    return value


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    text = str(value)
    # One record per line and " | " between cells, whatever the text holds.
    return text.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r").replace(" | ", " \\| ")


COMMON = "every row: "


def table(items: list[dict[str, Any]]) -> str:
    """Column names once, then a line per record; a field with one value in every record is said once."""
    columns: list[str] = []
    for item in items:
        for key in item:
            if key not in columns:
                columns.append(key)
    common: dict[str, Any] = {}
    if len(items) > 1:
        for key in columns:
            if key != "id" and all(key in item and item[key] == items[0][key] for item in items):
                common[key] = items[0][key]
    columns = [key for key in columns if key not in common]
    lines = [COMMON + json.dumps(common, ensure_ascii=False, separators=(",", ":"), default=str)] if common else []
    lines.append(" | ".join(columns))
    lines += [" | ".join(_cell(item.get(key)) for key in columns) for item in items]
    return "\n".join(lines)


def result_text(summary: str, data: dict[str, Any]) -> str:
    """The text block for a (pruned) result: the summary line, then the data.

    A list's summary already says its page, pages, count and window, so below it come only the table
    (JSON for a single record, where a table would cost more) and any note.
    """
    items = data.get("items")
    if isinstance(items, list) and all(isinstance(item, dict) for item in items):
        parts = [summary]
        if len(items) > 1:
            parts.append(table(items))
        elif items:
            parts.append(json.dumps(items[0], ensure_ascii=False, separators=(",", ":"), default=str))
        if data.get("note"):
            parts.append(str(data["note"]))
        return "\n".join(parts)
    return summary + "\n" + json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=str)
