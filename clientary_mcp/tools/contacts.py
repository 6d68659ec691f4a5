"""Contacts: the people at a client (Clientary calls them client users)."""

from .base import Field
from .common import PAGE_SIZE, create_tool, delete_tool, get_tool, list_tool, path_id, update_tool

CONTACT_FIELDS = (
    Field("name", "string", "Full name", required=True),
    Field("email", "string", "Email", required=True),
    Field("title", "string", "Job title"),
    Field("phone", "string", "Phone"),
    Field("mobile", "string", "Mobile phone"),
    Field("ext", "string", "Phone extension"),
)

TOOLS = [
    list_tool(
        "list_client_contacts", "List client contacts", "contacts",
        "List the contacts (people) of one client, 10 per page (page_size up to 100).",
        "/api/v2/clients/{client_id}/contacts", "contacts", "contact",
        scope=(path_id("client_id", "Client"),), filters=(PAGE_SIZE,),
    ),
    list_tool(
        "list_contacts", "List all contacts", "contacts",
        "List the contacts of every client, with email and client_id, 10 per page (page_size up to 100).",
        "/api/v2/contacts", "contacts", "contact", filters=(PAGE_SIZE,),
    ),
    get_tool("get_contact", "Get contact", "contacts", "Get one contact by id.",
             "/api/v2/contacts/{id}", "contact", "Contact"),
    create_tool("create_contact", "Create contact", "contacts", "Add a contact (person) to a client.",
                "/api/v2/clients/{client_id}/contacts", "client_user", "contact", CONTACT_FIELDS,
                scope=(path_id("client_id", "Client"),)),
    update_tool("update_contact", "Update contact", "contacts", "Change a contact's fields.",
                "/api/v2/contacts/{id}", "client_user", "contact", CONTACT_FIELDS, "Contact"),
    delete_tool("delete_contact", "Delete contact", "contacts",
                "Permanently delete a contact and its comments.",
                "/api/v2/contacts/{id}", "contact", (path_id("id", "Contact"),)),
]
