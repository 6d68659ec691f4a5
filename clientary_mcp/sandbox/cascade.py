"""Deletes and what they take with them, derived from the declared table in `safety/cascades.py`.

The previews of the gated delete tools are derived from the same table, so what a preview lists is what
goes. References left dangling by a delete are cleared rather than deleted (Rails `dependent: :nullify`).
"""

from __future__ import annotations

from ..safety.cascades import CASCADES
from .store import Store


def delete(store: Store, table: str, record_id: int) -> None:
    """Remove the record, its dependents (recursively, in the declared order) and unlink the rest."""
    for dep in CASCADES[table]:
        rows = store.where(dep.table, **{dep.key: record_id})
        if dep.action == "delete":
            for row in rows:
                delete(store, dep.table, row["id"])
            continue
        for row in rows:
            for name in (dep.key, *dep.also):
                row[name] = None
            store.save(dep.table, row)
    store.remove(table, [record_id])


def delete_invoice(store: Store, invoice_id: int) -> None:
    delete(store, "invoices", invoice_id)


def delete_project(store: Store, project_id: int) -> None:
    delete(store, "projects", project_id)


def delete_recurring(store: Store, schedule_id: int) -> None:
    delete(store, "recurring", schedule_id)


def delete_payment_profile(store: Store, profile_id: int) -> None:
    delete(store, "payment_profiles", profile_id)


def delete_client(store: Store, client_id: int) -> None:
    delete(store, "clients", client_id)


def delete_lead(store: Store, lead_id: int) -> None:
    delete(store, "leads", lead_id)


def delete_plain(store: Store, table: str, record_id: int) -> None:
    delete(store, table, record_id)
