"""Previews of gated tools: exactly what would happen, read from the account before anything changes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..tools.shapes import counted, describe, shape_record

if TYPE_CHECKING:
    from ..api import ClientaryClient

_ALL_TIME = {"from_date": "1970-01-01", "to_date": "2100-12-31"}  # cascades ignore the fiscal-year window


@dataclass
class Preview:
    summary: str
    effects: dict[str, Any]
    record: dict[str, Any]


async def _count(api: ClientaryClient, path: str, key: str) -> int:
    page = await api.list_page(path, key, page=1)
    return page.total_count if page.total_count is not None else len(page.items)


async def _count_all(api: ClientaryClient, path: str, key: str, params: dict[str, Any] | None = None) -> int:
    page = await api.list_unpaginated(path, key, params=params)
    return len(page.items)


async def _get(api: ClientaryClient, path: str, entity: str) -> dict[str, Any]:
    return shape_record(entity, await api.request("GET", path))


def _cascade_text(counts: dict[str, int]) -> str:
    parts = [counted(n, name.replace('_', ' ')) for name, n in counts.items()]
    return ", ".join(parts) if parts else "nothing else"


async def _counts(record: Awaitable[dict[str, Any]], **counts: Awaitable[int]) -> tuple[dict[str, Any], dict[str, int]]:
    """The record and the cascade counts, read concurrently (they are independent GETs)."""
    import anyio

    results: dict[str, Any] = {}

    async def run(key: str, job: Awaitable[Any]) -> None:
        try:
            results[key] = await job
        except Exception as exc:  # kept, so the caller sees the API error itself, not an exception group
            results[key] = exc

    async with anyio.create_task_group() as tg:
        tg.start_soon(run, "", record)
        for key, job in counts.items():
            tg.start_soon(run, key, job)
    for key in ("", *counts):  # the record's error first: "not found" explains everything after it
        if isinstance(results[key], Exception):
            raise results[key]
    return results[""], {key: results[key] for key in counts}


async def _client(api: ClientaryClient, a: dict[str, Any]) -> Preview:
    base = f"/api/v2/clients/{a['id']}"
    rec, counts = await _counts(
        _get(api, base, "client"),
        projects=_count(api, f"{base}/projects", "projects"),
        invoices=_count(api, f"{base}/invoices", "invoices"),
        estimates=_count(api, f"{base}/estimates", "estimates"),
        contacts=_count(api, f"{base}/contacts", "contacts"),
    )
    text = (f"Permanently delete {describe('client', rec)} together with {_cascade_text(counts)} "
            "(and everything under those projects and invoices). This cannot be undone.")
    return Preview(text, {"deletes": {"client": 1, **counts}}, rec)


async def _project(api: ClientaryClient, a: dict[str, Any]) -> Preview:
    base = f"/api/v2/projects/{a['id']}"
    rec, counts = await _counts(
        _get(api, base, "project"),
        tasks=_count(api, f"{base}/tasks", "tasks"),
        hour_entries=_count_all(api, f"{base}/hours", "hours"),
        expenses=_count_all(api, f"{base}/expenses", "expenses", _ALL_TIME),
        invoices=_count(api, f"{base}/invoices", "invoices"),
        estimates=_count(api, f"{base}/estimates", "estimates"),
    )
    text = f"Permanently delete {describe('project', rec)} together with {_cascade_text(counts)}. This cannot be undone."
    return Preview(text, {"deletes": {"project": 1, **counts}}, rec)


def _simple(entity: str, path: str, note: str = "") -> Callable[[ClientaryClient, dict[str, Any]], Awaitable[Preview]]:
    async def build(api: ClientaryClient, a: dict[str, Any]) -> Preview:
        rec = await _get(api, path.format(**a), entity)
        text = f"Permanently delete {describe(entity, rec)}{note}. This cannot be undone."
        return Preview(text, {"deletes": {entity: 1}}, rec)

    return build


async def _payment(api: ClientaryClient, a: dict[str, Any]) -> Preview:
    # No single-payment endpoint: the invoice carries its payments.
    invoice = await _get(api, f"/api/v2/invoices/{a['invoice_id']}", "invoice")
    payment = next((p for p in invoice.get("payments") or [] if p.get("id") == a["id"]), None)
    if payment is None:
        from ..api.errors import NotFoundError

        raise NotFoundError(f"Payment {a['id']} is not on invoice {a['invoice_id']}. "
                            "Use get_invoice to see the invoice's payments and their ids.",
                            status=404, method="GET", path=f"/api/v2/invoices/{a['invoice_id']}")
    balance = invoice.get("balance")
    after = round(balance + payment.get("amount", 0), 2) if isinstance(balance, (int, float)) else None
    text = (f"Permanently delete the payment of {payment.get('amount')} received {payment.get('received_on')} "
            f"on invoice {invoice.get('number')} (id {a['invoice_id']}); its balance goes from {balance} to {after}.")
    return Preview(text, {"deletes": {"payment": 1}, "invoice_balance_after": after},
                   {**payment, "invoice_id": a["invoice_id"]})


async def _payment_profile(api: ClientaryClient, a: dict[str, Any]) -> Preview:
    page = await api.list_all(f"/api/v2/clients/{a['client_id']}/payment_profiles", "payment_profiles")
    raw = next((p for p in page.items if p.get("id") == a["id"]), None)
    if raw is None:
        from ..api.errors import NotFoundError

        raise NotFoundError(f"Payment profile {a['id']} does not belong to client {a['client_id']}. "
                            "Use list_client_payment_profiles to find it.",
                            status=404, method="GET", path=f"/api/v2/clients/{a['client_id']}/payment_profiles")
    rec = shape_record("payment_profile", raw)
    text = (f"Permanently delete payment profile {a['id']} ({rec.get('name')}, {rec.get('gateway')}) of client "
            f"{a['client_id']}; recurring schedules that autobill with it will fail to charge.")
    return Preview(text, {"deletes": {"payment_profile": 1}}, rec)


async def _recurring(api: ClientaryClient, a: dict[str, Any]) -> Preview:
    rec = await _get(api, f"/api/v2/recurring/{a['id']}", "recurring")
    made = await _count(api, f"/api/v2/recurring/{a['id']}/invoices", "invoices")
    text = (f"Permanently delete recurring schedule {a['id']} ({rec.get('title') or rec.get('number')}, "
            f"next invoice {rec.get('next_date')}). The {made} invoice(s) it already generated stay.")
    return Preview(text, {"deletes": {"recurring_schedule": 1}, "keeps": {"invoices": made}}, rec)


def _send(entity: str) -> Callable[[ClientaryClient, dict[str, Any]], Awaitable[Preview]]:
    async def build(api: ClientaryClient, a: dict[str, Any]) -> Preview:
        doc = await _get(api, f"/api/v2/{entity}s/{a['id']}", entity)
        recipients = a.get("recipients", [])
        subject = a.get("subject") or f"{entity.capitalize()} {doc.get('number')}"
        amount_key = "balance" if entity == "invoice" else "total_cost"
        effects = {
            "emails": {"recipients": recipients, "subject": subject, "attach_pdf": bool(a.get("attach_pdf")),
                       "send_copy": bool(a.get("send_copy"))},
            entity: {"number": doc.get("number"), amount_key: doc.get(amount_key),
                     "currency_code": doc.get("currency_code"), "status": doc.get("status")},
        }
        text = (f"Email {entity} {doc.get('number')} (id {a['id']}, {amount_key.replace('_', ' ')} "
                f"{doc.get(amount_key)} {doc.get('currency_code') or ''}) to {', '.join(recipients)} with subject "
                f"\"{subject}\". An email cannot be recalled.")
        record = {k: doc.get(k) for k in ("id", "number", "client_id", "status", "balance", "total_cost") if k in doc}
        return Preview(text, effects, record)

    return build


async def _invoice(api: ClientaryClient, a: dict[str, Any]) -> Preview:
    inv = await _get(api, f"/api/v2/invoices/{a['id']}", "invoice")
    payments = len(inv.get("payments") or [])
    text = (f"Permanently delete {describe('invoice', inv)} (total {inv.get('total_cost')}, balance "
            f"{inv.get('balance')} {inv.get('currency_code') or ''}) together with {payments} payment(s) recorded "
            "on it. This cannot be undone.")
    record = {k: inv.get(k) for k in ("id", "number", "client_id", "status", "total_cost", "balance")}
    return Preview(text, {"deletes": {"invoice": 1, "payments": payments}}, record)


async def _charge(api: ClientaryClient, a: dict[str, Any]) -> Preview:
    """Moving money: the preview names the amount, the card and the invoice it pays."""
    from ..api.errors import NotFoundError, ValidationError

    inv = await _get(api, f"/api/v2/invoices/{a['invoice_id']}", "invoice")
    client_id = inv.get("client_id")
    path = f"/api/v2/clients/{client_id}/payment_profiles"
    page = await api.list_all(path, "payment_profiles") if client_id else None
    raw = next((p for p in (page.items if page else []) if p.get("id") == a["payment_profile_id"]), None)
    if raw is None:
        raise NotFoundError(f"Payment profile {a['payment_profile_id']} is not a stored card of invoice "
                            f"{a['invoice_id']}'s client ({client_id}). Use list_client_payment_profiles with "
                            f"client_id {client_id} to find it.", status=404, method="GET", path=path)
    balance = inv.get("balance")
    if not isinstance(balance, (int, float)) or balance <= 0:
        raise ValidationError(f"Invoice {inv.get('number')} (id {a['invoice_id']}) has no balance to charge "
                              f"(balance {balance}). Nothing was charged.", status=422, method="GET",
                              path=f"/api/v2/invoices/{a['invoice_id']}")
    card = {"brand": raw.get("card_type"), "last4": raw.get("last_four_digits"), "name": raw.get("name"),
            "expiration_date": shape_record("payment_profile", raw).get("expiration_date"),
            "payment_profile_id": a["payment_profile_id"]}
    currency = inv.get("currency_code") or ""
    brand = card["brand"] or "card"
    last4 = f" ending {card['last4']}" if card["last4"] else " (last digits unknown)"
    text = (f"Charge {balance} {currency} to {card['name']}'s {brand}{last4} for invoice {inv.get('number')} "
            f"(id {a['invoice_id']}, balance {balance} {currency} of {inv.get('total_cost')}). The whole balance is "
            "charged; money moved cannot be taken back here.")
    effects = {"charges": {"amount": balance, "currency_code": inv.get("currency_code"), "card": card},
               "invoice": {"id": a["invoice_id"], "number": inv.get("number"), "balance": balance,
                           "balance_after": 0, "total_cost": inv.get("total_cost"), "status": inv.get("status")}}
    record = {k: inv.get(k) for k in ("id", "number", "client_id", "status", "total_cost", "balance")}
    return Preview(text, effects, record)


PREVIEWS: dict[str, Callable[[ClientaryClient, dict[str, Any]], Awaitable[Preview]]] = {
    "delete_client": _client,
    "delete_project": _project,
    "delete_contact": _simple("contact", "/api/v2/contacts/{id}", " and its comments"),
    "delete_lead": _simple("lead", "/api/v2/leads/{id}", " together with its estimates and contacts"),
    "delete_expense": _simple("expense", "/api/v2/expenses/{id}"),
    "delete_hour_entry": _simple("hour", "/api/v2/hours/{id}"),
    "delete_payment": _payment,
    "delete_payment_profile": _payment_profile,
    "delete_recurring_schedule": _recurring,
    "send_invoice_message": _send("invoice"),
    "send_estimate_message": _send("estimate"),
    "delete_invoice": _invoice,
    "delete_estimate": _simple("estimate", "/api/v2/estimates/{id}"),
    "delete_task": _simple("task", "/api/v2/tasks/{id}"),
    "charge_payment_profile": _charge,
}
