"""Estimates (for clients or leads) and their items."""

from __future__ import annotations

from .. import cascade, render
from ..documents import ESTIMATE_ITEMS, TAX_DEFAULTS, TAX_FIELDS
from ..http import Call
from ..values import DATE, TEXT, Schema, choice, ref
from .common import DELETED, Result, RouteSpec, by_date_newest, save_document

ESTIMATE = Schema(
    {
        "number": TEXT,
        "title": TEXT,
        "date": DATE,
        "client_id": ref("clients", "leads"),
        "project_id": ref("projects"),
        "note": TEXT,
        "summary": TEXT,
        "status": choice(*range(8)),
        "currency_code": TEXT,
        **TAX_FIELDS,
    },
    required=("date", "currency_code"),
)


def _listing(call: Call, rows: list) -> Result:
    return 200, call.page("estimates", by_date_newest(rows), render.estimate, size=30)


def list_estimates(call: Call) -> Result:
    return _listing(call, call.store.table("estimates"))


def list_client_estimates(call: Call) -> Result:
    client = call.record("clients", "client_id")
    return _listing(call, call.store.where("estimates", client_id=client["id"]))


def list_project_estimates(call: Call) -> Result:
    project = call.record("projects", "project_id")
    return _listing(call, call.store.where("estimates", project_id=project["id"]))


def get_estimate(call: Call) -> Result:
    return 200, render.estimate(call.store, call.record("estimates"))


def _save(call: Call, base: dict) -> Result:
    return save_document(call, table="estimates", wrapper="estimate", schema=ESTIMATE, kind=ESTIMATE_ITEMS,
                         base=base, first_number=1, render=render.estimate)


def create_estimate(call: Call) -> Result:
    base = {"number": None, "title": "", "client_id": None, "project_id": None, "note": "", "summary": None,
            "status": 0, "currency_code": None, "items": [], **TAX_DEFAULTS}
    return _save(call, base)


def update_estimate(call: Call) -> Result:
    return _save(call, call.record("estimates"))


def delete_estimate(call: Call) -> Result:
    cascade.delete_plain(call.store, "estimates", call.record("estimates")["id"])
    return DELETED


ROUTES: list[RouteSpec] = [
    ("GET", "/estimates", list_estimates),
    ("POST", "/estimates", create_estimate),
    ("GET", "/clients/{client_id:int}/estimates", list_client_estimates),
    ("GET", "/projects/{project_id:int}/estimates", list_project_estimates),
    ("GET", "/estimates/{id:int}", get_estimate),
    ("PUT", "/estimates/{id:int}", update_estimate),
    ("DELETE", "/estimates/{id:int}", delete_estimate),
]
