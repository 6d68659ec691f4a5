"""Read-only reports: one project's profitability, and an audit of logged time per staff member."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from ..base import Field
from ..shapes import shape_record
from .common import ALL_TIME, both, cap_note, cents, day, first_error, gather, number, output, read_all, today

if TYPE_CHECKING:
    from ...api import ClientaryClient

DRAFT, CANCELLED = "draft", "cancelled"  # invoice statuses, by the names of tools/codes.py
FIXED = "fixed_amount"


async def project_profitability(api: ClientaryClient, a: dict[str, Any]) -> Any:
    from ...executor import Outcome

    base = f"/api/v2/projects/{a['project_id']}"
    raw, hours, expenses, (invoices, inv_page) = await both(
        lambda: api.request("GET", base),
        lambda: api.list_unpaginated(f"{base}/hours", "hours"),
        lambda: api.list_unpaginated(f"{base}/expenses", "expenses", params=ALL_TIME),
        lambda: read_all(api, f"{base}/invoices", "invoices", "invoice"))
    project = shape_record("project", raw)
    entries = [shape_record("hour", h) for h in hours.items]
    fallback = number(project.get("rate"))

    def value(e: dict[str, Any]) -> float:
        return number(e.get("hours")) * (number(e.get("rate")) if e.get("rate") is not None else fallback)

    billed = [e for e in entries if e.get("billed")]
    unbilled = [e for e in entries if not e.get("billed")]
    spent = cents(sum(number(x.get("amount")) for x in expenses.items))
    live = [i for i in invoices if i.get("status") not in (DRAFT, CANCELLED)]
    drafts = [i for i in invoices if i.get("status") == DRAFT]
    invoiced = cents(sum(number(i.get("total_cost")) for i in live))
    drafted = cents(sum(number(i.get("total_cost")) for i in drafts))
    paid = cents(sum(number(i.get("total_payments")) for i in invoices))
    worked_h = round(sum(number(e.get("hours")) for e in entries), 4)
    fixed = project.get("project_type") == FIXED
    unbilled_value = 0.0 if fixed else cents(sum(value(e) for e in unbilled))
    budget = number(project.get("budget"))
    in_hours = project.get("budget_type") == "hours"
    used = worked_h if in_hours else cents(sum(value(e) for e in entries) + spent)
    data: dict[str, Any] = {
        "status": "done",
        "project": {k: project.get(k) for k in ("id", "name", "client_id", "client_name", "currency_code",
                                                 "project_type", "rate")},
        "hours": {"worked": worked_h, "billed": round(sum(number(e.get("hours")) for e in billed), 4),
                  "unbilled": round(sum(number(e.get("hours")) for e in unbilled), 4)},
        "value": {"worked": cents(sum(value(e) for e in entries)), "billed": cents(sum(value(e) for e in billed)),
                  "unbilled": unbilled_value},
        "expenses": {"total": spent, "count": len(expenses.items)},
        "invoices": {"invoiced": invoiced, "drafts": drafted, "paid": paid,
                     "outstanding": cents(sum(number(i.get("balance")) for i in live)), "count": len(invoices)},
        "budget": {"in": "hours" if in_hours else "amount", "budget": budget, "used": used,
                   "remaining": round(budget - used, 2) if budget else None},
        # What the project brings in once its drafts and unbilled time are invoiced, less what it cost.
        "margin": cents((project.get("rate") if fixed else invoiced + drafted + unbilled_value) - spent),
        "margin_basis": ("fixed price - expenses" if fixed
                         else "invoiced + drafts + unbilled hours at their rates - expenses (all dates)"),
    }
    if inv_page.truncated:
        data["note"] = cap_note("invoices", inv_page)
    cur = project.get("currency_code") or ""
    text = (f"Project {project.get('id')} ({project.get('name')}): {worked_h} h worked "
            f"({data['hours']['unbilled']} h unbilled worth {unbilled_value} {cur}), invoiced {invoiced}, paid {paid}, "
            f"expenses {spent}, margin {data['margin']} {cur}"
            + (f"; budget {budget:g} {'h' if in_hours else cur}, {data['budget']['remaining']} left" if budget else "")
            + ".")
    data["summary"] = text
    return Outcome(data, text)


async def time_audit(api: ClientaryClient, a: dict[str, Any]) -> Any:
    from ...executor import Outcome

    end = day(a.get("to_date")) or today()
    start = day(a.get("from_date")) or end - timedelta(days=6)
    stale = a.get("unbilled_days", 30)
    if a.get("project_id"):
        projects = [shape_record("project", await api.request("GET", f"/api/v2/projects/{a['project_id']}"))]
        proj_page = None
    else:
        projects, proj_page = await read_all(api, "/api/v2/projects", "projects", "project",
                                             params={"filter": "all"})
    staff_list, hour_pages = await both(
        lambda: api.list_unpaginated("/api/v2/staff", "staff"),
        lambda: gather(api, [lambda p=p: api.list_unpaginated(f"/api/v2/projects/{p['id']}/hours", "hours")
                             for p in projects]))
    first_error(hour_pages)
    staff = {s.get("id"): s.get("name") for s in staff_list.items}
    cap = api.settings.max_records
    per_staff: dict[Any, dict[str, Any]] = {}
    read = 0
    capped = False
    counts = defaultdict(int)
    for project, page in zip(projects, hour_pages):
        entries = sorted((shape_record("hour", h) for h in page.items), key=lambda e: (str(e.get("date")), e["id"]))
        budget = number(project.get("budget"))
        in_hours = project.get("budget_type") == "hours"
        running = 0.0
        for e in entries:
            if read >= cap:
                capped = True
                break
            read += 1
            running += number(e.get("hours")) if in_hours else number(e.get("hours")) * number(e.get("rate"))
            when = day(e.get("date"))
            if when is None or not start <= when <= end:
                continue
            flags = []
            if not str(e.get("description") or "").strip():
                flags.append("no_description")
            if not e.get("billed") and (today() - when).days > stale:
                flags.append("unbilled_too_long")
            if budget and running > budget:
                flags.append("over_budget")
            who = e.get("user_id")
            row = per_staff.setdefault(who, {"user_id": who, "name": staff.get(who), "entries": 0, "hours": 0.0,
                                             "flags": defaultdict(int), "items": []})
            row["entries"] += 1
            row["hours"] = round(row["hours"] + number(e.get("hours")), 4)
            for f in flags:
                row["flags"][f] += 1
                counts[f] += 1
            if flags:
                row["items"].append({"id": e["id"], "project_id": project.get("id"), "project": project.get("name"),
                                     "date": e.get("date"), "hours": e.get("hours"), "title": e.get("title"),
                                     "flags": flags})
    people = sorted(per_staff.values(), key=lambda r: (-len(r["items"]), str(r["name"])))
    for r in people:
        r["flags"] = dict(r["flags"])
    data: dict[str, Any] = {"status": "done", "from_date": start.isoformat(), "to_date": end.isoformat(),
                            "unbilled_days": stale, "staff": people, "flag_counts": dict(counts),
                            "entries_read": read, "projects_read": len(projects)}
    notes = []
    if capped:
        notes.append(f"Stopped at the record cap of {cap} hour entries; later projects were not audited.")
    if proj_page is not None and proj_page.truncated:
        notes.append(cap_note("projects", proj_page))
    if notes:
        data["note"] = " ".join(notes)
        data["truncated"] = True
    flagged = sum(len(r["items"]) for r in people)
    text = (f"Time audit {start}..{end}: {sum(r['entries'] for r in people)} entries by {len(people)} staff, "
            f"{flagged} flagged (" + (", ".join(f"{k} {v}" for k, v in counts.items()) or "none") + ")."
            + (" " + data["note"] if notes else ""))
    data["summary"] = text
    return Outcome(data, text)


PROFIT_FIELDS = (Field("project_id", "id", "Project to report on", required=True),)
AUDIT_FIELDS = (
    Field("from_date", "date", "First day (default: 6 days before to_date)"),
    Field("to_date", "date", "Last day (default today)"),
    Field("unbilled_days", "int", "Flag entries unbilled for longer than this (default 30)", minimum=0,
          maximum=3650),
    Field("project_id", "id", "Only this project (default: all projects)"),
)
PROFIT_OUTPUT = output(hours={"type": "object"}, value={"type": "object"}, expenses={"type": "object"},
                       invoices={"type": "object"}, budget={"type": "object"}, margin={"type": "number"})
AUDIT_OUTPUT = output(staff={"type": "array", "items": {"type": "object"}}, flag_counts={"type": "object"},
                      note={"type": "string"}, truncated={"type": "boolean"})
