"""Staff: the account's users. Read-only in the API."""

from .common import get_tool, list_tool

TOOLS = [
    list_tool("list_staff", "List staff", "staff", "List all staff users (ids for task assignees).",
              "/api/v2/staff", "staff", "staff", paging="none"),
    get_tool("get_staff", "Get staff", "staff", "Get one staff user by id.", "/api/v2/staff/{id}", "staff", "Staff"),
]
