"""What Clientary removes (or unlinks) along with a deleted record: one declared table.

The sandbox's deletes (`sandbox/cascade.py`) and the gated tools' previews (`safety/previews.py`) are
both derived from `CASCADES`, so a preview lists exactly what the delete takes. A new delete tool needs
one entry in `DELETES` (and, for a new kind of record, one in `CASCADES`).

A dependent is found through the API either by a listing path (`listing`, `{id}` the parent's id, with
`scope` naming the parent's field when the listing is global and must be filtered) or inside the parent's
own JSON (`embedded`: e.g. an invoice carries its payments).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal


@dataclass(frozen=True)
class Dependent:
    table: str  # the kind of record (the sandbox table)
    key: str  # its field pointing at the parent
    action: Literal["delete", "clear"] = "delete"  # deleted (with its own dependents) or only unlinked
    also: tuple[str, ...] = ()  # further fields cleared with `key`
    label: str = ""  # the name in a preview's counts (default: the table)
    listing: str | None = None  # GET path listing them for one parent
    list_key: str = ""
    paging: Literal["pages", "none"] = "pages"
    params: dict[str, Any] = field(default_factory=dict)
    scope: str | None = None  # the listing is not per parent: keep rows whose `key` is the parent's id
    embedded: str | None = None  # or: the parent's JSON holds them under this key

    @property
    def name(self) -> str:
        return self.label or self.table


_ALL_TIME = {"from_date": "1970-01-01", "to_date": "2100-12-31"}  # cascades ignore the fiscal-year window


def _listed(table: str, key: str, parent: str, list_key: str | None = None, **kw: Any) -> Dependent:
    return Dependent(table, key, listing=f"/api/v2/{parent}/{{id}}/{list_key or table}", list_key=list_key or table,
                     **kw)


CASCADES: dict[str, tuple[Dependent, ...]] = {
    "clients": (
        _listed("projects", "client_id", "clients"),
        _listed("invoices", "client_id", "clients"),
        Dependent("recurring", "client_id", label="recurring_schedules", listing="/api/v2/recurring",
                  list_key="recurring", scope="client_id"),
        _listed("payment_profiles", "client_id", "clients"),
        _listed("estimates", "client_id", "clients"),
        _listed("contacts", "client_id", "clients"),
        Dependent("expenses", "client_id", action="clear"),
        Dependent("tasks", "client_id", action="clear"),
    ),
    "projects": (
        _listed("invoices", "project_id", "projects"),
        _listed("tasks", "project_id", "projects"),
        _listed("hours", "project_id", "projects", label="hour_entries", paging="none"),
        _listed("expenses", "project_id", "projects", paging="none", params=_ALL_TIME),
        _listed("estimates", "project_id", "projects"),
    ),
    "invoices": (
        Dependent("payments", "invoice_id", embedded="payments"),
        Dependent("expenses", "invoice_id", action="clear", also=("invoice_item_id",)),
    ),
    "recurring": (Dependent("invoices", "recurring_schedule_id", action="clear"),),
    "payment_profiles": (Dependent("recurring", "payment_profile_id", action="clear"),),
    # A lead's estimates and contacts point at it through `client_id` (leads and clients share ids).
    "leads": (
        Dependent("estimates", "client_id", listing="/api/v2/estimates", list_key="estimates", scope="client_id"),
        Dependent("contacts", "client_id", listing="/api/v2/contacts", list_key="contacts", scope="client_id"),
    ),
    "contacts": (), "expenses": (), "hours": (), "tasks": (), "estimates": (), "payments": (),
}


@dataclass(frozen=True)
class Delete:
    """A delete tool: the record it removes, where to read it, and how the preview names it."""

    table: str
    entity: str  # for `describe` / shape_record
    path: str  # GET path of the record, formatted with the tool's arguments
    note: str = ""  # what else goes that the API cannot list (said in the preview's text)


DELETES: dict[str, Delete] = {
    "delete_client": Delete("clients", "client", "/api/v2/clients/{id}"),
    "delete_project": Delete("projects", "project", "/api/v2/projects/{id}"),
    "delete_contact": Delete("contacts", "contact", "/api/v2/contacts/{id}", note=" and its comments"),
    "delete_lead": Delete("leads", "lead", "/api/v2/leads/{id}"),
    "delete_expense": Delete("expenses", "expense", "/api/v2/expenses/{id}"),
    "delete_hour_entry": Delete("hours", "hour", "/api/v2/hours/{id}"),
    "delete_recurring_schedule": Delete("recurring", "recurring", "/api/v2/recurring/{id}"),
    "delete_payment_profile": Delete("payment_profiles", "payment_profile", ""),  # read from the client's list
    "delete_payment": Delete("payments", "payment", ""),  # read from its invoice
    "delete_invoice": Delete("invoices", "invoice", "/api/v2/invoices/{id}"),
    "delete_estimate": Delete("estimates", "estimate", "/api/v2/estimates/{id}"),
    "delete_task": Delete("tasks", "task", "/api/v2/tasks/{id}"),
}
