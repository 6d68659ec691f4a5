"""Previews of gated tools: exactly what would happen, read from the account before anything changes.

A delete's preview lists everything the declared cascade table (`safety/cascades.py`) says goes with the
record, recursively, and its digest covers every id, so a record added to the cascade after the preview
voids the token. Text taken from records (names, subjects) is quoted with control characters and line
breaks removed, so a record cannot forge the wording of a confirmation question.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..tools.shapes import counted, label, shape_record
from .cascades import CASCADES, DELETES, Dependent

if TYPE_CHECKING:
    from ..api import ClientaryClient

MAX_READS = 100  # listings one preview may make; beyond that it refuses rather than show a partial list
MAX_QUOTED = 120


@dataclass
class Preview:
    summary: str
    effects: dict[str, Any]
    record: dict[str, Any]
    ids: dict[str, list[Any]] = field(default_factory=dict)  # digested, not shown: every id that goes


def quote(value: Any, limit: int = MAX_QUOTED) -> str:
    """Record text as it may appear in a confirmation: one line, no control characters, quoted, cut."""
    text = "".join(" " if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") else ch for ch in str(value))
    text = " ".join(text.split()).replace('"', "'")
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return f'"{text}"'


def describe(entity: str, rec: dict[str, Any]) -> str:
    name = label(rec)
    ident = rec.get("id")
    head = entity.replace("_", " ")
    return f"{head} {ident}" + (f" {quote(name)}" if name else "") if ident is not None else head


async def _count(api: ClientaryClient, path: str, key: str) -> int:
    page = await api.list_page(path, key, page=1)
    return page.total_count if page.total_count is not None else len(page.items)


async def _get(api: ClientaryClient, path: str, entity: str) -> dict[str, Any]:
    return shape_record(entity, await api.request("GET", path))


class _Reads:
    def __init__(self) -> None:
        self.left = MAX_READS

    def take(self) -> None:
        self.left -= 1
        if self.left < 0:
            from ..api.errors import ClientaryError

            error = ClientaryError(f"This delete takes more than {MAX_READS} listings' worth of records with it, "
                                   "too many to preview completely; delete its dependents first (or in smaller "
                                   "steps). Nothing was changed.")
            error.kind = "too_large"
            raise error


async def _rows(api: ClientaryClient, dep: Dependent, parent_id: Any, parent: dict[str, Any],
                reads: _Reads) -> list[dict[str, Any]]:
    if dep.embedded is not None:
        rows = parent.get(dep.embedded) or []
        return [r for r in rows if isinstance(r, dict)]
    assert dep.listing is not None
    reads.take()
    path = dep.listing.format(id=parent_id)
    if dep.paging == "none":
        page = await api.list_unpaginated(path, dep.list_key, params=dep.params or None)
    else:
        page = await api.list_all(path, dep.list_key, params=dep.params or None)
        if page.truncated:
            reads.left = -1
            reads.take()
    rows = [r for r in page.items if isinstance(r, dict)]
    if dep.scope is not None:
        rows = [r for r in rows if r.get(dep.scope) == parent_id]
    return rows


async def cascade(api: ClientaryClient, table: str, record_id: Any, record: dict[str, Any],
                  reads: _Reads | None = None) -> dict[str, set[Any]]:
    """Every record (by table) that deleting `table` `record_id` removes with it, read through the API."""
    import anyio

    reads = reads or _Reads()
    found: dict[str, set[Any]] = {}
    deps = [d for d in CASCADES[table] if d.action == "delete"]
    listed: dict[int, Any] = {}

    async def one(i: int, dep: Dependent) -> None:
        try:
            listed[i] = await _rows(api, dep, record_id, record, reads)
        except Exception as exc:  # kept, so the caller sees the API error itself, not an exception group
            listed[i] = exc

    async with anyio.create_task_group() as tg:  # the listings of one level are independent GETs
        for i, dep in enumerate(deps):
            tg.start_soon(one, i, dep)
    for i in range(len(deps)):
        if isinstance(listed[i], Exception):
            raise listed[i]
    for i, dep in enumerate(deps):
        for row in listed[i]:
            found.setdefault(dep.table, set()).add(row.get("id"))
            if any(d.action == "delete" for d in CASCADES[dep.table]):
                for sub, ids in (await cascade(api, dep.table, row.get("id"), row, reads)).items():
                    found.setdefault(sub, set()).update(ids)
    return found


def label_of(table: str) -> str:
    """A table's name in preview counts (the label its dependents declare, e.g. hours → hour_entries)."""
    for deps in CASCADES.values():
        for dep in deps:
            if dep.table == table and dep.label:
                return dep.label
    return table


def _counted(entity: str, found: dict[str, set[Any]]) -> tuple[dict[str, int], dict[str, list[Any]]]:
    counts = {entity: 1, **{label_of(t): len(ids) for t, ids in found.items() if ids}}
    ids = {t: sorted(ids, key=str) for t, ids in sorted(found.items()) if ids}
    return counts, ids


def _cascade_text(counts: dict[str, int]) -> str:
    parts = [counted(n, name.replace('_', ' ')) for name, n in list(counts.items())[1:]]
    return ", ".join(parts) if parts else "nothing else"


def _deleting(tool: str) -> Callable[[ClientaryClient, dict[str, Any]], Awaitable[Preview]]:
    spec = DELETES[tool]

    async def build(api: ClientaryClient, a: dict[str, Any]) -> Preview:
        raw = await api.request("GET", spec.path.format(**a))
        rec = shape_record(spec.entity, raw)
        found = await cascade(api, spec.table, a["id"], raw if isinstance(raw, dict) else {})
        counts, ids = _counted(spec.entity, found)
        text = (f"Permanently delete {describe(spec.entity, rec)}{spec.note} together with "
                f"{_cascade_text(counts)}. This cannot be undone.")
        return Preview(text, {"deletes": counts}, rec, ids)

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
    text = (f"Permanently delete the payment of {payment.get('amount')} received {quote(payment.get('received_on'))} "
            f"on invoice {quote(invoice.get('number'))} (id {a['invoice_id']}); its balance goes from {balance} to "
            f"{after}.")
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
    text = (f"Permanently delete payment profile {a['id']} ({quote(rec.get('name'))}, {quote(rec.get('gateway'))}) of "
            f"client {a['client_id']}; recurring schedules that autobill with it will fail to charge.")
    return Preview(text, {"deletes": {"payment_profile": 1}}, rec)


async def _recurring(api: ClientaryClient, a: dict[str, Any]) -> Preview:
    rec = await _get(api, f"/api/v2/recurring/{a['id']}", "recurring")
    made = await _count(api, f"/api/v2/recurring/{a['id']}/invoices", "invoices")
    text = (f"Permanently delete recurring schedule {a['id']} ({quote(rec.get('title') or rec.get('number'))}, "
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


async def _send_invoice(api: ClientaryClient, a: dict[str, Any]) -> Preview:
    inv = await _get(api, f"/api/v2/invoices/{a['id']}", "invoice")
    client_id = inv.get("client_id")
    client: dict[str, Any] = {}
    contacts: list[dict[str, Any]] = []
    if client_id is not None:  # whose invoice it is, and who may properly receive it
        client = await _get(api, f"/api/v2/clients/{client_id}", "client")
        contacts = (await api.list_all(f"/api/v2/clients/{client_id}/contacts", "contacts")).items
    known = {str(c.get("email") or "").strip().lower() for c in contacts if isinstance(c, dict)}
    known |= {str(client.get("email") or "").strip().lower()} - {""}
    recipients = a.get("recipients", [])
    strangers = [r for r in recipients if r.strip().lower() not in known]
    subject = a.get("subject") or f"Invoice {inv.get('number')}"
    client_name = client.get("name") or inv.get("client_name")
    effects = {
        "emails": {"recipients": recipients, "not_client_contacts": strangers, "subject": subject,
                   "attach_pdf": bool(a.get("attach_pdf")), "send_copy": bool(a.get("send_copy"))},
        "invoice": {"number": inv.get("number"), "balance": inv.get("balance"),
                    "currency_code": inv.get("currency_code"), "status": inv.get("status")},
        "client": {"id": client_id, "name": client_name},
    }
    whose = f"client {client_id} {quote(client_name)}" if client_name else f"client {client_id}"
    warning = (f" WARNING: {', '.join(quote(r) for r in strangers)} "
               f"{'is not a contact' if len(strangers) == 1 else 'are not contacts'} of {whose}." if strangers else "")
    text = (f"Email invoice {quote(inv.get('number'))} (id {a['id']}) of {whose}, balance {inv.get('balance')} "
            f"{inv.get('currency_code') or ''}, to {', '.join(quote(r) for r in recipients)} with subject "
            f"{quote(subject)}.{warning} An email cannot be recalled.")
    record = {k: inv.get(k) for k in ("id", "number", "client_id", "status", "balance", "total_cost")}
    return Preview(text, effects, record, {"contacts": sorted(known)})


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


_OWN: dict[str, Callable[[ClientaryClient, dict[str, Any]], Awaitable[Preview]]] = {
    "delete_payment": _payment,  # no GET of its own: read from its invoice
    "delete_payment_profile": _payment_profile,  # read from its client's list
    "delete_recurring_schedule": _recurring,  # also says which invoices stay
    "send_invoice_message": _send_invoice,
    "send_estimate_message": _send("estimate"),
    "charge_payment_profile": _charge,  # moving money: the amount, the card and the invoice it pays
}
# One entry per gated tool; every delete in DELETES without a preview of its own gets the generic one.
PREVIEWS = {**{tool: _deleting(tool) for tool in DELETES if tool not in _OWN}, **_OWN}
