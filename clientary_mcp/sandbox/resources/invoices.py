"""Invoices and their line items."""

from __future__ import annotations

from .. import cascade, render
from ..documents import INVOICE_ITEMS, TAX_DEFAULTS, TAX_FIELDS
from ..http import Call
from ..values import DATE, TEXT, Schema, choice, ref
from .common import DELETED, Result, RouteSpec, by_date_newest, save_document

DRAFT = 0

INVOICE = Schema(
    {
        "number": TEXT,
        "title": TEXT,
        "date": DATE,
        "due_date": DATE,
        "client_id": ref("clients"),
        "project_id": ref("projects"),
        "po": TEXT,
        "note": TEXT,
        "summary": TEXT,
        "status": choice(0, 1, 2, 3, 4, 5),
        "currency_code": TEXT,
        **TAX_FIELDS,
    },
    required=("date", "due_date", "currency_code"),
)


def _listing(call: Call, rows: list) -> Result:
    return 200, call.page("invoices", by_date_newest(rows), render.invoice, size=30)


def list_invoices(call: Call) -> Result:
    rows = call.store.table("invoices")
    since = call.query_since("updated_since")
    if since is not None:
        rows = [row for row in rows if row["updated_at"] >= since]
    return _listing(call, rows)


def list_client_invoices(call: Call) -> Result:
    client = call.record("clients", "client_id")
    return _listing(call, call.store.where("invoices", client_id=client["id"]))


def list_project_invoices(call: Call) -> Result:
    project = call.record("projects", "project_id")
    return _listing(call, call.store.where("invoices", project_id=project["id"]))


def list_schedule_invoices(call: Call) -> Result:
    schedule = call.record("recurring")
    return _listing(call, call.store.where("invoices", recurring_schedule_id=schedule["id"]))


def get_invoice(call: Call) -> Result:
    return 200, render.invoice(call.store, call.record("invoices"))


def _save(call: Call, base: dict) -> Result:
    return save_document(call, table="invoices", wrapper="invoice", schema=INVOICE, kind=INVOICE_ITEMS,
                         base=base, first_number=1001, render=render.invoice)


def create_invoice(call: Call) -> Result:
    base = {"number": None, "title": "", "client_id": None, "project_id": None, "po": "", "note": "",
            "summary": None, "status": DRAFT, "currency_code": None, "recurring_schedule_id": None,
            "items": [], **TAX_DEFAULTS}
    return _save(call, base)


def update_invoice(call: Call) -> Result:
    return _save(call, call.record("invoices"))


def delete_invoice(call: Call) -> Result:
    cascade.delete_invoice(call.store, call.record("invoices")["id"])
    return DELETED


ROUTES: list[RouteSpec] = [
    ("GET", "/invoices", list_invoices),
    ("POST", "/invoices", create_invoice),
    ("GET", "/clients/{client_id:int}/invoices", list_client_invoices),
    ("GET", "/projects/{project_id:int}/invoices", list_project_invoices),
    ("GET", "/recurring/{id:int}/invoices", list_schedule_invoices),
    ("GET", "/invoices/{id:int}", get_invoice),
    ("PUT", "/invoices/{id:int}", update_invoice),
    ("DELETE", "/invoices/{id:int}", delete_invoice),
]
