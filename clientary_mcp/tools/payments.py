"""Payments received on invoices, and clients' stored payment profiles."""

from .base import Field
from .common import CONFIRM, _tool, create_tool, delete_tool, list_tool, path_id

PROFILE_FIELDS = (
    Field("stripe_customer_id", "string", "Stripe customer id (cus_...)", required=True),
    Field("stripe_source_id", "string", "Stripe card or source id", required=True),
    Field("last_four_digits", "string", "Last 4 digits of the card", required=True),
    Field("name", "string", "Name on the card", required=True),
    Field("expiration_date", "date", "Card expiry date", required=True),
    Field("card_type", "string", "Brand, e.g. Visa"),
    Field("address", "string", "Billing address"),
    Field("city", "string", "City"),
    Field("state", "string", "State"),
    Field("zip", "string", "Postal code"),
    Field("country", "string", "Country"),
)

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
    create_tool("create_payment", "Record payment", "payments",
                "Record money received on an invoice (check, transfer); the balance drops, paid in full marks it paid.",
                "/api/v2/invoices/{invoice_id}/payments", "payment", "payment",
                (Field("amount", "number", "Amount received", required=True, minimum=0.01),
                 Field("received_on", "date", "Day received (default today)"),
                 Field("note", "text", "Note, e.g. check number")),
                scope=(path_id("invoice_id", "Invoice"),)),
    _tool("gated", "POST", "charge_payment_profile", "Charge stored card", "payments",
          "Charge a client's stored payment profile for an invoice's whole balance (moves money).",
          "/api/v2/invoices/{invoice_id}/payments", wrapper="payment", entity="payment", hook="charge",
          fields=(path_id("invoice_id", "Invoice"),
                  Field("payment_profile_id", "id", "Profile to charge (list_client_payment_profiles)",
                        required=True),
                  CONFIRM)),
    create_tool("create_payment_profile", "Store payment profile", "payments",
                "Store a client's card from existing Stripe ids (needs the Stripe integration).",
                "/api/v2/clients/{client_id}/payment_profiles", "stripe_payment_profile", "payment_profile",
                PROFILE_FIELDS, scope=(path_id("client_id", "Client"),)),
]
