"""What a job costs an agent: the 57 seed tools against everything (the further endpoints and the workflows).

A sandbox seeded at a realistic size (200 clients, 2,000 invoices, 5,000 hour entries by default) answers every
request after 50 ms. A scripted agent does each job the cheapest way it can, (a) with only the 57 tools of the seed
integrations and (b) with every tool, each on a fresh copy of the same account, through a real in-process MCP
session. Per job and arm: tool calls, bytes of tool results (the text the model reads), Clientary requests and
wall time. Targets: every job in at most 2 calls with (b), and at least 5x fewer result bytes on the listing jobs.
"""

from __future__ import annotations

import random
import sys
import tempfile
import time
from dataclasses import replace
from datetime import date, datetime, time as dtime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import anyio
from mcp import Client

import _common as c

from clientary_mcp.app import build_service, sandbox_settings
from clientary_mcp.options import load_options
from clientary_mcp.sandbox import Faults, create_app
from clientary_mcp.sandbox.documents import LINE_ITEM, TAX_DEFAULTS
from clientary_mcp.server import build_server

TODAY = date(2026, 12, 1)
LISTING_JOBS = ("find overdue invoices", "dedupe a contact", "weekly time audit")


def seed(store: Any, clients: int, invoices: int, hours: int, rng: random.Random) -> dict[str, Any]:
    """A deterministic account: staff, clients with contacts and projects, hours, invoices (some overdue), leads."""
    def stamp(d: date) -> datetime:
        return datetime.combine(d, dtime(9, 30), tzinfo=timezone.utc)

    def add(table: str, d: date, **fields: Any) -> dict[str, Any]:
        return store.insert(table, {"created_at": stamp(d), "updated_at": stamp(d), **fields})

    staff = [add("staff", TODAY, name=n, email=f"{n.split()[0].lower()}@studio.example", title="Staff", phone=None,
                 mobile=None, ext=None, avatar=None) for n in ("Alex Morgan", "Priya Shah", "Tom Becker", "Ana Ruiz")]
    client_rows, projects = [], []
    for i in range(clients):
        client = add("clients", TODAY - timedelta(days=400 - i), number=str(101 + i), name=f"Client {i:03d} Ltd",
                     address=None, address_2=None, city="Springfield", state=None, zip=None, country="US",
                     website=None, description=None, status=1, invoice_extra_fields=None)
        client_rows.append(client)
        for k in range(2):
            add("contacts", TODAY, client_id=client["id"], name=f"Person {i:03d}-{k}",
                email=f"person{i:03d}.{k}@client{i:03d}.example", title=None, phone=None, mobile=None, ext=None,
                avatar=None)
        if i % 2 == 0:  # half the clients have a project: 100 projects
            projects.append(add("projects", TODAY - timedelta(days=200), number=f"P{i:03d}", name=f"Project {i:03d}",
                                description=None, status=1, budget_type=0, project_type=0, budget=400.0, rate=120.0,
                                currency_code="USD", start_date=None, end_date=None, client_id=client["id"]))
    for n in range(hours):
        project = projects[n % len(projects)]
        d = TODAY - timedelta(days=rng.randrange(0, 120))
        add("hours", d, project_id=project["id"], user_id=staff[n % len(staff)]["id"], title=rng.choice(
            ("Design", "Build", "Review", "Meetings", "Support")), description=None if n % 7 == 0 else "work",
            date=d, hours=float(rng.choice((0.5, 1, 1.5, 2, 3, 4))), rate=120.0, billed=d < TODAY - timedelta(days=40))
    number = 1000
    for n in range(invoices):
        client = client_rows[n % len(client_rows)]
        issued = TODAY - timedelta(days=rng.randrange(5, 300))
        number += 1
        item_id = store.next_id("invoice_items")
        inv = add("invoices", issued, number=str(number), title="", date=issued, due_date=issued + timedelta(days=30),
                  client_id=client["id"], project_id=None, po="", note="", summary=None, currency_code="USD",
                  recurring_schedule_id=None, status=1,
                  items=[{"id": item_id, "title": "Services", "quantity": 1, "price": float(rng.randrange(200, 5000)),
                          "taxable": False, "secondary_tax": False, "tertiary_tax": False, "item_type": LINE_ITEM}],
                  **TAX_DEFAULTS)
        if n % 10 != 0:  # nine in ten are paid in full
            add("payments", issued + timedelta(days=20), invoice_id=inv["id"], amount=inv["items"][0]["price"],
                note=None, received_on=issued + timedelta(days=20), transaction_fee_amount=0.0, transaction_id=None)
            inv["status"] = 4
    lead = add("leads", TODAY, number="1", name="Won Lead Inc", address=None, address_2=None, city="Shelbyville",
               state=None, zip=None, country="US", website=None, description="Won last week", status=1,
               invoice_extra_fields=None)
    lead_contacts = [add("contacts", TODAY, client_id=lead["id"], name=f"Lead Person {k}",
                         email=f"lead{k}@wonlead.example", title=None, phone=None, mobile=None, ext=None, avatar=None)
                     for k in range(3)]
    busiest = max(projects, key=lambda p: sum(1 for h in store.where("hours", project_id=p["id"]) if not h["billed"]))
    return {"lead": lead, "lead_contacts": lead_contacts, "project": busiest, "probe_email": "person150.1@client150.example"}


class Agent:
    """Counts what the model sees: calls and result bytes; the store counts Clientary requests."""

    def __init__(self, client: Client, store: Any):
        self.client, self.store = client, store
        self.calls = self.bytes = 0

    async def __call__(self, tool: str, args: dict[str, Any] | None = None) -> dict[str, Any]:
        result = await self.client.call_tool(tool, args or {})
        self.calls += 1
        self.bytes += sum(len(part.text.encode()) for part in result.content if part.type == "text")
        if result.is_error:
            raise RuntimeError(f"{tool} failed: {result.content[0].text[:300]}")
        return result.structured_content or {}


# -- (a): the 57 tools ----------------------------------------------------------------------------------


async def a_invoice(agent: Agent, facts: dict[str, Any]) -> None:
    pid = facts["project"]["id"]
    project = await agent("get_project", {"id": pid})
    hours = (await agent("list_project_hours", {"project_id": pid, "filter": "unbilled"}))["items"]
    items = [{"title": f"{h['date']} {h['title']}", "quantity": h["hours"], "price": h["rate"]} for h in hours]
    await agent("create_invoice", {"date": TODAY.isoformat(), "due_date": (TODAY + timedelta(days=30)).isoformat(),
                                   "currency_code": "USD", "client_id": project["client_id"], "items": items})
    for h in hours:
        await agent("update_hour_entry", {"id": h["id"], "billed": True})


async def a_overdue(agent: Agent, facts: dict[str, Any]) -> None:
    clients = (await agent("list_clients", {"all_pages": True}))["items"]
    for client in clients:
        await agent("list_client_invoices", {"client_id": client["id"], "all_pages": True})


async def a_convert(agent: Agent, facts: dict[str, Any]) -> None:
    lead = await agent("get_lead", {"id": facts["lead"]["id"]})
    client = await agent("create_client", {k: lead[k] for k in ("name", "city", "country", "description") if lead.get(k)})
    # The 57 tools cannot list a lead's contacts: the agent re-types them from what the user tells it.
    for person in facts["lead_contacts"]:
        await agent("create_contact", {"client_id": client["id"], "name": person["name"], "email": person["email"]})
    await agent("create_project", {"name": "First project", "rate": 120, "client_id": client["id"]})


async def a_dedupe(agent: Agent, facts: dict[str, Any]) -> None:
    clients = (await agent("list_clients", {"all_pages": True}))["items"]
    for client in clients:
        found = await agent("list_client_contacts", {"client_id": client["id"], "all_pages": True})
        if any(item["email"] == facts["probe_email"] for item in found["items"]):
            return  # found: no create


async def a_profit(agent: Agent, facts: dict[str, Any]) -> None:
    pid = facts["project"]["id"]
    await agent("get_project", {"id": pid})
    await agent("list_project_hours", {"project_id": pid})
    await agent("list_project_expenses", {"project_id": pid, "from_date": "1970-01-01", "to_date": "2100-12-31"})
    await agent("list_project_invoices", {"project_id": pid, "all_pages": True})


async def a_audit(agent: Agent, facts: dict[str, Any]) -> None:
    projects = (await agent("list_projects", {"include_closed": True, "all_pages": True}))["items"]
    await agent("list_staff")
    for project in projects:
        await agent("list_project_hours", {"project_id": project["id"]})


# -- (b): every tool --------------------------------------------------------------------------------------


async def b_invoice(agent: Agent, facts: dict[str, Any]) -> None:
    await agent("invoice_unbilled_hours", {"project_id": facts["project"]["id"], "group_by": "title_rate"})


async def b_overdue(agent: Agent, facts: dict[str, Any]) -> None:
    await agent("find_overdue_invoices", {"as_of": TODAY.isoformat()})


async def b_convert(agent: Agent, facts: dict[str, Any]) -> None:
    await agent("convert_lead", {"lead_id": facts["lead"]["id"], "project_name": "First project", "project_rate": 120})


async def b_dedupe(agent: Agent, facts: dict[str, Any]) -> None:
    await agent("find_contacts", {"query": facts["probe_email"]})


async def b_profit(agent: Agent, facts: dict[str, Any]) -> None:
    await agent("project_profitability", {"project_id": facts["project"]["id"]})


async def b_audit(agent: Agent, facts: dict[str, Any]) -> None:
    await agent("time_audit", {"to_date": TODAY.isoformat()})


JOBS = {
    "invoice unbilled hours": (a_invoice, b_invoice),
    "find overdue invoices": (a_overdue, b_overdue),
    "convert a lead": (a_convert, b_convert),
    "dedupe a contact": (a_dedupe, b_dedupe),
    "project profitability": (a_profit, b_profit),
    "weekly time audit": (a_audit, b_audit),
}


async def run_job(job: str, arm: str, sizes: tuple[int, int, int], latency: float, work: Path) -> dict[str, Any]:
    app = create_app(seed_data=False, today=TODAY, faults=Faults(latency=latency))
    facts = seed(app.state.store, *sizes, random.Random(7))
    env = {"CLIENTARY_MCP_AUDIT_LOG": str(work / f"{arm}-{job.replace(' ', '_')}.jsonl"),
           "CLIENTARY_MCP_CONFIRM_SECRET": "bench-confirmation-secret-0123456789"}
    flags = {} if arm == "b" else {"exclude": ",".join(OUTSIDE_57)}
    options = load_options(SimpleNamespace(**flags), env=env)
    service = build_service(options, sandbox_settings(), sandbox=True, sandbox_app=app)
    service.api.settings = replace(service.api.settings, max_records=20_000)  # both arms read complete lists
    server = build_server(lambda ctx: (service, "bench"))
    store = app.state.store
    try:
        async with Client(server) as client:
            agent = Agent(client, store)
            before = len(store.requests)
            started = time.perf_counter()
            await JOBS[job][0 if arm == "a" else 1](agent, facts)
            wall = time.perf_counter() - started
            return {"calls": agent.calls, "bytes": agent.bytes, "requests": len(store.requests) - before, "wall": wall}
    finally:
        await service.api.aclose()
        service.audit.close()


def _outside_57() -> list[str]:
    from clientary_mcp.tools import REGISTRY

    further = {"list_contacts", "list_invoices", "delete_invoice", "create_payment", "charge_payment_profile",
               "create_payment_profile", "create_estimate", "update_estimate", "delete_estimate",
               "send_estimate_message", "list_recurring_schedules", "get_recurring_schedule",
               "update_recurring_schedule", "delete_task"}
    return [s.name for s in REGISTRY if s.name in further or s.toolset == "workflows"]


OUTSIDE_57 = _outside_57()


def main() -> int:
    p = c.parser(__doc__.splitlines()[0])
    p.add_argument("--clients", type=int, default=200)
    p.add_argument("--invoices", type=int, default=2000)
    p.add_argument("--hours", type=int, default=5000)
    p.add_argument("--latency-ms", type=float, default=50.0, help="delay of every Clientary request")
    p.add_argument("--markdown", action="store_true", help="print the per-job table as markdown")
    args = p.parse_args()
    sizes = (args.clients, args.invoices, args.hours)
    if args.quick:
        sizes, args.latency_ms = (40, 400, 1000), 5.0
    assert len(OUTSIDE_57) == 20, OUTSIDE_57
    results: dict[str, dict[str, dict[str, Any]]] = {}
    with tempfile.TemporaryDirectory(prefix="clientary-bench-") as tmp:
        for job in JOBS:
            results[job] = {arm: anyio.run(run_job, job, arm, sizes, args.latency_ms / 1000, Path(tmp))
                            for arm in ("a", "b")}

    report = c.Report("workflows", f"workflows: {sizes[0]} clients, {sizes[1]} invoices, {sizes[2]} hour entries, "
                                   f"{args.latency_ms:g} ms per Clientary request")
    rows = []
    for job, arms in results.items():
        a, b = arms["a"], arms["b"]
        ratio = a["bytes"] / b["bytes"] if b["bytes"] else float("inf")
        report.add(f"{job}: calls with everything", b["calls"], "", ("<=", 2))
        if job in LISTING_JOBS:
            report.add(f"{job}: result bytes, 57 / everything", round(ratio, 1), "×", (">=", 5))
        rows.append((job, f"{a['calls']:,}", f"{b['calls']:,}", f"{a['bytes']:,}", f"{b['bytes']:,}", f"{ratio:.1f}×",
                     f"{a['requests']:,}", f"{b['requests']:,}", f"{a['wall']:.2f}", f"{b['wall']:.2f}"))
    report.extra = {"results": results, "sizes": sizes, "latency_ms": args.latency_ms}
    code = report.finish(args)
    head = ("job", "calls (a)", "calls (b)", "result B (a)", "result B (b)", "bytes a/b", "requests (a)",
            "requests (b)", "wall s (a)", "wall s (b)")
    print()
    if args.markdown:
        print("| " + " | ".join(head) + " |")
        print("|---|" + "--:|" * (len(head) - 1))
        for row in rows:
            print("| " + " | ".join(row) + " |")
    else:
        print(c.format_table("(a) only the 57 seed tools, (b) every tool", rows, head, "l" + "r" * (len(head) - 1)))
    return code


if __name__ == "__main__":
    sys.exit(main())
