"""Sandbox endpoints for people and work, driven through the production API client."""

from datetime import date

import anyio
import httpx
import pytest

from clientary_mcp.api import ClientaryClient
from clientary_mcp.config import Settings
from support import failure
from clientary_mcp.sandbox import DEMO_TOKEN, SandboxTransport, create_app

pytestmark = pytest.mark.anyio
TODAY = date(2025, 6, 15)
BASE = "http://sandbox"


@pytest.fixture
def app():
    return create_app(today=TODAY)


@pytest.fixture
async def api(app):
    client = ClientaryClient(Settings.for_base_url(BASE, DEMO_TOKEN), transport=SandboxTransport(app))
    yield client
    await client.aclose()


@pytest.fixture
async def raw(app):
    """Plain httpx, for what the API client hides (status codes, headers, raw bodies)."""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url=BASE, auth=(DEMO_TOKEN, DEMO_TOKEN)
    ) as client:
        yield client


# --- conventions ------------------------------------------------------------------


async def test_json_suffix_trailing_slash_and_any_accept_header(raw):
    plain = (await raw.get("/api/v2/clients")).json()
    assert (await raw.get("/api/v2/clients.json")).json() == plain
    assert (await raw.get("/api/v2/clients/", headers={"Accept": "*/*"})).json() == plain
    single = await raw.get("/api/v2/clients/1.json", headers={"Accept": "text/html"})
    assert single.headers["content-type"].startswith("application/json")
    assert single.json()["name"] == "Acme Corporation"
    created = await raw.post("/api/v2/clients.json", json={"client": {"name": "Suffix Co"}})
    assert created.status_code == 201


async def test_missing_or_wrong_credentials_are_401(app, raw):
    anonymous = await raw.get("/api/v2/clients", auth=None)
    assert anonymous.status_code == 401
    assert "error" in anonymous.json()
    assert anonymous.headers["www-authenticate"].startswith("Basic")
    half = await raw.get("/api/v2/clients", auth=(DEMO_TOKEN, "wrong"))
    assert half.status_code == 401
    wrong = ClientaryClient(Settings.for_base_url(BASE, "not-the-token"), transport=SandboxTransport(app))
    error = await failure(wrong.request("GET", "/api/v2/clients"))
    await wrong.aclose()
    assert (error.kind, error.status) == ("auth", 401)


async def test_custom_token():
    app = create_app(token="my-own-token", today=TODAY)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as http:
        assert (await http.get("/api/v2/staff", auth=("my-own-token", "my-own-token"))).status_code == 200
        assert (await http.get("/api/v2/staff", auth=(DEMO_TOKEN, DEMO_TOKEN))).status_code == 401


async def test_unknown_ids_routes_and_methods_are_404(api, raw):
    for path in ("/api/v2/clients/999", "/api/v2/invoices/999", "/api/v2/staff/999", "/api/v2/hours/999"):
        error = await failure(api.request("GET", path))
        assert (error.kind, error.status) == ("not_found", 404)
    for method, path in (("GET", "/api/v2/nothing"), ("GET", "/api/v2/clients/abc"), ("PATCH", "/api/v2/staff/1"),
                         ("DELETE", "/api/v2/staff/1"), ("POST", "/api/v2/payments")):
        response = await raw.request(method, path)
        assert response.status_code == 404, (method, path)
        assert response.json() == {"error": "Not Found"}


async def test_bodies_need_their_wrapper_and_valid_json(api, raw):
    error = await failure(api.request("POST", "/api/v2/clients", json={"name": "Unwrapped"}))
    assert (error.kind, error.status) == ("validation", 422)
    assert "client" in error.fields
    error = await failure(api.request("PUT", "/api/v2/contacts/1", json={"contact": {"title": "x"}}))
    assert "client_user" in error.fields
    error = await failure(api.request("PUT", "/api/v2/clients/1", json={"client": {}}))
    assert list(error.fields) == ["client"]
    bad = await raw.post("/api/v2/clients", content=b'{"client": {', headers={"Content-Type": "application/json"})
    assert bad.status_code == 400 and "error" in bad.json()
    listed = await raw.post("/api/v2/clients", json=[{"client": {"name": "x"}}])
    assert listed.status_code == 400


# --- clients ---------------------------------------------------------------------------


async def test_clients_default_to_name_order_ten_per_page(app, api):
    for n in range(12):
        await api.request("POST", "/api/v2/clients", json={"client": {"name": f"Zeta {n:02d}"}})
    first = await api.list_page("/api/v2/clients", "clients")
    assert (first.page_size, first.total_count, first.page_count) == (10, 17, 2)
    everything = await api.list_all("/api/v2/clients", "clients")
    names = [row["name"] for row in everything.items]
    assert names == sorted(names, key=str.casefold)
    assert names[0] == "Acme Corporation"
    beyond = await api.list_page("/api/v2/clients", "clients", page=5)
    assert beyond.items == [] and beyond.total_count == 17 and beyond.page_count == 2


async def test_clients_sort_by_date_and_updated_since(api):
    newest = await api.list_page("/api/v2/clients", "clients", params={"sort": "date"})
    assert [row["name"] for row in newest.items][:2] == ["Blue Harbor Design", "Northwind Traders"]
    await api.request("PUT", "/api/v2/clients/3", json={"client": {"city": "Dallas"}})
    since = await api.list_all("/api/v2/clients", "clients", params={"updated_since": TODAY.isoformat()})
    assert [row["id"] for row in since.items] == [3]
    old = await api.list_all("/api/v2/clients", "clients", params={"updated_since": "2000/01/01"})
    assert old.total_count == 5
    error = await failure(api.request("GET", "/api/v2/clients", params={"updated_since": "last tuesday"}))
    assert (error.status, list(error.fields)) == (422, ["updated_since"])


async def test_client_create_update_validation_and_unique_number(app, api):
    created = await api.request("POST", "/api/v2/clients", json={"client": {"name": "Hooli", "bogus": 1}})
    assert created["name"] == "Hooli" and created["number"] == "106" and "bogus" not in created
    record = app.state.store.get("clients", created["id"])
    assert "bogus" not in record
    updated = await api.request("PUT", f"/api/v2/clients/{created['id']}", json={"client": {"city": "Palo Alto"}})
    assert (updated["name"], updated["city"]) == ("Hooli", "Palo Alto")
    error = await failure(api.request("POST", "/api/v2/clients", json={"client": {"city": "Nowhere"}}))
    assert error.fields == {"name": ["can't be blank"]}
    error = await failure(api.request("POST", "/api/v2/clients", json={"client": {"name": "Dup", "number": 101}}))
    assert list(error.fields) == ["number"]
    error = await failure(api.request("PUT", f"/api/v2/clients/{created['id']}", json={"client": {"number": "102"}}))
    assert list(error.fields) == ["number"]
    error = await failure(api.request("PUT", "/api/v2/clients/1", json={"client": {"name": ""}}))
    assert list(error.fields) == ["name"]
    error = await failure(api.request("PUT", "/api/v2/clients/1", json={"client": {"status": 3}}))
    assert list(error.fields) == ["status"]
    assert app.state.store.get("clients", 1)["name"] == "Acme Corporation"


async def test_ids_grow_monotonically_even_after_deletes(api):
    first = await api.request("POST", "/api/v2/clients", json={"client": {"name": "One"}})
    await api.request("DELETE", f"/api/v2/clients/{first['id']}")
    second = await api.request("POST", "/api/v2/clients", json={"client": {"name": "Two"}})
    assert second["id"] > first["id"]


# --- contacts --------------------------------------------------------------------------


async def test_contacts_pages_and_page_size_cap(api, raw):
    page = await api.list_page("/api/v2/contacts", "contacts")
    assert (page.page_size, page.total_count, len(page.items)) == (10, 18, 10)
    bigger = (await raw.get("/api/v2/contacts", params={"page_size": 25})).json()
    assert (bigger["page_size"], bigger["page_count"], len(bigger["contacts"])) == (25, 1, 18)
    capped = (await raw.get("/api/v2/clients/2/contacts", params={"page_size": 500})).json()
    assert (capped["page_size"], capped["total_count"]) == (100, 13)
    scoped = await api.list_all("/api/v2/clients/2/contacts", "contacts")
    assert scoped.pages_fetched == 2 and len(scoped.items) == 13
    assert {row["client_id"] for row in scoped.items} == {2}
    ignored = (await raw.get("/api/v2/clients", params={"page_size": 50})).json()
    assert ignored["page_size"] == 10
    for bad in ("0", "x"):
        response = await raw.get("/api/v2/contacts", params={"page_size": bad})
        assert response.status_code == 422 and "page_size" in response.json()["errors"]
    assert (await raw.get("/api/v2/contacts", params={"page": "0"})).status_code == 422


async def test_contact_crud_and_validation(api):
    created = await api.request(
        "POST", "/api/v2/clients/1/contacts", json={"client_user": {"name": "John Doe", "email": "jdoe@example.com"}}
    )
    assert created["client_id"] == 1 and created["avatar"].startswith("default_avatars")
    updated = await api.request("PUT", f"/api/v2/contacts/{created['id']}", json={"client_user": {"title": "Dev"}})
    assert (updated["title"], updated["email"]) == ("Dev", "jdoe@example.com")
    error = await failure(api.request("POST", "/api/v2/clients/1/contacts", json={"client_user": {"title": "x"}}))
    assert set(error.fields) == {"name", "email"}
    error = await failure(
        api.request("POST", "/api/v2/clients/1/contacts", json={"client_user": {"name": "A", "email": "nope"}})
    )
    assert list(error.fields) == ["email"]
    error = await failure(
        api.request("POST", "/api/v2/clients/999/contacts", json={"client_user": {"name": "A", "email": "a@b.co"}})
    )
    assert error.status == 404
    assert (await api.request("GET", f"/api/v2/contacts/{created['id']}"))["title"] == "Dev"


# --- leads -----------------------------------------------------------------------------


async def test_leads_sorts_typo_path_and_page_size(api):
    made = await api.request("POST", "/api/v2/Lead", json={"lead": {"name": "Aardvark Apps"}})
    also = await api.request("POST", "/api/v2/leads.json", json={"lead": {"name": "Zebra Zone", "number": "77"}})
    default = await api.list_page("/api/v2/leads", "leads")
    assert default.page_size == 20
    assert [row["id"] for row in default.items][:2] == [also["id"], made["id"]]
    by_name = await api.list_page("/api/v2/leads", "leads", params={"sort": "name"})
    assert [row["name"] for row in by_name.items] == ["Aardvark Apps", "Contoso Outdoor", "Fabrikam Labs", "Zebra Zone"]
    oldest = await api.list_page("/api/v2/leads", "leads", params={"sort": "oldest"})
    assert oldest.items[0]["name"] == "Contoso Outdoor"
    error = await failure(api.request("PUT", f"/api/v2/leads/{made['id']}", json={"lead": {"number": "77"}}))
    assert list(error.fields) == ["number"]
    error = await failure(api.request("POST", "/api/v2/leads", json={"lead": {"city": "x"}}))
    assert list(error.fields) == ["name"]
    assert (await api.request("GET", f"/api/v2/leads/{made['id']}"))["name"] == "Aardvark Apps"


# --- projects --------------------------------------------------------------------------


async def test_projects_filter_and_computed_fields(api):
    active = await api.list_page("/api/v2/projects", "projects")
    assert active.page_size == 20
    assert {row["status"] for row in active.items} <= {1, 4} and active.total_count == 3
    everything = await api.list_page("/api/v2/projects", "projects", params={"filter": "all"})
    assert everything.total_count == 4
    website = await api.request("GET", "/api/v2/projects/1")
    assert website["client"]["name"] == "Acme Corporation"
    assert (website["worked_hours"], website["unbilled_hours"], website["cost"]) == (25.5, 11.5, 3187.5)
    assert website["end_date"].count("/") == 2
    fixed = await api.request("GET", "/api/v2/projects/2")
    assert (fixed["project_type"], fixed["cost"]) == (2, 18000)
    scoped = await api.list_page("/api/v2/clients/4/projects", "projects")
    assert scoped.page_size == 10 and [row["status"] for row in scoped.items] == [2]


async def test_project_create_update_validation(api):
    made = await api.request("POST", "/api/v2/projects", json={"project": {"name": "Intranet", "rate": 150,
                                                                             "client_id": 5, "end_date": "2025-09-30"}})
    assert (made["status"], made["rate"], made["client"]["id"], made["end_date"]) == (1, 150, 5, "2025/09/30")
    changed = await api.request("PUT", f"/api/v2/projects/{made['id']}", json={"project": {"status": 2}})
    assert changed["status"] == 2 and changed["name"] == "Intranet"
    error = await failure(api.request("POST", "/api/v2/projects", json={"project": {"description": "x"}}))
    assert set(error.fields) == {"name", "rate"}
    bad = {"status": 3, "budget_type": 2, "project_type": 1, "client_id": 999, "end_date": "30.09.2025"}
    error = await failure(api.request("PUT", f"/api/v2/projects/{made['id']}", json={"project": bad}))
    assert set(error.fields) == set(bad)
    duplicate = {"project": {"name": "P", "rate": 1, "number": "PROJ101"}}
    error = await failure(api.request("POST", "/api/v2/projects", json=duplicate))
    assert list(error.fields) == ["number"]


# --- hours -----------------------------------------------------------------------------


async def test_hours_list_filters_and_shape(api):
    every = await api.list_unpaginated("/api/v2/projects/1/hours", "hours")
    assert len(every.items) == 4 and "billed?" in every.items[0]
    assert every.items[0]["date"] == "2025/05/26"
    billed = await api.list_unpaginated("/api/v2/projects/1/hours", "hours", params={"filter": "billed"})
    unbilled = await api.list_unpaginated("/api/v2/projects/1/hours", "hours", params={"filter": "unbilled"})
    assert {row["billed?"] for row in billed.items} == {True} and len(billed.items) == 2
    assert {row["billed?"] for row in unbilled.items} == {False} and len(unbilled.items) == 2
    error = await failure(api.request("GET", "/api/v2/projects/999/hours"))
    assert error.status == 404


async def test_hours_create_update(api):
    entry = await api.request("POST", "/api/v2/projects/1/hours",
                              json={"project_item": {"hours": 5.0, "title": "Setup and Documentation"}})
    assert (entry["user_id"], entry["billed?"], entry["date"], entry["rate"], entry["cost"]) == (
        1, False, "2025/06/15", 125, 625)
    changed = await api.request("PUT", f"/api/v2/hours/{entry['id']}",
                                json={"project_item": {"hours": 8.0, "billed": True, "date": "2025-06-01"}})
    assert (changed["hours"], changed["billed?"], changed["date"], changed["title"]) == (
        8, True, "2025/06/01", "Setup and Documentation")
    error = await failure(api.request("POST", "/api/v2/projects/1/hours", json={"project_item": {"description": "x"}}))
    assert set(error.fields) == {"hours", "title"}
    error = await failure(api.request("PUT", f"/api/v2/hours/{entry['id']}", json={"project_item": {"hours": "lots"}}))
    assert list(error.fields) == ["hours"]


# --- tasks -----------------------------------------------------------------------------


async def test_tasks_create_paths_completion_and_validation(api):
    first = await api.request("POST", "/api/v2/tasks", json={"task": {"title": "Pick up some milk"}})
    typo = await api.request("POST", "/api/v2/task", json={"task": {"title": "Typo path", "project_id": 1,
                                                                       "assignee_id": 2, "due_date": "2025/07/01"}})
    assert first["complete"] is False and first["completed_at"] is None and first["user_id"] == 1
    assert (typo["project_id"], typo["client_id"], typo["assignee_id"], typo["due_date"]) == (1, 1, 2, "2025/07/01")
    done = await api.request("PUT", f"/api/v2/tasks/{first['id']}", json={"task": {"completed": True}})
    assert done["complete"] is True and done["completed_at"].endswith("Z")
    reopened = await api.request("PUT", f"/api/v2/tasks/{first['id']}", json={"task": {"complete": False}})
    assert reopened["complete"] is False and reopened["completed_at"] is None
    error = await failure(api.request("POST", "/api/v2/tasks", json={"task": {"assignee_id": 99, "project_id": 99}}))
    assert set(error.fields) == {"title", "assignee_id", "project_id"}
    tasks = await api.list_page("/api/v2/tasks", "tasks")
    assert (tasks.page_size, tasks.total_count) == (50, 7)
    scoped = await api.list_page("/api/v2/projects/1/tasks", "tasks")
    assert {row["project_id"] for row in scoped.items} == {1} and scoped.total_count == 3


# --- expenses --------------------------------------------------------------------------


async def test_expenses_window_defaults_to_fiscal_year(app, api):
    year = await api.list_unpaginated("/api/v2/expenses", "expenses")
    assert (year.total_count, year.extra) == (5, {"from_date": "2025/01/01", "to_date": "2025/12/31"})
    narrow = await api.list_unpaginated("/api/v2/expenses", "expenses",
                                        params={"from_date": "2025-06-01", "to_date": "2025-06-10"})
    assert [row["description"] for row in narrow.items] == ["Usability testing incentives", "Test devices"]
    error = await failure(api.request("GET", "/api/v2/expenses", params={"from_date": "June"}))
    assert list(error.fields) == ["from_date"]
    error = await failure(api.request("GET", "/api/v2/clients/1/expenses", params={"to_date": "2025-13-01"}))
    assert list(error.fields) == ["to_date"]
    acme = await api.list_unpaginated("/api/v2/clients/1/expenses", "expenses")
    assert len(acme.items) == 2
    project = await api.list_unpaginated("/api/v2/projects/2/expenses", "expenses")
    assert [row["amount"] for row in project.items] == [899.99]
    app.state.store.settings.fiscal_year_start_month = 7
    shifted = await api.list_unpaginated("/api/v2/expenses", "expenses")
    assert shifted.extra == {"from_date": "2024/07/01", "to_date": "2025/06/30"}


async def test_expense_create_update_validation(api):
    made = await api.request("POST", "/api/v2/expenses", json={"expense": {"amount": 500, "project_id": 4}})
    assert (made["amount"], made["client_id"], made["incurred_on"], made["user_id"]) == (500, 3, "2025/06/15", 1)
    changed = await api.request("PUT", f"/api/v2/expenses/{made['id']}", json={"expense": {"amount": 600}})
    assert changed["amount"] == 600
    error = await failure(api.request("POST", "/api/v2/expenses", json={"expense": {"description": "x"}}))
    assert list(error.fields) == ["amount"]
    error = await failure(api.request("POST", "/api/v2/expenses", json={"expense": {"amount": 1, "client_id": 999,
                                                                                   "invoice_id": 999}}))
    assert set(error.fields) == {"client_id", "invoice_id"}


# --- staff -----------------------------------------------------------------------------


async def test_staff_is_read_only(api, raw):
    staff = await api.list_unpaginated("/api/v2/staff", "staff")
    assert len(staff.items) == 3 and "client_id" not in staff.items[0]
    assert (await api.request("GET", "/api/v2/staff/2"))["name"] == "Priya Shah"
    assert (await raw.post("/api/v2/staff", json={"staff": {"name": "x"}})).status_code == 404


async def test_patch_works_like_put(raw):
    response = await raw.patch("/api/v2/tasks/1.json", json={"task": {"title": "Patched"}})
    assert (response.status_code, response.json()["title"]) == (200, "Patched")


async def test_concurrent_creates_get_distinct_increasing_ids(app, raw):
    made = []

    async def create(n):
        response = await raw.post("/api/v2/clients", json={"client": {"name": f"Parallel {n}", "number": f"P{n}"}})
        made.append(response.json()["id"])

    async with anyio.create_task_group() as group:
        for n in range(40):
            group.start_soon(create, n)
    assert len(set(made)) == 40 and min(made) > 7
    assert app.state.store.count("clients") == 45
    numbers = [row["number"] for row in app.state.store.table("clients")]
    assert len(numbers) == len(set(numbers))
