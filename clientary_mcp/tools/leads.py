"""Leads: prospective clients, with the same fields as a client."""

from .base import Field
from .clients import ORG_FIELDS
from .common import create_tool, delete_tool, get_tool, list_tool, path_id, update_tool

TOOLS = [
    list_tool(
        "list_leads", "List leads", "leads", "List leads (prospects), 20 per page, newest first.",
        "/api/v2/leads", "leads", "lead",
        filters=(
            Field("sort", "choice", "newest (default), name or oldest", loc="query",
                  choices=("newest", "name", "oldest"), value_map=(("newest", None),)),
        ),
    ),
    get_tool("get_lead", "Get lead", "leads", "Get one lead by id.", "/api/v2/leads/{id}", "lead", "Lead"),
    create_tool("create_lead", "Create lead", "leads", "Create a lead (a prospect, not yet a client).",
                "/api/v2/leads", "lead", "lead", ORG_FIELDS),
    update_tool("update_lead", "Update lead", "leads", "Change a lead's fields.",
                "/api/v2/leads/{id}", "lead", "lead", ORG_FIELDS, "Lead"),
    delete_tool("delete_lead", "Delete lead", "leads",
                "Permanently delete a lead and its estimates and contacts.",
                "/api/v2/leads/{id}", "lead", (path_id("id", "Lead"),)),
]
