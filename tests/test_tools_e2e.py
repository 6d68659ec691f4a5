"""Each tool (the 71 endpoints and the workflows) called through a real MCP client session, its effect checked in
the sandbox.

Every case runs three times: with the arguments as given; the way clients such as mcp-use send them — every
optional argument present, null when the model left it out ("not given"); and through the compact catalog's
call_tool."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from clientary_mcp.tools import BY_NAME, REGISTRY

from support import data, session

# tool -> (arguments, check(store, structured result)). Ids refer to the sandbox's seeded demo data.
Check = Callable[[Any, dict[str, Any]], None]
CASES: dict[str, tuple[dict[str, Any], Check]] = {}


def case(tool: str, args: dict[str, Any]):
    def register(check: Check) -> Check:
        CASES[tool] = (args, check)
        return check

    return register


def ids(result: dict[str, Any]) -> list[int]:
    return [item["id"] for item in result["items"]]


# -- reads: what comes back equals what the account holds ----------------------------------------


@case("list_clients", {})
def _(store, r):
    assert ids(r) == sorted((c["id"] for c in store.table("clients")), key=lambda i: store.get("clients", i)["name"])
    assert r["page"] == 1 and r["total_count"] == store.count("clients")


@case("list_client_contacts", {"client_id": 2, "page": 2})
def _(store, r):
    mine = [c["id"] for c in store.table("contacts") if c["client_id"] == 2]
    assert r["page"] == 2 and r["total_count"] == len(mine) > 10
    assert ids(r) == mine[10:20]


@case("list_leads", {"sort": "name"})
def _(store, r):
    names = [item["name"] for item in r["items"]]
    assert names == sorted(lead["name"] for lead in store.table("leads"))


@case("list_projects", {"include_closed": True})
def _(store, r):
    assert sorted(ids(r)) == sorted(p["id"] for p in store.table("projects"))


@case("list_client_projects", {"client_id": 1})
def _(store, r):
    assert ids(r) == [p["id"] for p in store.table("projects") if p["client_id"] == 1]


@case("list_project_hours", {"project_id": 1, "filter": "unbilled"})
def _(store, r):
    expected = {h["id"] for h in store.table("hours") if h["project_id"] == 1 and not h["billed"]}
    assert set(ids(r)) == expected and all(item["billed"] is False for item in r["items"])


@case("list_tasks", {})
def _(store, r):
    assert ids(r) == [t["id"] for t in store.table("tasks")]


@case("list_project_tasks", {"project_id": 1})
def _(store, r):
    assert ids(r) == [t["id"] for t in store.table("tasks") if t["project_id"] == 1]


@case("list_expenses", {})
def _(store, r):
    assert set(ids(r)) == {e["id"] for e in store.table("expenses")}
    assert r["from_date"] and r["to_date"]


@case("list_client_expenses", {"client_id": 1})
def _(store, r):
    assert set(ids(r)) == {e["id"] for e in store.table("expenses") if e["client_id"] == 1}


@case("list_project_expenses", {"project_id": 1})
def _(store, r):
    assert set(ids(r)) == {e["id"] for e in store.table("expenses") if e["project_id"] == 1}


@case("list_estimates", {})
def _(store, r):
    assert set(ids(r)) == {e["id"] for e in store.table("estimates")}


@case("list_client_estimates", {"client_id": 1})
def _(store, r):
    assert set(ids(r)) == {e["id"] for e in store.table("estimates") if e["client_id"] == 1}


@case("list_project_estimates", {"project_id": 2})
def _(store, r):
    assert set(ids(r)) == {e["id"] for e in store.table("estimates") if e.get("project_id") == 2}


@case("list_client_invoices", {"client_id": 1})
def _(store, r):
    assert set(ids(r)) == {i["id"] for i in store.table("invoices") if i["client_id"] == 1}
    assert all("invoice_item_count" in item and "invoice_items" not in item for item in r["items"])


@case("list_project_invoices", {"project_id": 2})
def _(store, r):
    assert set(ids(r)) == {i["id"] for i in store.table("invoices") if i.get("project_id") == 2}


@case("list_recurring_schedule_invoices", {"id": 1})
def _(store, r):
    assert r["total_count"] == len(r["items"]) >= 1


@case("list_payments", {"sort": "created_at"})
def _(store, r):
    assert set(ids(r)) == {p["id"] for p in store.table("payments")}


@case("list_client_payment_profiles", {"client_id": 3})
def _(store, r):
    assert ids(r) == [p["id"] for p in store.table("payment_profiles") if p["client_id"] == 3]


@case("list_staff", {})
def _(store, r):
    assert ids(r) == [s["id"] for s in store.table("staff")]


def _get(tool: str, table: str, key: str, rid: int = 1):
    @case(tool, {"id": rid})
    def check(store, r):
        assert r["id"] == rid and r[key] == store.get(table, rid)[key]


_get("get_client", "clients", "name")
_get("get_contact", "contacts", "email")
_get("get_lead", "leads", "name", 6)
_get("get_project", "projects", "name")
_get("get_hour_entry", "hours", "title")
_get("get_task", "tasks", "title")
_get("get_expense", "expenses", "amount")
_get("get_estimate", "estimates", "currency_code")
_get("get_staff", "staff", "email")


@case("get_invoice", {"id": 3})
def _(store, r):
    inv = store.get("invoices", 3)
    assert r["number"] == inv["number"] and r["date"].count("-") == 2  # ISO, not the API's slash form
    assert len(r["invoice_items"]) == len(inv["items"]) and r["payments"]


# -- writes: the record changed in the account ------------------------------------------------------


@case("create_client", {"name": "Umbrella Corp", "city": "Raccoon City"})
def _(store, r):
    assert store.get("clients", r["id"])["city"] == "Raccoon City"


@case("update_client", {"id": 2, "website": "https://globex.example", "status": "archived"})
def _(store, r):
    assert store.get("clients", 2)["website"] == "https://globex.example" and store.get("clients", 2)["status"] == 2
    assert r["status"] == "archived"


@case("create_contact", {"client_id": 1, "name": "Ada Lovelace", "email": "ada@example.com"})
def _(store, r):
    assert store.get("contacts", r["id"])["client_id"] == 1


@case("update_contact", {"id": 1, "title": "CTO"})
def _(store, r):
    assert store.get("contacts", 1)["title"] == "CTO"


@case("create_lead", {"name": "Stark Industries"})
def _(store, r):
    assert store.get("leads", r["id"])["name"] == "Stark Industries"


@case("update_lead", {"id": 6, "number": "L-77"})
def _(store, r):
    assert store.get("leads", 6)["number"] == "L-77"


@case("create_project", {"name": "SEO audit", "rate": 140, "client_id": 2, "project_type": "fixed_amount",
                         "budget_type": "amount"})
def _(store, r):
    made = store.get("projects", r["id"])
    assert made["client_id"] == 2 and r["client_id"] == 2
    assert (made["project_type"], made["budget_type"]) == (2, 1)
    assert (r["project_type"], r["budget_type"], r["status"]) == ("fixed_amount", "amount", "active")


@case("update_project", {"id": 1, "status": "completed"})
def _(store, r):
    assert store.get("projects", 1)["status"] == 2 and r["status"] == "completed"


@case("create_project_hours", {"project_id": 1, "hours": 2.5, "title": "Bug fixing", "date": "2026-11-02"})
def _(store, r):
    entry = store.get("hours", r["id"])
    assert entry["project_id"] == 1 and entry["hours"] == 2.5 and r["date"] == "2026-11-02"


@case("update_hour_entry", {"id": 1, "hours": 3, "billed": True})
def _(store, r):
    entry = store.get("hours", 1)
    assert entry["hours"] == 3 and entry["billed"] is True and r["billed"] is True


@case("create_task", {"title": "Send contract", "client_id": 4, "assignee_id": 2})
def _(store, r):
    task = store.get("tasks", r["id"])
    assert task["assignee_id"] == 2 and task["client_id"] == 4 and task["project_id"] is None


@case("update_task", {"id": 5, "complete": True, "client_id": 5})
def _(store, r):
    assert store.get("tasks", 5)["complete"] is True and store.get("tasks", 5)["client_id"] == 5


@case("create_expense", {"amount": 42.5, "description": "Fonts", "client_id": 1})
def _(store, r):
    assert store.get("expenses", r["id"])["amount"] == 42.5


@case("update_expense", {"id": 2, "amount": 600})
def _(store, r):
    assert store.get("expenses", 2)["amount"] == 600


@case("create_invoice", {
    "date": "2026-11-01", "due_date": "2026-12-01", "currency_code": "USD", "client_id": 2, "tax": 10,
    "items": [{"title": "Design", "quantity": 2, "price": 100}, {"title": "Hosting", "quantity": 1, "price": 50,
                                                                   "taxable": False}],
})
def _(store, r):
    assert r["subtotal"] == 250 and r["total_cost"] == 270  # tax only on the taxable 200
    assert len(store.get("invoices", r["id"])["items"]) == 2


@case("update_invoice", {"id": 1, "items": [{"id": 1, "destroy": True}, {"title": "Extra", "quantity": 1, "price": 10}]})
def _(store, r):
    titles = [item["title"] for item in store.get("invoices", 1)["items"]]
    assert "Homepage build" not in titles and "Extra" in titles


@case("create_recurring_schedule", {
    "client_id": 1, "next_date": "2026-12-01", "time_interval": "monthly", "due_period": 14, "currency_code": "USD",
    "action": "draft", "items": [{"title": "Hosting", "quantity": 1, "price": 49.99},
                                 {"title": "Extras", "item_type": "header", "quantity": 0, "price": 0}],
})
def _(store, r):
    made = store.get("recurring", r["id"])
    assert (made["time_interval"], made["action"], made["status"]) == (5, 1, 0)
    assert (r["time_interval"], r["action"], r["status"]) == ("monthly", "draft", "active")
    assert [i["item_type"] for i in made["items"]] == [3, 0]
    assert [i["item_type"] for i in r["recurring_schedule_items"]] == ["line", "header"]


# -- the further endpoints ------------------------------------------------------------------------


@case("list_contacts", {"page_size": 100})
def _(store, r):
    assert ids(r) == [c["id"] for c in store.table("contacts")] and r["page_count"] == 1
    assert all(item["email"] for item in r["items"])  # what a dedupe check needs


@case("list_invoices", {})
def _(store, r):
    assert sorted(ids(r)) == sorted(i["id"] for i in store.table("invoices"))
    names = {c["id"]: c["name"] for c in store.table("clients")}
    assert all(item["client_name"] == names[item["client_id"]] for item in r["items"])


@case("create_payment", {"invoice_id": 2, "amount": 1894.38, "received_on": "2026-11-20", "note": "Check #7"})
def _(store, r):
    invoice = store.get("invoices", 2)
    assert store.get("payments", r["id"])["amount"] == 1894.38 and invoice["status"] == 4  # paid in full


@case("create_payment_profile", {"client_id": 1, "stripe_customer_id": "cus_X1", "stripe_source_id": "card_X1",
                                 "last_four_digits": "1881", "name": "Jane Cooper", "expiration_date": "2029-01-31",
                                 "card_type": "Mastercard"})
def _(store, r):
    assert store.get("payment_profiles", r["id"])["client_id"] == 1 and r["last_four_digits"] == "1881"


@case("create_estimate", {"date": "2026-11-02", "currency_code": "USD", "client_id": 6,
                          "items": [{"title": "Prototype", "quantity": 1, "price": 900}]})
def _(store, r):
    assert store.get("estimates", r["id"])["client_id"] == 6 and r["total_cost"] == 900  # for a lead


@case("update_estimate", {"id": 1, "status": "accepted", "items": [{"id": 2, "price": 500}]})
def _(store, r):
    est = store.get("estimates", 1)
    assert est["status"] == 6 and r["status"] == "accepted"
    assert [i["price"] for i in est["items"] if i["id"] == 2] == [500]


@case("list_recurring_schedules", {})
def _(store, r):
    assert ids(r) == [s["id"] for s in store.table("recurring")] and r["items"][0]["client_name"] == "Initech Software"


@case("get_recurring_schedule", {"id": 1})
def _(store, r):
    assert r["id"] == 1 and len(r["recurring_schedule_items"]) == 1


@case("update_recurring_schedule", {"id": 1, "status": "paused", "items": [{"title": "Extra hours", "quantity": 2,
                                                                      "price": 110}]})
def _(store, r):
    sched = store.get("recurring", 1)
    assert sched["status"] == 1 and r["status"] == "paused" and len(sched["items"]) == 2


# -- workflows ------------------------------------------------------------------------------------


@case("invoice_unbilled_hours", {"project_id": 1, "group_by": "title_rate"})
def _(store, r):
    invoice = store.get("invoices", r["invoice"]["id"])
    assert invoice["project_id"] == 1 and invoice["client_id"] == 1 and len(invoice["items"]) == 2
    assert sorted(r["entries_billed"]) == [3, 4]
    assert all(store.get("hours", i)["billed"] for i in (3, 4))


@case("find_overdue_invoices", {"as_of": "2026-12-01"})
def _(store, r):
    assert [i["number"] for i in r["items"]] == ["1005"] and r["items"][0]["client_name"] == "Initech Software"
    assert r["totals"] == {"USD": {"count": 1, "balance": 1500.0}}


@case("find_contacts", {"query": "JANE@acme.example"})
def _(store, r):
    assert [i["id"] for i in r["items"]] == [1] and r["items"][0]["exact"] and r["items"][0]["client_name"]


@case("convert_lead", {"lead_id": 6, "project_name": "Trail map app", "project_rate": 110})
def _(store, r):
    client = store.get("clients", r["client"]["id"])
    assert client["name"] == "Contoso Outdoor" and store.get("leads", 6) is not None  # the lead stays
    assert [c["email"] for c in store.where("contacts", client_id=client["id"])] == ["leo@contoso.example"]
    assert store.where("projects", client_id=client["id"])[0]["name"] == "Trail map app"


@case("project_profitability", {"project_id": 1})
def _(store, r):
    entries = store.where("hours", project_id=1)
    assert r["hours"] == {"worked": sum(e["hours"] for e in entries),
                          "billed": sum(e["hours"] for e in entries if e["billed"]),
                          "unbilled": sum(e["hours"] for e in entries if not e["billed"])}
    assert r["value"]["unbilled"] == sum(e["hours"] * e["rate"] for e in entries if not e["billed"])
    assert r["expenses"]["total"] == sum(x["amount"] for x in store.where("expenses", project_id=1))
    assert r["invoices"]["count"] == len(store.where("invoices", project_id=1))


@case("time_audit", {"from_date": "2026-01-01", "to_date": "2026-12-31", "unbilled_days": 5})
def _(store, r):
    flagged = {i["id"] for row in r["staff"] for i in row["items"] if "unbilled_too_long" in i["flags"]}
    late = {h["id"] for h in store.table("hours") if not h["billed"] and (store.today() - h["date"]).days > 5}
    assert flagged == late and late


# -- gated: preview changes nothing, the confirmed call acts ------------------------------------------

GATED: dict[str, tuple[dict[str, Any], Callable[[Any], bool]]] = {
    "delete_client": ({"id": 4}, lambda s: s.get("clients", 4) is None and not s.where("projects", client_id=4)),
    "delete_contact": ({"id": 1}, lambda s: s.get("contacts", 1) is None),
    "delete_expense": ({"id": 1}, lambda s: s.get("expenses", 1) is None),
    "delete_project": ({"id": 3}, lambda s: s.get("projects", 3) is None and not s.where("hours", project_id=3)),
    "delete_hour_entry": ({"id": 2}, lambda s: s.get("hours", 2) is None),
    "delete_lead": ({"id": 6}, lambda s: s.get("leads", 6) is None),
    "delete_payment": ({"invoice_id": 3, "id": 1}, lambda s: s.get("payments", 1) is None),
    "delete_payment_profile": ({"client_id": 3, "id": 1}, lambda s: s.get("payment_profiles", 1) is None),
    "delete_recurring_schedule": ({"id": 1}, lambda s: s.get("recurring", 1) is None),
    "send_invoice_message": ({"id": 1, "recipients": ["jane@acme.example"], "subject": "Your invoice"},
                             lambda s: len(s.table("messages")) == 1 and s.get("invoices", 1)["status"] == 1),
    "delete_invoice": ({"id": 3}, lambda s: s.get("invoices", 3) is None and not s.where("payments", invoice_id=3)),
    "delete_estimate": ({"id": 1}, lambda s: s.get("estimates", 1) is None),
    "delete_task": ({"id": 1}, lambda s: s.get("tasks", 1) is None),
    "send_estimate_message": ({"id": 1, "recipients": ["jane@acme.example"]},
                              lambda s: [m["estimate_id"] for m in s.table("messages")] == [1]
                              and s.get("estimates", 1)["status"] == 1),
    "charge_payment_profile": ({"invoice_id": 5, "payment_profile_id": 1},
                               lambda s: s.get("invoices", 5)["status"] == 4
                               and s.where("payments", invoice_id=5)[0]["amount"] == 1500),
}


def test_every_tool_has_an_end_to_end_case():
    assert set(CASES) | set(GATED) == {spec.name for spec in REGISTRY}
    assert not set(CASES) & set(GATED)


def sent_as(style: str, tool: str, args: dict[str, Any]) -> dict[str, Any]:
    if style in ("plain", "compact"):
        return args
    return {**{f.name: None for f in BY_NAME[tool].fields}, **args}


# "compact": the plain arguments through the compact catalog's call_tool (--catalog compact).
STYLES = ("plain", "null-optionals", "compact")


def catalog(style: str) -> str:
    return "compact" if style == "compact" else "full"


@pytest.mark.anyio
@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("tool", sorted(CASES))
async def test_tool_through_mcp(tool, style, tmp_path):
    args, check = CASES[tool]
    async with session(tmp_path, catalog=catalog(style)) as h:
        result = await h.call(tool, sent_as(style, tool, args))
        check(h.store, data(result))
        assert result.content[0].text.split("\n", 1)[0]  # a summary line for text-only hosts


@pytest.mark.anyio
@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("tool", sorted(GATED))
async def test_gated_tool_preview_then_confirm(tool, style, tmp_path):
    args, done = GATED[tool]
    async with session(tmp_path, catalog=catalog(style)) as h:
        before = h.store.counts()
        preview = data(await h.call(tool, sent_as(style, tool, args)))  # confirm: null is a preview too
        assert preview["status"] == "preview" and preview["confirm_token"]
        assert h.store.counts() == before and not done(h.store)  # nothing happened
        result = data(await h.call(tool, {**sent_as(style, tool, args), "confirm": preview["confirm_token"]}))
        assert result["status"] == "done"
        assert done(h.store)
