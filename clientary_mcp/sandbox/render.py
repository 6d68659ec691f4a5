"""Records → API JSON, following the field lists and date forms of the API doc."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from .documents import HEADER, item_taxes, totals
from .values import money

if TYPE_CHECKING:
    from .store import Store

Record = dict[str, Any]


def slash(value: date | None) -> str | None:
    return value.strftime("%Y/%m/%d") if value else None


def iso(value: date | None) -> str | None:
    return value.isoformat() if value else None


def stamp(value: datetime | None) -> str | None:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


def num(value: float | int | None, places: int = 2) -> float | int | None:
    """Numbers as the doc shows them: whole values without a fraction; money to cents."""
    if value is None:
        return None
    rounded = round(money(float(value)) if places == 2 else float(value), places)
    return int(rounded) if rounded.is_integer() else rounded


def qty(value: float | int | None) -> float | int | None:
    """Hours and quantities keep finer fractions than money."""
    return num(value, places=4)


PARTY_FIELDS = ("number", "name", "address", "address_2", "city", "state", "zip", "country", "website", "description")


def client(store: Store, row: Record) -> Record:
    body = {"id": row["id"], **{key: row.get(key) for key in PARTY_FIELDS}}
    body["invoice_extra_fields"] = row.get("invoice_extra_fields")
    if "status" in row:
        body["status"] = row["status"]
    body["created_at"] = stamp(row["created_at"])
    body["updated_at"] = stamp(row["updated_at"])
    return body


lead = client


def contact(store: Store, row: Record) -> Record:
    keys = ("id", "client_id", "name", "email", "title", "phone", "mobile", "ext", "avatar")
    return {key: row.get(key) for key in keys}


def staff(store: Store, row: Record) -> Record:
    keys = ("id", "name", "email", "title", "phone", "mobile", "ext", "avatar")
    return {key: row.get(key) for key in keys}


def embedded_client(store: Store, client_id: int | None) -> Record | None:
    row = store.get("clients", client_id)
    return client(store, row) if row else None


def hour_cost(row: Record) -> float:
    return money((row.get("hours") or 0.0) * (row.get("rate") or 0.0))


def project(store: Store, row: Record) -> Record:
    entries = store.children("hours", "project_id", row["id"])
    worked = sum(entry["hours"] for entry in entries)
    unbilled = sum(entry["hours"] for entry in entries if not entry["billed"])
    if row.get("project_type") == 2:
        cost = row.get("rate") or 0.0  # a fixed-amount project's rate is its total price
    else:
        cost = sum(hour_cost(entry) for entry in entries)
    return {
        "id": row["id"],
        "number": row.get("number"),
        "name": row["name"],
        "description": row.get("description"),
        "status": row["status"],
        "budget_type": row["budget_type"],
        "project_type": row["project_type"],
        "budget": num(row.get("budget")),
        "rate": num(row.get("rate")),
        "cost": num(cost),
        "worked_hours": qty(worked),
        "unbilled_hours": qty(unbilled),
        "currency_code": row.get("currency_code"),
        "start_date": slash(row.get("start_date")),
        "end_date": slash(row.get("end_date")),
        "client": embedded_client(store, row.get("client_id")),
    }


def hour(store: Store, row: Record) -> Record:
    return {
        "id": row["id"],
        "project_id": row["project_id"],
        "user_id": row["user_id"],
        "title": row["title"],
        "description": row.get("description"),
        "date": slash(row.get("date")),
        "hours": qty(row["hours"]),
        "rate": num(row.get("rate")),
        "cost": num(hour_cost(row)),
        "billed?": row["billed"],
    }


def expense(store: Store, row: Record) -> Record:
    return {
        "id": row["id"],
        "amount": num(row["amount"]),
        "description": row.get("description"),
        "incurred_on": slash(row.get("incurred_on")),
        "client_id": row.get("client_id"),
        "project_id": row.get("project_id"),
        "invoice_id": row.get("invoice_id"),
        "invoice_item_id": row.get("invoice_item_id"),
        "user_id": row["user_id"],
    }


def task(store: Store, row: Record) -> Record:
    keys = ("id", "title", "description", "complete", "project_id", "assignee_id", "client_id", "user_id")
    body = {key: row.get(key) for key in keys}
    body["completed_at"] = stamp(row.get("completed_at"))
    body["due_date"] = slash(row.get("due_date"))
    body["created_at"] = stamp(row["created_at"])
    body["updated_at"] = stamp(row["updated_at"])
    return body


def taxes(row: Record) -> Record:
    """Tax percentages (not money: no rounding to cents), their labels, and the compound flag."""
    body: Record = {}
    for rate in ("tax", "tax2", "tax3"):
        body[rate] = qty(row.get(rate))
        body[f"{rate}_label"] = row.get(f"{rate}_label")
    body["compound_tax"] = bool(row.get("compound_tax"))
    return body


def _doc_header(row: Record) -> Record:
    subtotal, total = totals(row)
    return {
        "id": row["id"],
        "number": row.get("number"),
        "title": row.get("title"),
        "date": slash(row.get("date")),
        "client_id": row.get("client_id"),
        "project_id": row.get("project_id"),
        "note": row.get("note"),
        "summary": row.get("summary"),
        "status": row["status"],
        "currency_code": row.get("currency_code"),
        "subtotal": num(subtotal),
        "total_cost": num(total),
        **taxes(row),
    }


def _doc_item(item: Record) -> Record:
    return {
        "id": item["id"],
        "title": item.get("title"),
        "quantity": qty(item.get("quantity")),
        "price": num(item.get("price")),
        "taxable": bool(item.get("taxable")),
        "item_type": item.get("item_type"),
    }


def estimate(store: Store, row: Record) -> Record:
    body = _doc_header(row)
    body["estimate_items"] = [_doc_item(item) for item in row.get("items", [])]
    body["created_at"] = stamp(row["created_at"])
    body["updated_at"] = stamp(row["updated_at"])
    return body


def invoice_balance(store: Store, row: Record) -> tuple[float, float, float]:
    """(total_cost, total_payments, balance)."""
    _, total = totals(row)
    paid = money(sum(payment["amount"] for payment in store.children("payments", "invoice_id", row["id"])))
    return total, paid, money(total - paid)


def invoice(store: Store, row: Record) -> Record:
    _, paid, balance = invoice_balance(store, row)
    body = _doc_header(row)
    body["due_date"] = slash(row.get("due_date"))
    body["po"] = row.get("po")
    body["balance"] = num(balance)
    body["total_payments"] = num(paid)
    body["invoice_items"] = [_doc_item(item) for item in row.get("items", [])]
    body["payments"] = [embedded_payment(payment) for payment in store.children("payments", "invoice_id", row["id"])]
    schedule_id = row.get("recurring_schedule_id")
    body["recurring_schedules"] = [{"id": schedule_id}] if store.get("recurring", schedule_id) else []
    body["created_at"] = stamp(row["created_at"])
    body["updated_at"] = stamp(row["updated_at"])
    return body


def embedded_payment(row: Record) -> Record:
    return {
        "id": row["id"],
        "invoice_id": row["invoice_id"],
        "amount": num(row["amount"]),
        "note": row.get("note"),
        "received_on": slash(row["received_on"]),
        "updated_at": stamp(row["updated_at"]),
    }


def payment(store: Store, row: Record) -> Record:
    return {
        "id": row["id"],
        "invoice_id": row["invoice_id"],
        "amount": num(row["amount"]),
        "note": row.get("note"),
        "received_on": iso(row["received_on"]),
        "transaction_fee_amount": num(row.get("transaction_fee_amount") or 0.0),
        "transaction_id": row.get("transaction_id"),
        "created_at": stamp(row["created_at"]),
        "updated_at": stamp(row["updated_at"]),
    }


def payment_profile(store: Store, row: Record) -> Record:
    keys = ("id", "client_id", "name", "gateway", "gateway_token", "card_type", "last_four_digits", "address", "city",
            "state", "zip", "country")
    body = {key: row.get(key) for key in keys}
    body["expiration_date"] = iso(row.get("expiration_date"))
    body["created_at"] = stamp(row["created_at"])
    body["updated_at"] = stamp(row["updated_at"])
    return body


def recurring_item(schedule: Record, item: Record) -> Record:
    _, tax = item_taxes(schedule, item)
    return {
        "id": item["id"],
        "recurring_schedule_id": schedule["id"],
        "title": item.get("title"),
        "item_type": item.get("item_type"),
        "price": f"{item.get('price') or 0.0:.2f}",
        "quantity": float(item.get("quantity") or 0.0),
        "taxable?": bool(item.get("taxable")),
        "secondary_tax?": bool(item.get("secondary_tax")),
        "tertiary_tax?": bool(item.get("tertiary_tax")),
        "total_tax": num(0.0 if item.get("item_type") == HEADER else tax),
    }


def recurring(store: Store, row: Record) -> Record:
    subtotal, total = totals(row)
    keys = ("id", "client_id", "number", "title", "note", "po", "summary", "status", "action", "time_interval",
            "due_period", "unlimited", "occurrences_remaining", "payment_profile_id", "currency_code")
    body = {key: row.get(key) for key in keys}
    body["client"] = embedded_client(store, row.get("client_id"))
    body["next_date"] = iso(row.get("next_date"))
    body["subtotal"] = num(subtotal)
    body["total_cost"] = num(total)
    body.update(taxes(row))
    body["updated_at"] = stamp(row["updated_at"])
    body["recurring_schedule_items"] = [recurring_item(row, item) for item in row.get("items", [])]
    return body
