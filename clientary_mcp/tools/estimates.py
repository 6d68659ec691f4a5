"""Estimates: quotes for clients or leads, with items like an invoice's; emailing one is gated."""

from dataclasses import replace

from .base import Field
from .codes import ESTIMATE_STATUS
from .common import (CURRENCY, TAX_FIELDS, create_tool, delete_tool, get_tool, list_tool, path_id, send_tool,
                     update_tool)
from .invoices import ITEMS

ESTIMATE_FIELDS = (
    Field("date", "date", "Estimate date", required=True),
    replace(CURRENCY, required=True),
    Field("client_id", "id", "Client or lead id"),
    Field("project_id", "id", "Project id"),
    Field("number", "string", "Unique number (default: next)"),
    Field("title", "string", "Title"),
    Field("summary", "string", "Summary"),
    Field("note", "text", "Note to the client"),
) + TAX_FIELDS + (replace(ITEMS, wire="estimate_items_attributes"),)
STATUS = Field("status", "enum", "Status", codes=ESTIMATE_STATUS)

TOOLS = [
    list_tool("list_estimates", "List estimates", "estimates", "List all estimates, 30 per page.",
              "/api/v2/estimates", "estimates", "estimate"),
    list_tool("list_client_estimates", "List client estimates", "estimates",
              "List one client's estimates, 30 per page.",
              "/api/v2/clients/{client_id}/estimates", "estimates", "estimate",
              scope=(path_id("client_id", "Client"),)),
    list_tool("list_project_estimates", "List project estimates", "estimates",
              "List one project's estimates, 30 per page.",
              "/api/v2/projects/{project_id}/estimates", "estimates", "estimate",
              scope=(path_id("project_id", "Project"),)),
    get_tool("get_estimate", "Get estimate", "estimates", "Get one estimate with its items and totals.",
             "/api/v2/estimates/{id}", "estimate", "Estimate"),
    create_tool("create_estimate", "Create estimate", "estimates",
                "Create an estimate (a draft quote; not emailed) for a client or lead, with items.",
                "/api/v2/estimates", "estimate", "estimate", ESTIMATE_FIELDS),
    update_tool("update_estimate", "Update estimate", "estimates",
                "Change an estimate's fields and items: add, edit by id, or remove with destroy.",
                "/api/v2/estimates/{id}", "estimate", "estimate", ESTIMATE_FIELDS + (STATUS,), "Estimate"),
    delete_tool("delete_estimate", "Delete estimate", "estimates", "Permanently delete an estimate.",
                "/api/v2/estimates/{id}", "estimate", (path_id("id", "Estimate"),)),
    send_tool("send_estimate_message", "Email estimate", "estimates",
              "Email an estimate to recipients (cannot be recalled); marks a draft as sent.",
              "/api/v2/estimates/{id}/messages", "Estimate"),
]
