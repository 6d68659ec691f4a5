"""One generic path from validated tool arguments to a Clientary request and a shaped result.

Every tool goes through `build_request` and `execute`; nothing here knows about MCP, policy or confirmation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .tools.base import ITEM_FIELDS, Incomplete, ToolSpec  # noqa: F401 (Incomplete: part of the call path)
from .tools.shapes import counted, describe, plural, shape_record

if TYPE_CHECKING:
    from .api import ClientaryClient, Page

_ITEM_FIELDS = {f.name: f for f in ITEM_FIELDS}


@dataclass
class Request:
    method: str
    path: str
    params: dict[str, Any] = field(default_factory=dict)
    body: dict[str, Any] | None = None


@dataclass
class Outcome:
    """A tool's successful result: structured data plus a one-line summary for text-only hosts."""

    data: dict[str, Any]
    summary: str


def build_request(spec: ToolSpec, args: dict[str, Any]) -> Request:
    path_values = {f.name: args[f.name] for f in spec.fields if f.loc == "path"}
    req = Request(spec.method, spec.path.format(**path_values), dict(spec.defaults))
    body: dict[str, Any] = {}
    for f in spec.fields:
        if f.name not in args or f.loc in ("path", "control"):
            continue
        value = f.to_wire(args[f.name])
        if value is None:
            continue
        if f.type == "items":
            value = [{_ITEM_FIELDS[k].wire_name: _ITEM_FIELDS[k].to_wire(v) for k, v in item.items()}
                     for item in value]
        if f.loc == "query":
            req.params[f.wire_name] = value
        else:
            body[f.wire_name] = value
    if spec.method in ("POST", "PUT"):
        req.body = {spec.wrapper: body} if spec.wrapper else body
    return req


async def execute(api: ClientaryClient, spec: ToolSpec, args: dict[str, Any]) -> Outcome:
    if spec.runner is not None:
        return await spec.runner(api, args)
    req = build_request(spec, args)
    entity = spec.entity or "record"
    if spec.list_key:
        return await _list(api, spec, req, args, entity)
    raw = await api.request(req.method, req.path, params=req.params or None, json=req.body)
    if spec.method == "DELETE":
        ids = {f.name: args[f.name] for f in spec.fields if f.loc == "path"}
        return Outcome({"status": "done", "summary": f"Deleted {entity.replace('_', ' ')} {args['id']}",
                        "record": ids}, f"Deleted {entity.replace('_', ' ')} {args['id']}.")
    if spec.hook == "send_message":  # what Clientary answered, if anything
        record = shape_record(entity, raw) if isinstance(raw, dict) else {}
        document = spec.path.split("/")[3][:-1]  # /api/v2/<invoices|estimates>/{id}/messages
        text = f"Sent {document} {args['id']} to {', '.join(args.get('recipients', []))}"
        return Outcome({"status": "done", "summary": text, "record": record}, text + ".")
    if spec.hook == "charge":
        record = shape_record(entity, raw) if isinstance(raw, dict) else {}
        text = (f"Charged {record.get('amount', 'the balance')} to payment profile {args['payment_profile_id']} "
                f"for invoice {args['invoice_id']}")
        return Outcome({"status": "done", "summary": text, "record": record}, text + ".")
    if raw is None and spec.method == "PUT":
        # Some updates answer 2xx with an empty body: read the record back so the agent always gets it.
        raw = await api.request("GET", req.path)
    rec = shape_record(entity, raw if raw is not None else {})
    verb = {"POST": "Created", "PUT": "Updated"}.get(spec.method, "")
    return Outcome(rec, f"{verb} {describe(entity, rec)}".strip() + ".")


NAMED_CLIENT = ("invoice", "estimate", "recurring")  # their list items name the client, so the agent can pick one
_FEW = 10


async def _client_names(api: ClientaryClient, items: list[dict[str, Any]]) -> None:
    """Add `client_name` to items that carry only a `client_id`: a GET per client when few, else the client list."""
    from .api import ClientaryError

    wanted = sorted({i["client_id"] for i in items if isinstance(i.get("client_id"), int) and not i.get("client_name")})
    if not wanted:
        return
    names: dict[int, Any] = {}
    try:
        if len(wanted) <= _FEW:
            from .tools.workflows.common import gather

            found = await gather(api, [lambda c=c: api.request("GET", f"/api/v2/clients/{c}") for c in wanted])
            names = {c: r.get("name") for c, r in zip(wanted, found) if isinstance(r, dict)}
        else:
            page = await api.list_all("/api/v2/clients", "clients")
            names = {c.get("id"): c.get("name") for c in page.items}
    except ClientaryError:
        return  # names are a convenience; the list itself was read
    for item in items:
        if item.get("client_id") in names:
            item["client_name"] = names[item["client_id"]]


async def _list(api: ClientaryClient, spec: ToolSpec, req: Request, args: dict[str, Any], entity: str) -> Outcome:
    params = req.params or None
    key = spec.list_key or ""
    page: Page
    if spec.paging == "pages":
        if args.get("all_pages"):
            page = await api.list_all(req.path, key, params=params)
        else:
            page = await api.list_page(req.path, key, page=args.get("page", 1), params=params)
    else:
        page = await api.list_unpaginated(req.path, key, params=params)
    items = [shape_record(entity, item, compact=True) for item in page.items]
    if entity in NAMED_CLIENT and not spec.path.startswith("/api/v2/clients/"):  # one client's list: known already
        await _client_names(api, items)
    data: dict[str, Any] = {"items": items, "returned": len(items)}
    words = plural(entity)
    if spec.paging == "pages":
        data.update(page=page.page, page_count=page.page_count, total_count=page.total_count)
        nxt = None
        if not args.get("all_pages") and page.page and page.page_count and page.page < page.page_count:
            nxt = page.page + 1
        data["next_page"] = nxt
        data["truncated"] = bool(page.truncated)
        if page.truncated:
            data["note"] = (f"Stopped at the record cap: {len(items)} of {page.total_count} {words}. "
                            "Ask for specific pages with page=N to read the rest.")
            summary = f"{len(items)} of {page.total_count} {words} (record cap reached)."
        elif args.get("all_pages"):
            summary = f"All {counted(len(items), words)}."
        else:
            in_all = f" ({page.total_count} in all)" if page.total_count is not None else ""
            if page.page and page.page > (page.page_count or 1) and not items:
                pages = counted(page.page_count or 0, "pages")
                summary = f"No {words} on page {page.page}: there {'is' if page.page_count == 1 else 'are'} {pages}{in_all}."
            else:
                summary = f"{counted(len(items), words)}, page {page.page} of {page.page_count or 1}{in_all}" + (
                    f". Next: page={nxt}." if nxt else ".")
    else:
        for extra in ("from_date", "to_date"):
            if extra in page.extra:
                data[extra] = shape_record("window", {extra: page.extra[extra]})[extra]
        window = f" from {data['from_date']} to {data['to_date']}" if data.get("from_date") else ""
        summary = f"{counted(len(items), words)}{window}."
    if args.get("all_pages") is None and spec.paging == "pages" and data.get("next_page"):
        data.setdefault("note", f"More on page {data['next_page']}, or pass all_pages: true.")
    return Outcome(data, summary)
