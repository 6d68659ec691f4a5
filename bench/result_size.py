"""What a result costs on the wire: the current form against the JSON-twice form it replaced.

Every list tool (and a few record tools) is called once on the seeded sandbox with the arguments of its
end-to-end case; then every top-level list tool once, first page at the default size, on the account of
`workflows.py` (200 clients, 2,000 invoices, 5,000 hour entries), where pages are full as in a working
account. The target is on those full pages; the seeded sandbox's lists hold 1-18 records. From the same API answer (`executor.execute`) two results are built and serialised as
the SDK puts a tools/call result on the wire (`CallToolResult`, by alias, no nulls):

* before: structuredContent = the shaped data as it was, text = summary + the same data as JSON;
* now: what `ToolService` answers - empty values left out of both copies, and for lists a text table
  (column names once, a line per record) instead of the JSON a second time.

No field is lost: the check re-reads every non-empty field of every record from the new text table.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import anyio

import _common as c

TARGET_SAVING = 40.0  # per cent, list results


def wire_bytes(text: str, data: dict[str, Any]) -> int:
    import mcp_types as types

    result = types.CallToolResult(content=[types.TextContent(text=text)], structured_content=data)
    return len(json.dumps(result.model_dump(by_alias=True, mode="json", exclude_none=True),
                          ensure_ascii=False, separators=(",", ":")).encode())


def fields_in_table(text: str, items: list[dict[str, Any]]) -> bool:
    """Every non-empty field of every record appears in its row of the text table."""
    from clientary_mcp.tools.text import COMMON, _cell

    lines = text.split("\n")[1:]
    if len(items) == 1:
        return json.loads(lines[0]) == items[0]
    common = json.loads(lines.pop(0)[len(COMMON):]) if lines and lines[0].startswith(COMMON) else {}
    header = lines[0].split(" | ") if lines else []
    rows = lines[1:]
    if len(rows) < len(items):
        return False
    for item, line in zip(items, rows):
        cells = dict(zip(header, line.split(" | ")))
        for key, value in item.items():
            if key in common:
                if common[key] != value:
                    return False
            elif cells.get(key) != _cell(value):
                return False
    return True


def seeded_cases() -> list[tuple[str, dict[str, Any]]]:
    sys.path.insert(0, str(c.ROOT / "tests"))
    from test_tools_e2e import CASES  # the arguments each tool's end-to-end case uses

    from clientary_mcp.tools import BY_NAME

    return [(name, args) for name, (args, _) in sorted(CASES.items()) if BY_NAME[name].kind == "read"]


def full_page_cases() -> list[tuple[str, dict[str, Any]]]:
    from clientary_mcp.tools import REGISTRY

    return [(s.name, {}) for s in REGISTRY if s.kind == "read" and s.list_key and not any(f.required for f in s.fields)]


def working_account() -> Any:
    import random

    from clientary_mcp.sandbox import create_app
    from workflows import TODAY, seed

    app = create_app(seed_data=False, today=TODAY)
    seed(app.state.store, 200, 2000, 5000, random.Random(7))
    return app


async def measure(app: Any, cases: list[tuple[str, dict[str, Any]]]) -> list[tuple[str, int, int, bool, int]]:
    from clientary_mcp.app import sandbox_settings
    from clientary_mcp.executor import execute
    from clientary_mcp.tools import BY_NAME, validate_arguments
    from clientary_mcp.tools.text import KEPT, prune, result_text
    from clientary_mcp.api import ClientaryClient
    from clientary_mcp.sandbox import SandboxTransport

    api = ClientaryClient(sandbox_settings(), transport=SandboxTransport(app))
    rows = []
    try:
        for name, args in cases:
            spec = BY_NAME[name]
            outcome = await execute(api, spec, validate_arguments(spec, args))
            before = wire_bytes(outcome.summary + "\n" + json.dumps(outcome.data, ensure_ascii=False,
                                                                     separators=(",", ":"), default=str),
                                outcome.data)
            data = prune(outcome.data, KEPT)
            text = result_text(outcome.summary, data)
            now = wire_bytes(text, data)
            items = data.get("items") if spec.list_key else None
            complete = fields_in_table(text, items) if items else True
            rows.append((name, before, now, complete, len(items or [])))
    finally:
        await api.aclose()
    return rows


def main() -> int:
    p = c.parser("Bytes of tools/call results on the wire: JSON twice with nulls, against the current form.")
    args = p.parse_args()
    from clientary_mcp.sandbox import create_app

    rows = anyio.run(measure, create_app(), seeded_cases())
    full = anyio.run(measure, working_account(), full_page_cases())
    lists = [r for r in rows if r[4]]
    records = [r for r in rows if not r[4]]
    report = c.Report("result_size", f"result_size: tools/call results on the wire, {len(rows)} read tools "
                                     f"on the seeded sandbox and {len(full)} list tools on full pages, before "
                                     "and now from the same API answers")
    groups = (("full pages, working account", full, True), ("seeded lists", lists, False),
              ("seeded records", records, False))
    for label, group, target in groups:
        before, now = sum(r[1] for r in group), sum(r[2] for r in group)
        report.add(f"{label}: JSON twice with nulls (before)", before, "B", key=target)
        report.add(f"{label}: now", now, "B", key=target)
        saving = 100.0 * (before - now) / before if before else 0.0
        report.add(f"{label}: fewer bytes", saving, "%", (">=", TARGET_SAVING) if target else None)
    complete = all(r[3] for r in lists + full)
    report.add("every non-empty field of every record in the text table", "yes" if complete else "no", "", "all",
               ok=complete)
    report.extra = {"per_tool": [dict(zip(("tool", "before", "now", "complete", "items"), r)) for r in rows],
                    "full_pages": [dict(zip(("tool", "before", "now", "complete", "items"), r)) for r in full]}
    return report.finish(args)


if __name__ == "__main__":
    sys.exit(main())
