"""Emailing an invoice or an estimate. Nothing is sent; the message is recorded."""

from __future__ import annotations

from typing import Any

from .. import render
from ..http import Call, raise_if
from ..values import EMAIL, Errors, Invalid, to_bool, to_text
from .common import Result, RouteSpec

DRAFT, SENT = 0, 1


def _recipients(value: Any, errors: Errors) -> list[str]:
    if not isinstance(value, list) or not value:
        errors.add("recipients", "must be a non-empty list of email addresses")
        return []
    bad = [item for item in value if not isinstance(item, str) or not EMAIL.match(item.strip())]
    if bad:
        errors.add("recipients", f"contains invalid email addresses: {', '.join(map(str, bad))}")
    return [item.strip() for item in value if isinstance(item, str)]


def _message(call: Call, kind: str, document: dict[str, Any]) -> dict[str, Any]:
    errors = Errors()
    record: dict[str, Any] = {"recipients": _recipients(call.body.get("recipients"), errors)}
    for name, coerce, default in (("subject", to_text, None), ("message", to_text, None),
                                  ("send_copy", to_bool, False), ("attach_pdf", to_bool, False)):
        try:
            record[name] = coerce(call.body[name]) if name in call.body else default
        except Invalid as problem:
            errors.add(name, str(problem))
    raise_if(errors)
    title = "Invoice" if kind == "invoice" else "Estimate"
    record["subject"] = record["subject"] or f"{title} {document['number']} from {call.store.settings.name}"
    record.update({"invoice_id": None, "estimate_id": None, f"{kind}_id": document["id"], "sent_at": call.store.now()})
    return record


def _send(call: Call, table: str, kind: str) -> Result:
    document = call.record(table)
    message = _message(call, kind, document)
    if document["status"] == DRAFT:
        document["status"] = SENT
        call.store.save(table, document)
    call.store.insert("messages", message)
    return 200, {
        "id": message["id"],
        f"{kind}_id": document["id"],
        "recipients": message["recipients"],
        "subject": message["subject"],
        "message": message["message"],
        "send_copy": message["send_copy"],
        "attach_pdf": message["attach_pdf"],
        "sent_at": render.stamp(message["sent_at"]),
        "status": document["status"],
    }


def send_invoice(call: Call) -> Result:
    return _send(call, "invoices", "invoice")


def send_estimate(call: Call) -> Result:
    return _send(call, "estimates", "estimate")


ROUTES: list[RouteSpec] = [
    ("POST", "/invoices/{id:int}/messages", send_invoice),
    ("POST", "/estimates/{id:int}/messages", send_estimate),
]
