"""Clients, leads, contacts and staff."""

from __future__ import annotations

from typing import Any

from .. import cascade, render
from ..documents import check_number, next_number
from ..http import Call
from ..values import EMAIL_FIELD, TEXT, Field, Invalid, Schema, choice
from .common import DELETED, Result, RouteSpec, by_name, created, edited, newest_first, updated


def _extra_fields(value: Any) -> Any:
    if value is None or isinstance(value, dict):
        return value
    raise Invalid("must be an object")


PARTY = Schema(
    {
        **{key: TEXT for key in render.PARTY_FIELDS},
        "status": choice(1, 2),
        "invoice_extra_fields": Field(_extra_fields),
    },
    required=("name",),
)

CONTACT = Schema(
    {"name": TEXT, "email": EMAIL_FIELD, "title": TEXT, "phone": TEXT, "mobile": TEXT, "ext": TEXT, "avatar": TEXT},
    required=("name", "email"),
)

DEFAULT_AVATAR = "default_avatars/avatars/missing_original.jpg"


def _save_party(call: Call, table: str, base: dict[str, Any], wrapper: str, first_number: int) -> Result:
    record, errors = edited(call, PARTY, base, call.wrapped(wrapper))
    rows = call.store.table(table)
    if "id" not in base and not record.get("number"):
        record["number"] = next_number(rows, first_number)
    check_number(rows, record, errors)
    finish = updated if "id" in base else created
    renderer = render.client if table == "clients" else render.lead
    return finish(call, table, record, errors, renderer)


def _new_party() -> dict[str, Any]:
    return {"status": 1, "invoice_extra_fields": None}


# --- clients -------------------------------------------------------------------
def list_clients(call: Call) -> Result:
    rows = call.store.table("clients")
    since = call.query_since("updated_since")
    if since is not None:
        rows = [row for row in rows if row["updated_at"] >= since]
    rows = newest_first(rows) if call.query.get("sort") == "date" else by_name(rows)
    return 200, call.page("clients", rows, render.client, size=10)


def get_client(call: Call) -> Result:
    return 200, render.client(call.store, call.record("clients"))


def create_client(call: Call) -> Result:
    call.wrapped("client")
    call.check_plan_limit("clients")
    return _save_party(call, "clients", _new_party(), "client", 101)


def update_client(call: Call) -> Result:
    return _save_party(call, "clients", call.record("clients"), "client", 101)


def delete_client(call: Call) -> Result:
    cascade.delete_client(call.store, call.record("clients")["id"])
    return DELETED


# --- leads ---------------------------------------------------------------------
def list_leads(call: Call) -> Result:
    rows = call.store.table("leads")
    sort = call.query.get("sort")
    if sort == "name":
        rows = by_name(rows)
    elif sort == "oldest":
        rows = sorted(rows, key=lambda row: (row["created_at"], row["id"]))
    else:
        rows = newest_first(rows)
    return 200, call.page("leads", rows, render.lead, size=20)


def get_lead(call: Call) -> Result:
    return 200, render.lead(call.store, call.record("leads"))


def create_lead(call: Call) -> Result:
    call.wrapped("lead")
    call.check_plan_limit("leads")
    return _save_party(call, "leads", _new_party(), "lead", 1)


def update_lead(call: Call) -> Result:
    return _save_party(call, "leads", call.record("leads"), "lead", 1)


def delete_lead(call: Call) -> Result:
    cascade.delete_lead(call.store, call.record("leads")["id"])
    return DELETED


# --- contacts ------------------------------------------------------------------
def list_contacts(call: Call) -> Result:
    return 200, call.page("contacts", call.store.table("contacts"), render.contact, size=10, sizable=True)


def list_client_contacts(call: Call) -> Result:
    client = call.record("clients", "client_id")
    rows = call.store.where("contacts", client_id=client["id"])
    return 200, call.page("contacts", rows, render.contact, size=10, sizable=True)


def get_contact(call: Call) -> Result:
    return 200, render.contact(call.store, call.record("contacts"))


def create_contact(call: Call) -> Result:
    client = call.record("clients", "client_id")
    attrs = call.wrapped("client_user")
    call.check_plan_limit("contacts")
    record, errors = edited(call, CONTACT, {"client_id": client["id"], "avatar": DEFAULT_AVATAR}, attrs)
    return created(call, "contacts", record, errors, render.contact)


def update_contact(call: Call) -> Result:
    record, errors = edited(call, CONTACT, call.record("contacts"), call.wrapped("client_user"))
    return updated(call, "contacts", record, errors, render.contact)


def delete_contact(call: Call) -> Result:
    # The contact's comments go with it; comments have no API, so nothing else to remove.
    cascade.delete_plain(call.store, "contacts", call.record("contacts")["id"])
    return DELETED


# --- staff (read-only through the API) -------------------------------------------
def list_staff(call: Call) -> Result:
    return 200, {"staff": [render.staff(call.store, row) for row in call.store.table("staff")]}


def get_staff(call: Call) -> Result:
    return 200, render.staff(call.store, call.record("staff"))


ROUTES: list[RouteSpec] = [
    ("GET", "/clients", list_clients),
    ("POST", "/clients", create_client),
    ("GET", "/clients/{id:int}", get_client),
    ("PUT", "/clients/{id:int}", update_client),
    ("DELETE", "/clients/{id:int}", delete_client),
    ("GET", "/leads", list_leads),
    ("POST", "/leads", create_lead),
    ("POST", "/Lead", create_lead),  # the doc prints this spelling
    ("POST", "/lead", create_lead),
    ("GET", "/leads/{id:int}", get_lead),
    ("PUT", "/leads/{id:int}", update_lead),
    ("DELETE", "/leads/{id:int}", delete_lead),
    ("GET", "/contacts", list_contacts),
    ("GET", "/clients/{client_id:int}/contacts", list_client_contacts),
    ("POST", "/clients/{client_id:int}/contacts", create_contact),
    ("GET", "/contacts/{id:int}", get_contact),
    ("PUT", "/contacts/{id:int}", update_contact),
    ("DELETE", "/contacts/{id:int}", delete_contact),
    ("GET", "/staff", list_staff),
    ("GET", "/staff/{id:int}", get_staff),
]
