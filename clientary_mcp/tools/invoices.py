"""Invoices: line items, taxes, totals and balance; emailing one is gated."""

from dataclasses import replace

from .base import Field
from .codes import INVOICE_STATUS
from .common import CURRENCY, TAX_FIELDS, create_tool, delete_tool, get_tool, list_tool, path_id, send_tool, update_tool

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
    send_tool("send_invoice_message", "Email invoice", "invoices",
              "Email an invoice to recipients (cannot be recalled); marks a draft as sent.",
              "/api/v2/invoices/{id}/messages", "Invoice"),
    list_tool("list_invoices", "List all invoices", "invoices",
              "List the invoices of every client, 30 per page, newest first; updated_since narrows it.",
              "/api/v2/invoices", "invoices", "invoice",
              filters=(Field("updated_since", "date", "Only invoices changed since this date", loc="query"),)),
    delete_tool("delete_invoice", "Delete invoice", "invoices",
                "Permanently delete an invoice and the payments recorded on it.",
                "/api/v2/invoices/{id}", "invoice", (path_id("id", "Invoice"),)),
]
