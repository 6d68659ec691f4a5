"""Deterministic demo data, dated relative to the store's `today`.

Expenses fall inside the current fiscal year so the default expense window shows them.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from .documents import HEADER, LINE_ITEM, TAX_DEFAULTS
from .store import Store

GLOBEX_CONTACTS = (
    "Hank Scorpio", "Mindy Simmons", "Karl Fischer", "Lena Ortiz", "Omar Haddad", "Sofia Rossi", "Ben Carter",
    "Yuki Tanaka", "Grace Kim", "Ivan Petrov", "Amara Okafor", "Noah Bennett", "Elif Demir",
)


class Seeder:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.today = store.today()
        self.fiscal_start = store.fiscal_year()[0]

    def day(self, offset: int) -> date:
        """`offset` days from today (negative = past)."""
        return self.today + timedelta(days=offset)

    def in_year(self, offset: int) -> date:
        return max(self.day(offset), self.fiscal_start)

    def add(self, table: str, offset: int, **fields: Any) -> dict[str, Any]:
        moment = datetime.combine(self.day(offset), time(9, 30), tzinfo=timezone.utc)
        return self.store.insert(table, {"created_at": moment, "updated_at": moment, **fields})

    def items(self, sequence: str, *rows: tuple[str, float | None, float | None, bool]) -> list[dict[str, Any]]:
        return [
            {
                "id": self.store.next_id(sequence),
                "title": title,
                "quantity": quantity,
                "price": price,
                "taxable": taxable,
                "secondary_tax": taxable,
                "tertiary_tax": taxable,
                "item_type": HEADER if quantity is None else LINE_ITEM,
            }
            for title, quantity, price, taxable in rows
        ]


def _party(number: str, name: str, city: str, state: str, description: str) -> dict[str, Any]:
    return {
        "number": number, "name": name, "address": f"{100 + int(number[-1]) * 7} Market Street", "address_2": None,
        "city": city, "state": state, "zip": f"{10000 + int(number[-1]) * 1111}", "country": "US",
        "website": f"https://www.{name.split()[0].lower()}.example", "description": description,
        "status": 1, "invoice_extra_fields": None,
    }


def _person(client_id: int, name: str, title: str, domain: str, n: int) -> dict[str, Any]:
    return {
        "client_id": client_id, "name": name, "email": f"{name.split()[0].lower()}@{domain}", "title": title,
        "phone": f"555-01{n:02d}", "mobile": None, "ext": None,
        "avatar": "default_avatars/avatars/missing_original.jpg",
    }


def seed(store: Store) -> None:
    s = Seeder(store)
    for name, title in (("Alex Morgan", "Owner"), ("Priya Shah", "Designer"), ("Tom Becker", "Developer")):
        email = f"{name.split()[0].lower()}@sandbox-studio.example"
        store.insert("staff", {"name": name, "email": email, "title": title, "phone": "555-0100", "mobile": None,
                               "ext": None, "avatar": "default_avatars/avatars/missing_original.jpg"})

    acme = s.add("clients", -400, **_party("101", "Acme Corporation", "New York", "NY", "Long-standing web client"))
    globex = s.add("clients", -300, **_party("102", "Globex Industries", "Chicago", "IL", "Mobile app engagement"))
    initech = s.add("clients", -200, **_party("103", "Initech Software", "Austin", "TX", "Monthly support retainer"))
    northwind = s.add("clients", -150, **_party("104", "Northwind Traders", "Seattle", "WA", "Brand refresh"))
    s.add("clients", -10, **_party("105", "Blue Harbor Design", "Portland", "ME", "New client, no work yet"))
    contoso = s.add("leads", -20, **_party("1", "Contoso Outdoor", "Denver", "CO", "Asked for a trail-map app"))
    s.add("leads", -3, **_party("2", "Fabrikam Labs", "Boston", "MA", "Met at a conference"))

    contacts = [(acme, "Jane Cooper", "CTO"), (acme, "Marcus Lee", "Accounts Payable")]
    contacts += [(globex, name, "Product Team") for name in GLOBEX_CONTACTS]
    contacts += [(initech, "Dana Whitfield", "IT Manager"), (northwind, "Rosa Diaz", "Marketing Lead"),
                 (contoso, "Leo Grant", "Founder")]
    for n, (party, name, title) in enumerate(contacts):
        domain = party["website"].removeprefix("https://www.")
        s.add("contacts", -100 + n, **_person(party["id"], name, title, domain, n))

    def project(client: dict, offset: int, **fields: Any) -> dict[str, Any]:
        base = {"description": None, "budget_type": 0, "project_type": 0, "currency_code": "USD",
                "start_date": s.day(offset), "end_date": None, "client_id": client["id"]}
        return s.add("projects", offset, **{**base, **fields})

    website = project(acme, -60, number="PROJ101", name="Website Redesign", status=1, rate=125.0, budget=120.0,
                      end_date=s.day(30), description="New marketing site and CMS")
    app = project(globex, -75, number="PROJ102", name="Mobile App MVP", status=1, project_type=2, budget_type=1,
                  rate=18000.0, budget=18000.0, description="Fixed-price first release")
    brand = project(northwind, -50, number="PROJ103", name="Brand Guidelines", status=2, rate=95.0, budget=30.0,
                    end_date=s.day(-20))
    support = project(initech, -120, number="PROJ104", name="Support Retainer", status=4, rate=110.0, budget=20.0)

    for proj, offset, title, hours, user, billed in (
        (website, -20, "Discovery workshop", 6.0, 1, True), (website, -15, "Wireframes", 8.0, 2, True),
        (website, -5, "Homepage build", 7.5, 3, False), (website, -2, "Content migration", 4.0, 2, False),
        (app, -10, "Sprint planning", 3.0, 1, False), (brand, -40, "Logo refinements", 10.0, 2, True),
        (brand, -35, "Style guide", 12.0, 2, True), (support, -6, "Server patching", 2.5, 3, False),
        (support, -3, "Backup review", 1.5, 3, False),
    ):
        rate = proj["rate"] if proj["project_type"] == 0 else 0.0
        s.add("hours", offset, project_id=proj["id"], user_id=user, title=title, description=None,
              date=s.day(offset), hours=hours, rate=rate, billed=billed)

    for offset, title, proj, assignee, due, done in (
        (-30, "Approve homepage mockups", website, 2, 3, False), (-25, "Set up staging server", website, 3, None, True),
        (-20, "Write app store copy", app, 1, 10, False), (-7, "Renew SSL certificate", support, 3, 14, False),
        (-2, "Call Contoso about the estimate", None, 1, 1, False),
    ):
        s.add("tasks", offset, title=title, description=None, complete=done,
              completed_at=datetime.combine(s.day(-4), time(16), tzinfo=timezone.utc) if done else None,
              due_date=s.day(due) if due is not None else None, project_id=proj["id"] if proj else None,
              assignee_id=assignee, client_id=proj["client_id"] if proj else None, user_id=1)

    for offset, description, amount, client, proj in (
        (-25, "Design software subscription", 59.0, None, None), (-18, "Stock photography", 120.0, acme, None),
        (-12, "Usability testing incentives", 250.0, acme, website), (-8, "Test devices", 899.99, globex, app),
        (-30, "Print proofs", 84.5, northwind, brand),
    ):
        s.add("expenses", offset, amount=amount, description=description, incurred_on=s.in_year(offset),
              client_id=client["id"] if client else None, project_id=proj["id"] if proj else None,
              invoice_id=None, invoice_item_id=None, user_id=1)

    def document(table: str, offset: int, number: str, client: dict, items: list, **fields: Any) -> dict[str, Any]:
        base = {"number": number, "title": "", "date": s.day(offset), "client_id": client["id"], "project_id": None,
                "note": "", "summary": None, "currency_code": "USD", "items": items, **TAX_DEFAULTS}
        return s.add(table, offset, **{**base, **fields})

    est = "estimate_items"
    document("estimates", -9, "1", acme, s.items(est, ("Phase 2: online shop", 1, 6500.0, True),
             ("Hosting setup", 1, 450.0, True)), status=0, tax=8.25, project_id=website["id"])
    document("estimates", -80, "2", globex, s.items(est, ("Mobile MVP", None, None, False),
             ("Design, build and launch", 1, 18000.0, False)), status=6, project_id=app["id"])
    document("estimates", -4, "3", contoso, s.items(est, ("Trail map app prototype", 1, 4800.0, True),
             ("Discovery sessions", 12, 110.0, False)), status=1, tax=5.0, title="Prototype proposal")

    inv = "invoice_items"

    def invoice(offset: int, number: str, client: dict, items: list, due: int, **fields: Any) -> dict[str, Any]:
        return document("invoices", offset, number, client, items, due_date=s.day(offset + due), po="",
                        recurring_schedule_id=None, **fields)

    invoice(-1, "1001", acme, s.items(inv, ("Homepage build", 7.5, 125.0, True), ("Content migration", 4, 125.0, True)),
            30, status=0, tax=8.25, project_id=website["id"])
    invoice(-14, "1002", acme, s.items(inv, ("Discovery workshop", 6, 125.0, True), ("Wireframes", 8, 125.0, True)),
            30, status=1, tax=8.25, project_id=website["id"])
    paid = invoice(-45, "1003", globex, s.items(inv, ("Milestone 1", None, None, False),
                   ("Design and prototype", 1, 9000.0, False)), 30, status=4, project_id=app["id"])
    partial = invoice(-30, "1004", northwind, s.items(inv, ("Brand guidelines", 22, 95.0, True)), 30, status=1,
                      tax=10.0, tax2=2.0, compound_tax=True, project_id=brand["id"])
    retainer = invoice(-16, "1005", initech, s.items(inv, ("Monthly support retainer", 1, 1500.0, False)), 15,
                       status=1, project_id=support["id"])

    for offset, target, amount, note in ((-20, paid, 9000.0, "Wire transfer"), (-10, partial, 1000.0, "Check #1042")):
        s.add("payments", offset, invoice_id=target["id"], amount=amount, note=note, received_on=s.day(offset),
              transaction_fee_amount=0.0, transaction_id=None)

    profile = s.add("payment_profiles", -100, client_id=initech["id"], name="Dana Whitfield", gateway="stripe",
                    gateway_token="cus_SandboxInitech01", stripe_customer_id="cus_SandboxInitech01",
                    stripe_source_id="card_SandboxInitech01", last_four_digits="4242", card_type="Visa",
                    expiration_date=date(s.today.year + 2, 12, 31), address=None, city="Austin", state="TX",
                    zip=None, country="US")

    schedule = s.add("recurring", -46, client_id=initech["id"], number="1000001", title="Monthly Support Retainer",
                     note="", po=None, summary=None, status=0, action=0, time_interval=5, due_period=15,
                     next_date=s.day(14), unlimited=True, occurrences_remaining=None,
                     payment_profile_id=profile["id"], currency_code="USD",
                     items=s.items("recurring_schedule_items", ("Monthly support retainer", 1, 1500.0, False)),
                     **{**TAX_DEFAULTS, "tax_label": "", "tax2_label": "", "tax3_label": ""})
    retainer["recurring_schedule_id"] = schedule["id"]
