"""Deletes and what they take with them.

The doc states the client, contact and lead cascades; project and invoice cascades
follow the sandbox's documented choices. References left dangling by a delete are
cleared rather than deleted (Rails `dependent: :nullify`).
"""

from __future__ import annotations

from typing import Any

from .store import Store


def _ids(store: Store, table: str, **criteria: Any) -> list[int]:
    return [row["id"] for row in store.where(table, **criteria)]


def _clear(store: Store, table: str, key: str, value: int, also: tuple[str, ...] = ()) -> None:
    for row in store.where(table, **{key: value}):
        for name in (key, *also):
            row[name] = None
        store.save(table, row)


def delete_invoice(store: Store, invoice_id: int) -> None:
    store.remove("payments", _ids(store, "payments", invoice_id=invoice_id))
    _clear(store, "expenses", "invoice_id", invoice_id, also=("invoice_item_id",))
    store.remove("invoices", [invoice_id])


def delete_project(store: Store, project_id: int) -> None:
    for invoice_id in _ids(store, "invoices", project_id=project_id):
        delete_invoice(store, invoice_id)
    for table in ("tasks", "hours", "expenses", "estimates"):
        store.remove(table, _ids(store, table, project_id=project_id))
    store.remove("projects", [project_id])


def delete_recurring(store: Store, schedule_id: int) -> None:
    _clear(store, "invoices", "recurring_schedule_id", schedule_id)
    store.remove("recurring", [schedule_id])


def delete_payment_profile(store: Store, profile_id: int) -> None:
    _clear(store, "recurring", "payment_profile_id", profile_id)
    store.remove("payment_profiles", [profile_id])


def delete_client(store: Store, client_id: int) -> None:
    for project_id in _ids(store, "projects", client_id=client_id):
        delete_project(store, project_id)
    for invoice_id in _ids(store, "invoices", client_id=client_id):
        delete_invoice(store, invoice_id)
    for schedule_id in _ids(store, "recurring", client_id=client_id):
        delete_recurring(store, schedule_id)
    for profile_id in _ids(store, "payment_profiles", client_id=client_id):
        delete_payment_profile(store, profile_id)
    for table in ("estimates", "contacts"):
        store.remove(table, _ids(store, table, client_id=client_id))
    _clear(store, "expenses", "client_id", client_id)
    _clear(store, "tasks", "client_id", client_id)
    store.remove("clients", [client_id])


def delete_lead(store: Store, lead_id: int) -> None:
    # A lead's estimates and contacts point at it through `client_id` (shared id sequence).
    for table in ("estimates", "contacts"):
        store.remove(table, _ids(store, table, client_id=lead_id))
    store.remove("leads", [lead_id])


def delete_plain(store: Store, table: str, record_id: int) -> None:
    store.remove(table, [record_id])
