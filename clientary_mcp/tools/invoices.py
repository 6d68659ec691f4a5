"""Invoices: line items, taxes, totals and balance; emailing one is gated."""

from dataclasses import replace

from .base import Field, ToolSpec
from .codes import INVOICE_STATUS
from .common import CONFIRM, CURRENCY, TAX_FIELDS, create_tool, get_tool, list_tool, path_id, update_tool

ITEMS = Field("items", "items", "Items: no id adds, id edits, id+destroy removes",
              wire="invoice_items_attributes")
INVOICE_FIELDS = (
    Field("date", "date", "Issue date", required=True),
    Field("due_date", "date", "Due date", required=True),
    replace(CURRENCY, required=True),
    Field("client_id", "id", "Client id"),
    Field("number", "string", "Unique number (default: next)"),
    Field("title", "string", "Title"),
    Field("po", "string", "Purchase order ref"),
    Field("summary", "string", "Summary"),
    Field("note", "text", "Note to the client"),
) + TAX_FIELDS + (ITEMS,)
STATUS = Field("status", "enum", "Status", codes=INVOICE_STATUS)

TOOLS = [
    list_tool("list_client_invoices", "List client invoices", "invoices",
              "List one client's invoices, 30 per page, with totals and balance.",
              "/api/v2/clients/{client_id}/invoices", "invoices", "invoice",
              scope=(path_id("client_id", "Client"),)),
    list_tool("list_project_invoices", "List project invoices", "invoices",
              "List one project's invoices, 30 per page.",
              "/api/v2/projects/{project_id}/invoices", "invoices", "invoice",
              scope=(path_id("project_id", "Project"),)),
    get_tool("get_invoice", "Get invoice", "invoices",
             "Get one invoice with items, payments, totals and balance.",
             "/api/v2/invoices/{id}", "invoice", "Invoice"),
    create_tool("create_invoice", "Create invoice", "invoices",
                "Create an invoice (a draft; not emailed) with line items. Totals are computed.",
                "/api/v2/invoices", "invoice", "invoice", INVOICE_FIELDS),
    update_tool("update_invoice", "Update invoice", "invoices",
                "Change an invoice's fields and items: add, edit by id, or remove with destroy.",
                "/api/v2/invoices/{id}", "invoice", "invoice", INVOICE_FIELDS + (STATUS,), "Invoice"),
    ToolSpec(
        name="send_invoice_message", title="Email invoice", kind="gated", toolset="invoices",
        description="Email an invoice to recipients (cannot be recalled); marks a draft as sent.",
        method="POST", path="/api/v2/invoices/{id}/messages", entity="message",
        fields=(
            path_id("id", "Invoice"),
            Field("recipients", "emails", "Email addresses", required=True),
            Field("subject", "string", "Subject"),
            Field("message", "text", "Body text"),
            Field("send_copy", "bool", "Copy to yourself"),
            Field("attach_pdf", "bool", "Attach the PDF"),
            CONFIRM,
        ),
    ),
]
