"""Payments received on invoices, and clients' stored payment profiles."""

from .base import Field
from .common import delete_tool, list_tool, path_id

TOOLS = [
    list_tool(
        "list_payments", "List payments", "payments",
        "List payments on all invoices, 30 per page, newest received first.",
        "/api/v2/payments", "payments", "payment",
        filters=(Field("sort", "choice", "received (default) or created_at", loc="query",
                       choices=("received", "created_at"), value_map=(("received", None),)),),
    ),
    delete_tool("delete_payment", "Delete payment", "payments",
                "Permanently delete a payment; the invoice's balance goes back up.",
                "/api/v2/invoices/{invoice_id}/payments/{id}", "payment",
                (path_id("invoice_id", "Invoice"), path_id("id", "Payment"))),
    list_tool("list_client_payment_profiles", "List payment profiles", "payments",
              "List a client's stored payment methods (cards), used for autobill.",
              "/api/v2/clients/{client_id}/payment_profiles", "payment_profiles", "payment_profile",
              scope=(path_id("client_id", "Client"),)),
    delete_tool("delete_payment_profile", "Delete payment profile", "payments",
                "Permanently delete a client's stored payment method.",
                "/api/v2/clients/{client_id}/payment_profiles/{id}", "payment_profile",
                (path_id("client_id", "Client"), path_id("id", "Payment profile"))),
]
