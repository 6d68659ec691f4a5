"""The floor for the HTTP service: the SDK's low-level Server and session manager on uvicorn, nothing else.

It answers the tools of bench/service_load.py's mix with fixed records of the sandbox's shape, so the
difference to `clientary-mcp serve --transport http --sandbox` under the same load is what the project
adds (validation, policy, the sandbox, shaping, the audit log, the access layer). Same uvicorn defaults
as ours otherwise (httptools and uvloop where installed).

    python bench/minimal_http_server.py --port 8001 [--json]
"""

from __future__ import annotations

import argparse
import contextlib
import json
from typing import Any

import mcp_types as types
import uvicorn
from mcp.server import Server, ServerRequestContext
from mcp.server.streamable_http_manager import StreamableHTTPASGIApp, StreamableHTTPSessionManager
from starlette.applications import Starlette
from starlette.routing import Route

RECORD = {"id": 1, "number": "101", "name": "Acme Corporation", "address": "107 Market Street",
          "city": "New York", "state": "NY", "zip": "11111", "country": "US",
          "website": "https://www.acme.example", "description": "Long-standing web client", "status": "active",
          "created_at": "2025-10-27T09:30:00Z", "updated_at": "2025-10-27T09:30:00Z"}
NAMES = ("get_client", "get_project", "get_invoice", "list_clients", "list_tasks", "create_task", "update_client")
TOOLS = [types.Tool(name=name, description=name, input_schema={"type": "object"}) for name in NAMES]


async def on_list_tools(ctx: ServerRequestContext[Any, Any], params: Any) -> types.ListToolsResult:
    return types.ListToolsResult(tools=TOOLS)


async def on_call_tool(ctx: ServerRequestContext[Any, Any], params: types.CallToolRequestParams) -> types.CallToolResult:
    data: dict[str, Any] = ({"items": [RECORD] * 5, "returned": 5} if params.name.startswith("list_")
                            else {**RECORD, **(params.arguments or {})})
    text = json.dumps(data, separators=(",", ":"))
    return types.CallToolResult(content=[types.TextContent(text=text)], structured_content=data)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--json", action="store_true", help="answer POSTs with JSON instead of an SSE stream")
    args = p.parse_args()
    server = Server("minimal-http", on_list_tools=on_list_tools, on_call_tool=on_call_tool)
    manager = StreamableHTTPSessionManager(app=server, json_response=args.json)

    @contextlib.asynccontextmanager
    async def lifespan(app: Any):
        async with manager.run():
            yield

    app = Starlette(routes=[Route("/mcp", endpoint=StreamableHTTPASGIApp(manager))], lifespan=lifespan)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
