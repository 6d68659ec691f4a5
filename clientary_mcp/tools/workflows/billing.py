"""invoice_unbilled_hours: a project's unbilled hours become one draft invoice, and exactly those entries billed.

Why it cannot bill twice: the invoice itself records which entries it bills, in its summary
(`[hours p<project>: <ids>]`), so the record of what was invoiced lives in Clientary, not in this process.
A run first looks for such invoices: entries an earlier run invoiced but did not get to mark are only marked
(no new invoice); only entries on no invoice go on a new one. An entry is marked billed only once the invoice
that carries it exists.
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import anyio

from ..base import Field
from ..shapes import shape_record
from .common import Incomplete, both, cents, day, gather, number, output, today

if TYPE_CHECKING:
    from ...api import ClientaryClient

MARKER = re.compile(r"\[hours p(\d+): ([\d, ]+)\]")
_locks: dict[tuple[int, int], anyio.Lock] = {}  # one run per project at a time in this process


def marker(project_id: int, entry_ids: list[int]) -> str:
    return f"[hours p{project_id}: {', '.join(map(str, sorted(entry_ids)))}]"


def invoiced_entries(invoices: list[dict[str, Any]], project_id: int) -> dict[int, dict[str, Any]]:
    """Entry id -> the invoice whose marker names it, for this project."""
    covered: dict[int, dict[str, Any]] = {}
    for inv in invoices:
        for project, ids in MARKER.findall(str(inv.get("summary") or "")):
            if int(project) == project_id:
                for ident in ids.replace(" ", "").split(","):
                    if ident:
                        covered[int(ident)] = inv
    return covered


def _lines(entries: list[dict[str, Any]], group_by: str, fallback_rate: float) -> list[dict[str, Any]]:
    if group_by == "entry":
        lines = []
        for e in entries:
            text = f"{e.get('date')} {e.get('title')}" + (f": {e['description']}" if e.get("description") else "")
            lines.append({"title": text[:250], "quantity": number(e.get("hours")),
                          "price": number(e.get("rate")) if e.get("rate") is not None else fallback_rate})
        return lines
    groups: dict[tuple[str, float], float] = defaultdict(float)
    for e in entries:
        rate = number(e.get("rate")) if e.get("rate") is not None else fallback_rate
        groups[(str(e.get("title")), rate)] += number(e.get("hours"))
    return [{"title": title[:250], "quantity": round(hours, 4), "price": rate}
            for (title, rate), hours in groups.items()]


async def _mark(api: ClientaryClient, ids: list[int]) -> tuple[list[int], dict[int, str]]:
    jobs = [lambda i=i: api.request("PUT", f"/api/v2/hours/{i}", json={"project_item": {"billed": True}})
            for i in ids]
    results = await gather(api, jobs)
    done = [i for i, r in zip(ids, results) if not isinstance(r, BaseException)]
    failed = {i: str(r) for i, r in zip(ids, results) if isinstance(r, BaseException)}
    return done, failed


async def invoice_unbilled_hours(api: ClientaryClient, a: dict[str, Any]) -> Any:
    project_id = a["project_id"]
    lock = _locks.setdefault((id(api), project_id), anyio.Lock())
    async with lock:
        return await _run(api, a, project_id)


async def _run(api: ClientaryClient, a: dict[str, Any], project_id: int) -> Any:
    from ...api import ClientaryError, UnknownOutcomeError
    from ...executor import Outcome

    base = f"/api/v2/projects/{project_id}"
    raw_project, hours = await both(lambda: api.request("GET", base),
                                    lambda: api.list_unpaginated(f"{base}/hours", "hours",
                                                                 params={"filter": "unbilled"}))
    project = shape_record("project", raw_project)
    client_id = project.get("client_id")
    unbilled = [shape_record("hour", h) for h in hours.items]
    unbilled = [e for e in unbilled if not e.get("billed")]  # the filter is the server's; check it anyway
    # Invoices that may carry an earlier run's marker: the client's (or, without a client, the project's).
    where = f"/api/v2/clients/{client_id}/invoices" if client_id else f"{base}/invoices"
    page = await api.list_all(where, "invoices")
    if page.truncated:
        raise Incomplete(f"Nothing was done: the {page.total_count} invoices to check for an earlier run exceed the "
                         "record cap, so a second invoice for the same hours could not be ruled out. Raise "
                         "CLIENTARY_MAX_RECORDS and call again.", {"done": {}})
    covered = invoiced_entries(page.items, project_id)

    start, end = a.get("from_date"), a.get("to_date")
    in_range = [e for e in unbilled
                if (start is None or (day(e.get("date")) or today()).isoformat() >= start)
                and (end is None or (day(e.get("date")) or today()).isoformat() <= end)]
    finishing = [e for e in unbilled if e["id"] in covered]  # on an invoice already: only the mark is missing
    fresh = [e for e in in_range if e["id"] not in covered]
    done: dict[str, Any] = {"project_id": project_id, "project_name": project.get("name")}
    if finishing:
        done["finished_from_earlier_run"] = {
            str(inv_id): sorted(e["id"] for e in finishing if covered[e["id"]].get("id") == inv_id)
            for inv_id in {covered[e["id"]].get("id") for e in finishing}}

    invoice: dict[str, Any] | None = None
    if fresh:
        issue = a.get("date") or today().isoformat()
        due = a.get("due_date") or (day(issue) + timedelta(days=30)).isoformat()  # type: ignore[operator]
        fallback = number(project.get("rate")) if project.get("project_type") != "fixed_amount" else 0.0
        lines = _lines(sorted(fresh, key=lambda e: (str(e.get("date")), e["id"])), a.get("group_by", "entry"),
                       fallback)
        summary = f"Hours of {project.get('name')} {marker(project_id, [e['id'] for e in fresh])}"
        body = {"date": issue, "due_date": due, "currency_code": project.get("currency_code") or "USD",
                "project_id": project_id, "summary": summary, "invoice_items_attributes": lines}
        if client_id:
            body["client_id"] = client_id
        try:
            invoice = shape_record("invoice", await api.request("POST", "/api/v2/invoices", json={"invoice": body}))
        except UnknownOutcomeError as exc:
            raise Incomplete(
                f"The invoice request got no clear answer ({exc.message}); it may or may not exist. No entry was "
                "marked billed. Call invoice_unbilled_hours again with the same arguments: it finds the invoice by "
                "the marker in its summary if it was made, and then only marks the entries.",
                {"done": done, "marker": marker(project_id, [e["id"] for e in fresh])}) from exc
        except ClientaryError as exc:
            raise Incomplete(f"The invoice was not created ({exc.message}). No entry was marked billed; fix the "
                             "cause and call again.", {"done": done}) from exc
        done["invoice"] = {k: invoice.get(k) for k in ("id", "number", "client_id", "total_cost", "currency_code",
                                                        "status")}
        done["invoice"]["lines"] = len(lines)
        # Another process may have invoiced the same entries at the same moment: look again before marking.
        again = await api.list_all(where, "invoices")
        rivals = {e_id: inv for e_id, inv in invoiced_entries(again.items, project_id).items()
                  if e_id in {e["id"] for e in fresh} and inv.get("id") != invoice.get("id")}
        if rivals:
            others = sorted({str(inv.get("id")) for inv in rivals.values()})
            raise Incomplete(
                f"Draft invoice {invoice.get('number')} (id {invoice.get('id')}) was created, but invoice(s) "
                f"{', '.join(others)} were made for some of the same entries at the same time (another run). No entry "
                "was marked billed. Delete one of the drafts with delete_invoice (its preview first), then call "
                "invoice_unbilled_hours again with the same arguments to mark the entries.",
                {"done": done, "rival_invoices": [int(i) for i in others if i.isdigit()],
                 "shared_entries": sorted(rivals)})

    to_mark = [e["id"] for e in finishing] + [e["id"] for e in fresh]
    if not to_mark:
        text = (f"No unbilled hours to invoice on project {project_id} ({project.get('name')})"
                + (f" between {start or 'the start'} and {end or 'today'}" if start or end else "") + ".")
        return Outcome({"status": "done", "summary": text, **done, "entries_billed": []}, text)
    marked, failed = await _mark(api, to_mark)
    done["entries_billed"] = sorted(marked)
    hours_billed = cents(sum(number(e.get("hours")) for e in finishing + fresh if e["id"] in set(marked)))
    if failed:
        text = (f"Incomplete: {len(marked)} of {len(to_mark)} entries were marked billed; {len(failed)} were not "
                f"({', '.join(map(str, sorted(failed)))}) although they are on "
                + (f"invoice {invoice.get('number')} (id {invoice.get('id')})" if invoice else "an invoice already")
                + ". Call invoice_unbilled_hours again with the same arguments: it finds the invoice and marks only "
                "those entries (no second invoice).")
        raise Incomplete(text, {"done": done, "not_marked": sorted(failed), "errors": failed})
    parts = []
    if invoice:
        parts.append(f"Draft invoice {invoice.get('number')} (id {invoice.get('id')}, {invoice.get('total_cost')} "
                     f"{invoice.get('currency_code') or ''}) with {done['invoice']['lines']} line(s) for "
                     f"{len(fresh)} entr{'y' if len(fresh) == 1 else 'ies'}")
    if finishing:
        parts.append(f"finished an earlier run: {len(finishing)} entr{'y' if len(finishing) == 1 else 'ies'} "
                     "already on an invoice marked billed")
    text = "; ".join(parts) + f"; {len(marked)} entries ({hours_billed} h) marked billed. Not emailed."
    return Outcome({"status": "done", "summary": text, **done}, text)


TOOL_FIELDS = (
    Field("project_id", "id", "Project whose unbilled hours to invoice", required=True),
    Field("from_date", "date", "Only entries on or after this day"),
    Field("to_date", "date", "Only entries on or before this day"),
    Field("group_by", "choice", "entry: a line per entry; title_rate: a line per title and rate",
          choices=("entry", "title_rate")),
    Field("date", "date", "Invoice date (default today)"),
    Field("due_date", "date", "Due date (default date + 30 days)"),
)
OUTPUT = output(invoice={"type": "object"}, entries_billed={"type": "array", "items": {"type": "integer"}},
                finished_from_earlier_run={"type": "object"}, not_marked={"type": "array"})
