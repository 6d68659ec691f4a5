"""Clients: the companies you bill. Parents of contacts, projects, estimates, invoices and expenses."""

from .base import Field
from .codes import CLIENT_STATUS
from .common import create_tool, delete_tool, get_tool, list_tool, path_id, update_tool

ORG_FIELDS = (
    Field("name", "string", "Company name", required=True),
    Field("number", "string", "Unique number"),
    Field("address", "string", "Address"),
    Field("address_2", "string", "Address line 2"),
    Field("city", "string", "City"),
    Field("state", "string", "State"),
    Field("zip", "string", "Postal code"),
    Field("country", "string", "Country"),
    Field("website", "string", "Website"),
    Field("description", "text", "Notes"),
)
CLIENT_FIELDS = ORG_FIELDS + (Field("status", "enum", "Status", codes=CLIENT_STATUS),)

TOOLS = [
    list_tool(
        "list_clients", "List clients", "clients",
        "List all clients, 10 per page, by name. For one client's records use the list_client_* tools.",
        "/api/v2/clients", "clients", "client",
        filters=(
            Field("updated_since", "date", "Only clients changed since this date", loc="query"),
            Field("sort", "choice", "name (default) or date (newest first)", loc="query",
                  choices=("name", "date"), value_map=(("name", None),)),
        ),
    ),
    get_tool("get_client", "Get client", "clients", "Get one client's full record by id.",
             "/api/v2/clients/{id}", "client", "Client"),
    create_tool("create_client", "Create client", "clients",
                "Create a client (company). Add people to it with create_contact.",
                "/api/v2/clients", "client", "client", ORG_FIELDS),
    update_tool("update_client", "Update client", "clients",
                "Change a client's fields; only the fields given are changed.",
                "/api/v2/clients/{id}", "client", "client", CLIENT_FIELDS, "Client"),
    delete_tool("delete_client", "Delete client", "clients",
                "Permanently delete a client AND its projects, invoices, estimates and contacts.",
                "/api/v2/clients/{id}", "client", (path_id("id", "Client"),)),
]

