"""Projects: work for a client; they hold tasks, hours, expenses, estimates and invoices."""

from .base import Field
from .codes import BUDGET_TYPE, PROJECT_STATUS, PROJECT_TYPE
from .common import CURRENCY, create_tool, delete_tool, get_tool, list_tool, path_id, update_tool

PROJECT_FIELDS = (
    Field("name", "string", "Project name", required=True),
    Field("rate", "number", "Hourly rate, or total price if fixed", required=True, minimum=0),
    Field("client_id", "id", "Client id"),
    Field("number", "string", "Unique number"),
    Field("description", "text", "Description"),
    Field("status", "enum", "Status", codes=PROJECT_STATUS),
    Field("project_type", "enum", "Type (fixed_amount: rate is the total price)", codes=PROJECT_TYPE),
    Field("budget_type", "enum", "Budget in", codes=BUDGET_TYPE),
    Field("budget", "number", "Budget", minimum=0),
    CURRENCY,
    Field("start_date", "date", "Start date"),
    Field("end_date", "date", "End date"),
)

TOOLS = [
    list_tool(
        "list_projects", "List projects", "projects",
        "List projects of all clients, 20 per page; active and billable only unless include_closed.",
        "/api/v2/projects", "projects", "project",
        filters=(Field("include_closed", "bool", "Include completed projects", loc="query",
                       wire="filter", value_map=((True, "all"), (False, None))),),
    ),
    list_tool(
        "list_client_projects", "List client projects", "projects",
        "List one client's projects, 10 per page.",
        "/api/v2/clients/{client_id}/projects", "projects", "project",
        scope=(path_id("client_id", "Client"),),
    ),
    get_tool("get_project", "Get project", "projects",
             "Get one project with its worked and unbilled hours.", "/api/v2/projects/{id}", "project", "Project"),
    create_tool("create_project", "Create project", "projects", "Create a project, usually for a client.",
                "/api/v2/projects", "project", "project", PROJECT_FIELDS),
    update_tool("update_project", "Update project", "projects",
                "Change a project's fields, e.g. status \"completed\" to close it.",
                "/api/v2/projects/{id}", "project", "project", PROJECT_FIELDS, "Project"),
    delete_tool("delete_project", "Delete project", "projects",
                "Permanently delete a project AND its tasks, hours, expenses, invoices and estimates.",
                "/api/v2/projects/{id}", "project", (path_id("id", "Project"),)),
]
