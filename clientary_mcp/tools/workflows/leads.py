"""convert_lead: a won lead becomes a client with the lead's fields and contacts, optionally a first project.

Clientary has no conversion endpoint, so this is a client create, contact creates and a project create. The lead is
left in place (delete_lead, with its preview, removes it). A rerun with `client_id` finishes a conversion into
that client: only contacts whose email it lacks, and the project if it has none of that name, are added.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..base import Field
from ..shapes import shape_record
from .common import Incomplete, both, gather, output, read_all

if TYPE_CHECKING:
    from ...api import ClientaryClient

COPIED = ("name", "address", "address_2", "city", "state", "zip", "country", "website", "description")
CONTACT_KEYS = ("name", "email", "title", "phone", "mobile", "ext")


async def convert_lead(api: ClientaryClient, a: dict[str, Any]) -> Any:
    from ...api import ClientaryError
    from ...executor import Outcome

    lead_id = a["lead_id"]
    raw_lead, (contacts, _), newest = await both(
        lambda: api.request("GET", f"/api/v2/leads/{lead_id}"),
        lambda: read_all(api, "/api/v2/contacts", "contacts", "contact", params={"page_size": 100}),
        lambda: api.list_page("/api/v2/clients", "clients", page=1, params={"sort": "date"}))
    lead = shape_record("lead", raw_lead)
    people = [c for c in contacts if c.get("client_id") == lead_id]
    done: dict[str, Any] = {"lead_id": lead_id, "lead_name": lead.get("name")}

    client_id = a.get("client_id")
    existing_emails: set[str] = set()
    existing_projects: set[str] = set()
    if client_id is None:
        same = [c for c in newest.items if str(c.get("name") or "").casefold() == str(lead.get("name")).casefold()]
        if same:
            raise Incomplete(
                f"Nothing was created: client {same[0].get('id')} ({same[0].get('name')}) was created recently with "
                f"the lead's name, probably by an earlier conversion. To finish converting into it, call convert_lead "
                f"again with client_id {same[0].get('id')}.", {"done": done, "existing_client_id": same[0].get("id")})
        body = {k: lead.get(k) for k in COPIED if lead.get(k) not in (None, "")}
        client = shape_record("client", await api.request("POST", "/api/v2/clients", json={"client": body}))
        client_id = client.get("id")
    else:
        raw_client, (theirs, _), (projects, _) = await both(
            lambda: api.request("GET", f"/api/v2/clients/{client_id}"),
            lambda: read_all(api, f"/api/v2/clients/{client_id}/contacts", "contacts", "contact",
                             params={"page_size": 100}),
            lambda: read_all(api, f"/api/v2/clients/{client_id}/projects", "projects", "project"))
        client = shape_record("client", raw_client)
        existing_emails = {str(c.get("email") or "").casefold() for c in theirs}
        existing_projects = {str(p.get("name") or "").casefold() for p in projects}
    done["client"] = {"id": client_id, "name": client.get("name"), "number": client.get("number")}

    todo = [c for c in people if str(c.get("email") or "").casefold() not in existing_emails]
    jobs = [lambda c=c: api.request("POST", f"/api/v2/clients/{client_id}/contacts",
                                    json={"client_user": {k: c.get(k) for k in CONTACT_KEYS if c.get(k)}})
            for c in todo]
    results = await gather(api, jobs)
    made = [shape_record("contact", r) for r in results if not isinstance(r, BaseException)]
    failed = [{"name": c.get("name"), "email": c.get("email"), "error": str(r)}
              for c, r in zip(todo, results) if isinstance(r, BaseException)]
    done["contacts_created"] = [{k: c.get(k) for k in ("id", "name", "email")} for c in made]
    done["contacts_already_there"] = len(people) - len(todo)

    project_error = None
    if a.get("project_name") and a["project_name"].casefold() not in existing_projects:
        body = {"name": a["project_name"], "rate": a.get("project_rate", 0), "client_id": client_id}
        try:
            project = shape_record("project", await api.request("POST", "/api/v2/projects", json={"project": body}))
            done["project"] = {"id": project.get("id"), "name": project.get("name"), "rate": project.get("rate")}
        except ClientaryError as exc:
            project_error = str(exc)
    if failed or project_error:
        what = [f"{len(failed)} contact(s) not added ({', '.join(f['email'] or f['name'] for f in failed)})"] \
            if failed else []
        if project_error:
            what.append(f"the project was not created ({project_error})")
        text = (f"Incomplete: client {client_id} ({client.get('name')}) exists with {len(made)} new contact(s), but "
                + " and ".join(what) + f". Call convert_lead again with lead_id {lead_id} and client_id {client_id}: "
                "it adds only what is missing. The lead was not deleted.")
        raise Incomplete(text, {"done": done, "failed_contacts": failed, "project_error": project_error})
    project_text = ""
    if "project" in done:
        project_text = f" and project {done['project']['id']} ({done['project']['name']})" + (
            "" if "project_rate" in a else " at rate 0: set its rate with update_project")
    text = (f"Lead {lead_id} ({lead.get('name')}) is now client {client_id} with {len(made)} contact(s) added"
            f"{project_text}. The lead itself is still there: delete it with delete_lead (a preview first) once "
            "you no longer need it.")
    return Outcome({"status": "done", "summary": text, **done}, text)


TOOL_FIELDS = (
    Field("lead_id", "id", "Lead to convert", required=True),
    Field("project_name", "string", "Also create a first project with this name"),
    Field("project_rate", "number", "That project's hourly rate (default 0)", minimum=0),
    Field("client_id", "id", "Finish an earlier conversion into this client"),
)
OUTPUT = output(client={"type": "object"}, contacts_created={"type": "array"}, project={"type": "object"})
