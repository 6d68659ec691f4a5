"""Recurring schedules: invoice templates with their own items."""

from __future__ import annotations

from typing import Any

from .. import cascade, render
from ..documents import RECURRING_ITEMS, TAX_DEFAULTS, TAX_FIELDS
from ..http import Call
from ..values import BOOL, DATE, TEXT, Errors, Field, Schema, choice, ref, to_integer
from .common import DELETED, Result, RouteSpec, save_document

AUTOBILL = 2
COUNT = Field(to_integer, minimum=0)

RECURRING = Schema(
    {
        "client_id": ref("clients"),
        "number": TEXT,
        "title": TEXT,
        "note": TEXT,
        "po": TEXT,
        "summary": TEXT,
        "status": choice(0, 1, 2),
        "action": choice(0, 1, AUTOBILL),
        "time_interval": choice(*range(1, 12)),
        "due_period": COUNT,
        "next_date": DATE,
        "unlimited": BOOL,
        "occurrences_remaining": COUNT,
        "payment_profile_id": ref("payment_profiles"),
        "currency_code": TEXT,
        **TAX_FIELDS,
    },
    required=("next_date", "due_period", "currency_code", "time_interval", "client_id"),
)


def _autobill_needs_profile(call: Call) -> Any:
    def check(record: dict[str, Any], errors: Errors) -> None:
        if record.get("action") != AUTOBILL or "payment_profile_id" in errors:
            return
        profile = call.store.get("payment_profiles", record.get("payment_profile_id"))
        if profile is None or profile["client_id"] != record.get("client_id"):
            message = "must be a payment profile of the schedule's client when action is Autobill"
            errors.add("payment_profile_id", message)

    return check


def list_schedules(call: Call) -> Result:
    return 200, call.page("recurring", call.store.table("recurring"), render.recurring, size=30)


def get_schedule(call: Call) -> Result:
    return 200, render.recurring(call.store, call.record("recurring"))


def _save(call: Call, base: dict[str, Any]) -> Result:
    return save_document(call, table="recurring", wrapper="recurring_schedule", schema=RECURRING,
                         kind=RECURRING_ITEMS, base=base, first_number=1000001, render=render.recurring,
                         check=_autobill_needs_profile(call))


def create_schedule(call: Call) -> Result:
    base = {"number": None, "title": "", "note": "", "po": None, "summary": None, "status": 0, "action": 0,
            "unlimited": True, "occurrences_remaining": None, "payment_profile_id": None, "items": [],
            **TAX_DEFAULTS}
    return _save(call, base)


def update_schedule(call: Call) -> Result:
    return _save(call, call.record("recurring"))


def delete_schedule(call: Call) -> Result:
    cascade.delete_recurring(call.store, call.record("recurring")["id"])
    return DELETED


ROUTES: list[RouteSpec] = [
    ("GET", "/recurring", list_schedules),
    ("POST", "/recurring", create_schedule),
    ("GET", "/recurring/{id:int}", get_schedule),
    ("PUT", "/recurring/{id:int}", update_schedule),
    ("DELETE", "/recurring/{id:int}", delete_schedule),
]
