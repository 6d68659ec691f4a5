"""Recurring schedules: templates that generate invoices periodically."""

from dataclasses import replace

from .base import Field
from .codes import INTERVAL, SCHEDULE_ACTION, SCHEDULE_STATUS
from .common import CURRENCY, TAX_FIELDS, create_tool, delete_tool, get_tool, list_tool, path_id, update_tool
from .invoices import ITEMS

SCHEDULE_FIELDS = (
    Field("client_id", "id", "Client id", required=True),
    Field("next_date", "date", "Next invoice date", required=True),
    Field("time_interval", "enum", "How often", required=True, codes=INTERVAL),
    Field("due_period", "int", "Days until due", required=True, minimum=0, maximum=3650),
    replace(CURRENCY, required=True),
    Field("action", "enum", "On each date (autobill needs payment_profile_id)", codes=SCHEDULE_ACTION),
    Field("payment_profile_id", "id", "Payment profile (autobill)"),
    Field("status", "enum", "Status", codes=SCHEDULE_STATUS),
    Field("unlimited", "bool", "Repeat forever"),
    Field("occurrences_remaining", "int", "Invoices left", minimum=0),
    Field("number", "string", "Number"),
    Field("title", "string", "Title"),
    Field("po", "string", "Purchase order ref"),
    Field("summary", "string", "Summary"),
    Field("note", "text", "Note"),
) + TAX_FIELDS + (replace(ITEMS, wire="recurring_schedule_items_attributes"),)

TOOLS = [
    list_tool("list_recurring_schedules", "List recurring schedules", "recurring",
              "List all recurring schedules (ids, clients, next dates), 30 per page.",
              "/api/v2/recurring", "recurring", "recurring"),
    get_tool("get_recurring_schedule", "Get recurring schedule", "recurring",
             "Get one recurring schedule with its items.", "/api/v2/recurring/{id}", "recurring",
             "Recurring schedule"),
    list_tool("list_recurring_schedule_invoices", "List schedule invoices", "recurring",
              "List the invoices a recurring schedule generated, 30 per page.",
              "/api/v2/recurring/{id}/invoices", "invoices", "invoice",
              scope=(path_id("id", "Recurring schedule"),)),
    create_tool("create_recurring_schedule", "Create recurring schedule", "recurring",
                "Create a schedule that invoices a client every interval, from next_date.",
                "/api/v2/recurring", "recurring_schedule", "recurring", SCHEDULE_FIELDS),
    delete_tool("delete_recurring_schedule", "Delete recurring schedule", "recurring",
                "Permanently delete a recurring schedule; invoices already made stay.",
                "/api/v2/recurring/{id}", "recurring", (path_id("id", "Recurring schedule"),)),
    update_tool("update_recurring_schedule", "Update recurring schedule", "recurring",
                "Change a schedule's fields and items: add, edit by id, or remove with destroy.",
                "/api/v2/recurring/{id}", "recurring_schedule", "recurring", SCHEDULE_FIELDS,
                "Recurring schedule"),
]
