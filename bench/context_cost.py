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

TARGET_TOTAL = 26_000
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
    # The byte budget was set per tool for the first 57; it scales with the number of tools.
    report.add("model-visible bytes, all tools", visible, "B", ("<=", round(TARGET_TOTAL / 57 * n)))
    report.add("model-visible bytes per tool (mean)", visible / n, "B", ("<=", round(TARGET_TOTAL / 57)))
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
