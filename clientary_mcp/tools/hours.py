"""Hours: time entries logged against a project, billed later on an invoice."""

from .base import Field
from .common import create_tool, delete_tool, get_tool, list_tool, path_id, update_tool

HOUR_FIELDS = (
    Field("hours", "number", "Hours worked", required=True, minimum=0),
    Field("title", "string", "What was done", required=True),
    Field("date", "date", "Day worked (default today)"),
    Field("description", "text", "Details"),
    Field("rate", "number", "Hourly rate", minimum=0),
)

TOOLS = [
    list_tool(
        "list_project_hours", "List project hours", "hours",
        "List all time entries of a project (not paged); filter billed or unbilled.",
        "/api/v2/projects/{project_id}/hours", "hours", "hour",
        scope=(path_id("project_id", "Project"),),
        filters=(Field("filter", "choice", "Only billed or unbilled entries", loc="query",
                       choices=("billed", "unbilled")),),
        paging="none",
    ),
    get_tool("get_hour_entry", "Get hour entry", "hours", "Get one time entry by id.",
             "/api/v2/hours/{id}", "hour", "Hour entry"),
    create_tool("create_project_hours", "Log project hours", "hours",
                "Log a time entry on a project, as the API token's user.",
                "/api/v2/projects/{project_id}/hours", "project_item", "hour", HOUR_FIELDS,
                scope=(path_id("project_id", "Project"),)),
    update_tool("update_hour_entry", "Update hour entry", "hours",
                "Change a time entry: hours, title, date, description, rate or billed.",
                "/api/v2/hours/{id}", "project_item", "hour",
                HOUR_FIELDS + (Field("billed", "bool", "Mark billed"),), "Hour entry"),
    delete_tool("delete_hour_entry", "Delete hour entry", "hours", "Permanently delete a time entry.",
                "/api/v2/hours/{id}", "hour", (path_id("id", "Hour entry"),)),
]
