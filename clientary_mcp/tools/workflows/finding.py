"""Account-wide searches: overdue invoices across all clients, and contacts by email or name."""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any

from ..base import Field
from ..shapes import shape_record
from .common import both, cap_note, cents, day, gather, number, output, read_all, today

if TYPE_CHECKING:
    from ...api import ClientaryClient

NOT_OWED = ("draft", "cancelled")  # a draft was never sent, a cancelled invoice is not owed: neither is overdue
MAX_MATCHES = 50


async def find_overdue_invoices(api: ClientaryClient, a: dict[str, Any]) -> Any:
    from ...executor import Outcome

    as_of = day(a.get("as_of")) or today()
    least = max(1, a.get("min_days_overdue", 1))
    (invoices, inv_page), (clients, cli_page) = await both(
        lambda: read_all(api, "/api/v2/invoices", "invoices", "invoice"),
        lambda: read_all(api, "/api/v2/clients", "clients", "client"))
    names = {c.get("id"): c.get("name") for c in clients}
    items = []
    for inv in invoices:
        due, balance = day(inv.get("due_date")), number(inv.get("balance"))
        if due is None or balance <= 0 or inv.get("status") in NOT_OWED:
            continue
        late = (as_of - due).days
        if late < least:
            continue
        items.append({"id": inv.get("id"), "number": inv.get("number"), "client_id": inv.get("client_id"),
                      "client_name": names.get(inv.get("client_id")), "date": inv.get("date"),
                      "due_date": inv.get("due_date"), "days_overdue": late, "balance": balance,
                      "total_cost": inv.get("total_cost"), "currency_code": inv.get("currency_code"),
                      "status": inv.get("status")})
    items.sort(key=lambda i: (i["due_date"], i["id"]))
    totals: dict[str, dict[str, Any]] = defaultdict(lambda: {"count": 0, "balance": 0.0})
    for i in items:
        t = totals[i["currency_code"] or "?"]
        t["count"] += 1
        t["balance"] = cents(t["balance"] + i["balance"])
    data: dict[str, Any] = {"status": "done", "as_of": as_of.isoformat(), "items": items, "returned": len(items),
                            "totals": dict(totals), "invoices_read": len(invoices)}
    notes = [cap_note("invoices", inv_page)] if inv_page.truncated else []
    if cli_page.truncated:
        notes.append(cap_note("clients", cli_page) + " Some client names are missing.")
    if notes:
        data["note"] = " ".join(notes)
        data["truncated"] = True
    money = ", ".join(f"{t['balance']} {c} ({t['count']})" for c, t in totals.items()) or "nothing"
    text = (f"{len(items)} overdue invoice(s) as of {as_of} (at least {least} day(s) late), oldest first; "
            f"owed: {money}." + (" " + data["note"] if notes else ""))
    data["summary"] = text
    return Outcome(data, text)


async def _owner(api: ClientaryClient, party_id: int) -> dict[str, Any]:
    """A contact's client_id names a client, or a lead (leads and clients share ids)."""
    from ...api import NotFoundError

    try:
        return {"kind": "client", **shape_record("client", await api.request("GET", f"/api/v2/clients/{party_id}"))}
    except NotFoundError:
        return {"kind": "lead", **shape_record("lead", await api.request("GET", f"/api/v2/leads/{party_id}"))}


async def find_contacts(api: ClientaryClient, a: dict[str, Any]) -> Any:
    from ...executor import Outcome

    wanted = a["query"].strip().casefold() or a["query"].casefold()
    contacts, page = await read_all(api, "/api/v2/contacts", "contacts", "contact", params={"page_size": 100})
    exact, partial = [], []
    for c in contacts:
        email, name = str(c.get("email") or "").casefold(), str(c.get("name") or "").casefold()
        if wanted in (email, name):
            exact.append(c)
        elif wanted in email or wanted in name:
            partial.append(c)
    matches = (exact + partial)[:MAX_MATCHES]
    owners = sorted({c.get("client_id") for c in matches if isinstance(c.get("client_id"), int)})
    found = await gather(api, [lambda o=o: _owner(api, o) for o in owners])
    by_id = {o: r for o, r in zip(owners, found) if not isinstance(r, BaseException)}
    items = []
    for c in matches:
        owner = by_id.get(c.get("client_id"), {})
        items.append({k: c.get(k) for k in ("id", "client_id", "name", "email", "title", "phone")}
                     | {"client_name": owner.get("name"), "client_kind": owner.get("kind"),
                        "exact": c in exact})
    data: dict[str, Any] = {"status": "done", "query": a["query"], "items": items, "returned": len(items),
                            "exact_matches": len(exact), "contacts_read": len(contacts)}
    if page.truncated:
        data["note"] = cap_note("contacts", page)
        data["truncated"] = True
    more = len(exact) + len(partial) - len(matches)
    if more > 0:
        data["note"] = (data.get("note", "") + f" {more} more matches not shown; narrow the query.").strip()
    text = (f"{len(exact)} exact and {len(partial)} partial match(es) for {a['query']!r} among {len(contacts)} "
            "contacts" + (": " + "; ".join(f"{i['name']} <{i['email']}> at {i['client_name']}" for i in items[:5])
                          if items else "; none, so creating one would not duplicate anybody") + ".")
    data["summary"] = text
    return Outcome(data, text)


OVERDUE_FIELDS = (
    Field("as_of", "date", "Day to measure from (default today)"),
    Field("min_days_overdue", "int", "Only invoices at least this many days late (default 1)", minimum=1,
          maximum=3650),
)
CONTACT_FIELDS = (Field("query", "string", "Email or name, or part of one (case-insensitive)", required=True,
                        minimum=2),)
LIST_OUTPUT = output(items={"type": "array", "items": {"type": "object"}}, returned={"type": "integer"},
                     totals={"type": "object"}, note={"type": "string"}, truncated={"type": "boolean"})
