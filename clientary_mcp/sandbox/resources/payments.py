"""Payments on invoices and the stored payment profiles that can be charged."""

from __future__ import annotations

from typing import Any

from .. import cascade, render
from ..http import ApiError, Call, not_found, raise_if
from ..values import DATE, NUMBER, TEXT, Errors, Schema, ref
from .common import DELETED, Result, RouteSpec, created, edited

SENT, PAID = 1, 4

PAYMENT = Schema({"amount": NUMBER, "note": TEXT, "received_on": DATE}, required=("amount",))
CHARGE = Schema({"payment_profile_id": ref("payment_profiles")}, required=("payment_profile_id",))

PROFILE = Schema(
    {
        **{key: TEXT for key in ("stripe_customer_id", "stripe_source_id", "last_four_digits", "name", "card_type",
                                 "address", "city", "zip", "state", "country")},
        "expiration_date": DATE,
    },
    required=("stripe_customer_id", "stripe_source_id", "last_four_digits", "name", "expiration_date"),
)


def settle(call: Call, invoice: dict[str, Any]) -> None:
    """Paid once payments cover the total; back to Sent when a removed payment reopens it."""
    _, _, balance = render.invoice_balance(call.store, invoice)
    if balance <= 0:
        invoice["status"] = PAID
    elif invoice["status"] == PAID:
        invoice["status"] = SENT
    call.store.save("invoices", invoice)


def list_payments(call: Call) -> Result:
    rows = call.store.table("payments")
    if call.query.get("sort") == "created_at":
        rows.sort(key=lambda row: (row["created_at"], row["id"]))
    else:
        rows.sort(key=lambda row: (row["received_on"], row["id"]), reverse=True)
    return 200, call.page("payments", rows, render.payment, size=30)


def _charge(call: Call, invoice: dict[str, Any], attrs: dict[str, Any]) -> tuple[dict[str, Any], Errors]:
    """Auto-charge: the whole outstanding balance goes to the stored profile; amount/note are ignored."""
    record, errors = edited(call, CHARGE, {}, {"payment_profile_id": attrs["payment_profile_id"]})
    profile = call.store.get("payment_profiles", record.get("payment_profile_id"))
    if profile and profile["client_id"] != invoice.get("client_id"):
        errors.add("payment_profile_id", "must belong to the invoice's client")
    _, _, balance = render.invoice_balance(call.store, invoice)
    if balance <= 0:
        errors.add("base", "Invoice has no outstanding balance to charge")
    raise_if(errors)
    number = call.store.next_id("payments")
    record.update({"id": number, "amount": balance, "note": f"Charged to {profile['name']}'s card on file",
                   "transaction_id": f"ch_sandbox{number:010d}"})
    return record, errors


def create_payment(call: Call) -> Result:
    invoice = call.record("invoices", "invoice_id")
    attrs = call.wrapped("payment")
    if attrs.get("payment_profile_id") is not None:
        record, errors = _charge(call, invoice, attrs)
    else:
        record, errors = edited(call, PAYMENT, {"note": None}, attrs)
        if "amount" not in errors and record["amount"] <= 0:
            errors.add("amount", "must be greater than 0")
    record["invoice_id"] = invoice["id"]
    record["received_on"] = record.get("received_on") or call.store.today()
    record.setdefault("transaction_fee_amount", 0.0)
    record.setdefault("transaction_id", None)
    result = created(call, "payments", record, errors, render.payment)
    settle(call, invoice)
    return result


def delete_payment(call: Call) -> Result:
    invoice = call.record("invoices", "invoice_id")
    payment = call.record("payments")
    if payment["invoice_id"] != invoice["id"]:
        raise not_found()
    cascade.delete_plain(call.store, "payments", payment["id"])
    settle(call, invoice)
    return DELETED


# --- payment profiles ------------------------------------------------------------
def list_profiles(call: Call) -> Result:
    client = call.record("clients", "client_id")
    rows = call.store.where("payment_profiles", client_id=client["id"])
    return 200, call.page("payment_profiles", rows, render.payment_profile, size=10)


def create_profile(call: Call) -> Result:
    client = call.record("clients", "client_id")
    attrs = call.wrapped("stripe_payment_profile")
    if not call.store.settings.stripe_enabled:
        raise ApiError(422, {"errors": {"base": ["Stripe payment integration is not enabled for this account"]}})
    record, errors = edited(call, PROFILE, {"client_id": client["id"], "gateway": "stripe"}, attrs)
    digits = record.get("last_four_digits")
    if digits and not (len(digits) == 4 and digits.isdigit()):
        errors.add("last_four_digits", "must be 4 digits")
    record["gateway_token"] = record.get("stripe_customer_id")
    return created(call, "payment_profiles", record, errors, render.payment_profile)


def delete_profile(call: Call) -> Result:
    client = call.record("clients", "client_id")
    profile = call.record("payment_profiles")
    if profile["client_id"] != client["id"]:
        raise not_found()
    cascade.delete_payment_profile(call.store, profile["id"])
    return DELETED


ROUTES: list[RouteSpec] = [
    ("GET", "/payments", list_payments),
    ("POST", "/invoices/{invoice_id:int}/payments", create_payment),
    ("DELETE", "/invoices/{invoice_id:int}/payments/{id:int}", delete_payment),
    ("GET", "/clients/{client_id:int}/payment_profiles", list_profiles),
    ("POST", "/clients/{client_id:int}/payment_profiles", create_profile),
    ("DELETE", "/clients/{client_id:int}/payment_profiles/{id:int}", delete_profile),
]
