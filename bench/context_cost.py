"""What the tool definitions cost an agent's context window.

Two measures per tool, both compact JSON encoded as UTF-8:

* model-visible: {"name", "description", "input_schema"} - what hosts pass to the model as the tool
  definition (e.g. the Anthropic and OpenAI tool formats carry exactly these three);
* full entry: the tools/list entry exactly as the server serialises it (title, input and output
  schema, annotations), taken from a real tools/list answer through `mcp.Client(server)` in process.

Tokens are estimated two ways, without any tokenizer download: bytes / 4, and a word-piece count
(`[A-Za-z]{1,8}|[0-9]{1,3}|[^\\sA-Za-z0-9]{1,3}`: letter runs cut every 8, digit runs every 3,
punctuation runs every 3), which tracks BPE tokenizers on JSON within about 15%.
"""

from __future__ import annotations

import json
import re
import sys
from typing import Any

import anyio

from clientary_mcp.tools import REGISTRY

import _common as c

TARGET_SEED_57 = 24_000  # the 57 actions of the seed integrations
TARGET_MEAN = 420  # over every listed tool
TARGET_COMPACT = 4_000  # the whole compact catalog
# The tools beyond the 57 actions of the seed integrations: 14 further endpoints and the workflows.
BEYOND_SEED = frozenset({
    "list_contacts", "list_invoices", "delete_invoice", "create_payment", "charge_payment_profile",
    "create_payment_profile", "create_estimate", "update_estimate", "delete_estimate", "send_estimate_message",
    "list_recurring_schedules", "get_recurring_schedule", "update_recurring_schedule", "delete_task",
    "invoice_unbilled_hours", "find_overdue_invoices", "find_contacts", "convert_lead", "project_profitability",
    "time_audit",
})
PIECES = re.compile(r"[A-Za-z]{1,8}|[0-9]{1,3}|[^\sA-Za-z0-9]{1,3}")


def compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def size(text: str) -> int:
    return len(text.encode("utf-8"))


def pieces(text: str) -> int:
    return len(PIECES.findall(text))


async def listed_tools() -> list[dict[str, Any]]:
    """The tools/list entries as the server puts them on the wire (the SDK's own serialisation)."""
    import mcp

    from clientary_mcp.app import build_service, sandbox_settings
    from clientary_mcp.safety.audit import AuditLog
    from clientary_mcp.options import load_options
    from clientary_mcp.server import build_server

    # env={} so a CLIENTARY_READ_ONLY or toolset setting in the shell cannot shrink the listing.
    service = build_service(load_options(env={}), sandbox_settings(), sandbox=True, audit=AuditLog(None))
    server = build_server(lambda ctx: (service, "bench"))
    tools: list[dict[str, Any]] = []
    async with mcp.Client(server) as client:
        cursor = None
        while True:
            page = await client.list_tools(cursor=cursor)
            # Same call the SDK's runner makes before writing a result: by_alias, json mode, no nulls.
            tools += [t.model_dump(by_alias=True, mode="json", exclude_none=True) for t in page.tools]
            cursor = page.next_cursor
            if not cursor:
                break
    return tools


def measure(tools: list[dict[str, Any]]) -> list[dict[str, Any]]:
    from clientary_mcp.tools import BY_NAME

    rows = []
    for t in tools:
        visible = {"name": t["name"], "description": t.get("description", ""), "input_schema": t["inputSchema"]}
        spec = BY_NAME[t["name"]]
        # The listing must be the registry: otherwise this would measure something else than we ship.
        assert t["inputSchema"] == spec.input_schema() and t.get("description") == spec.description, t["name"]
        visible_text, full_text = compact(visible), compact(t)
        rows.append({
            "name": t["name"],
            "visible_bytes": size(visible_text),
            "full_bytes": size(full_text),
            "tokens_bytes4": round(size(visible_text) / 4),
            "tokens_pieces": pieces(visible_text),
            "full_tokens_pieces": pieces(full_text),
            "parts": {
                "name": size(t["name"]),
                "description": size(t.get("description", "")),
                "input_schema": size(compact(t["inputSchema"])),
                "title": size(t.get("title", "")),
                "output_schema": size(compact(t.get("outputSchema", {}))),
                "annotations": size(compact(t.get("annotations", {}))),
            },
        })
    return rows


def main() -> int:
    p = c.parser("Bytes and estimated tokens of every tool definition.")
    p.add_argument("--per-tool", action="store_true", help="print every tool, not only the ten largest")
    args = p.parse_args()
    tools = anyio.run(listed_tools)
    rows = measure(tools)
    n = len(rows)
    visible = sum(r["visible_bytes"] for r in rows)
    full = sum(r["full_bytes"] for r in rows)
    listing = size(compact({"tools": tools}))

    report = c.Report("context_cost", f"context_cost: {n} tool definitions (compact JSON, UTF-8)")
    report.add("tools listed", n, "", ("==", len(REGISTRY)))
    from clientary_mcp.compact import META_DESCRIPTIONS, META_SCHEMAS

    seed = sum(r["visible_bytes"] for r in rows if r["name"] not in BEYOND_SEED)
    report.add("model-visible bytes, the seed 57", seed, "B", ("<=", TARGET_SEED_57))
    report.add("model-visible bytes, all tools", visible, "B", key=True)
    report.add("model-visible bytes per tool (mean)", visible / n, "B", ("<=", TARGET_MEAN))
    compact_bytes = sum(size(compact({"name": name, "description": META_DESCRIPTIONS[name],
                                      "input_schema": META_SCHEMAS[name]})) for name in META_SCHEMAS)
    report.add("compact catalog (--catalog compact), all three tools", compact_bytes, "B", ("<=", TARGET_COMPACT))
    report.add("model-visible tokens ≈ bytes/4", round(visible / 4), "tok", key=True)
    report.add("model-visible tokens ≈ word pieces", sum(r["tokens_pieces"] for r in rows), "tok")
    report.add("full tools/list entries, all tools", full, "B", key=True)
    report.add("full entries tokens ≈ bytes/4", round(full / 4), "tok")
    report.add("tools/list result body", listing, "B")
    for part in ("name", "description", "input_schema", "title", "output_schema", "annotations"):
        report.add(f"  of which {part}", sum(r["parts"][part] for r in rows), "B")

    largest = sorted(rows, key=lambda r: r["visible_bytes"], reverse=True)
    shown = rows if args.per_tool else largest[:10]
    heading = "per tool" if args.per_tool else "ten largest tools (model-visible bytes)"
    table = [(r["name"], f"{r['visible_bytes']:,}", f"{r['tokens_bytes4']:,}", f"{r['tokens_pieces']:,}",
              f"{r['full_bytes']:,}", f"{r['parts']['input_schema']:,}", f"{r['parts']['description']:,}")
             for r in shown]
    report.extra = {"tools": rows, "largest": [r["name"] for r in largest[:10]]}
    code = report.finish(args)
    print()
    print(c.format_table(heading, table, ("tool", "visible B", "tok b/4", "tok pieces", "full B", "input schema B",
                                          "description B"), "lrrrrrr"))
    return code


if __name__ == "__main__":
    sys.exit(main())
