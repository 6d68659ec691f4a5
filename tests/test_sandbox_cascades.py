"""What each DELETE takes with it, counted in the store before and after."""

from datetime import date

import httpx
import pytest

from clientary_mcp.api import ClientaryError
from clientary_mcp.sandbox import DEMO_TOKEN, create_app

pytestmark = pytest.mark.anyio


@pytest.fixture
def app():
    return create_app(today=date(2025, 6, 15))


def changes(before: dict, after: dict) -> dict:
    return {name: after[name] - before[name] for name in before if after[name] != before[name]}


async def delete(api, store, path: str) -> dict:
    before = store.counts()
    assert await api.request("DELETE", path) == {}
    with pytest.raises(ClientaryError) as gone:
        await api.request("DELETE", path)
    assert gone.value.status == 404
    return changes(before, store.counts())


async def test_delete_answers_200_with_an_empty_object(app):
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://s",
                                 auth=(DEMO_TOKEN, DEMO_TOKEN)) as http:
        response = await http.delete("/api/v2/tasks/1.json")
    assert (response.status_code, response.json()) == (200, {})


async def test_client_cascade(api, store):
    # Acme owns project 1 (4 hour entries, 2 tasks, 1 expense), invoices 1001-1002, estimate 1, 2 contacts;
    # its own expense outside the project stays, detached.
    removed = await delete(api, store, "/api/v2/clients/1")
    assert removed == {"clients": -1, "projects": -1, "hours": -4, "tasks": -2, "expenses": -1, "estimates": -1,
                       "invoices": -2, "contacts": -2}
    assert store.where("expenses", description="Stock photography")[0]["client_id"] is None


async def test_client_cascade_with_payments_profiles_and_schedules(api, store):
    removed = await delete(api, store, "/api/v2/clients/3")
    assert removed == {"clients": -1, "projects": -1, "hours": -2, "tasks": -1, "invoices": -1, "contacts": -1,
                       "payment_profiles": -1, "recurring": -1}
    removed = await delete(api, store, "/api/v2/clients/2")
    assert removed == {"clients": -1, "projects": -1, "hours": -1, "tasks": -1, "expenses": -1, "estimates": -1,
                       "invoices": -1, "payments": -1, "contacts": -13}


async def test_lead_cascade(api, store):
    assert await delete(api, store, "/api/v2/leads/6") == {"leads": -1, "estimates": -1, "contacts": -1}
    assert await delete(api, store, "/api/v2/leads/7") == {"leads": -1}


async def test_project_cascade(api, store):
    removed = await delete(api, store, "/api/v2/projects/3")
    assert removed == {"projects": -1, "hours": -2, "expenses": -1, "invoices": -1, "payments": -1}
    removed = await delete(api, store, "/api/v2/projects/1")
    assert removed == {"projects": -1, "hours": -4, "tasks": -2, "expenses": -1, "invoices": -2, "estimates": -1}
    assert store.count("clients") == 5


async def test_invoice_cascade(api, store):
    assert await delete(api, store, "/api/v2/invoices/3") == {"invoices": -1, "payments": -1}
    assert await delete(api, store, "/api/v2/invoices/5") == {"invoices": -1}
    assert store.count("recurring") == 1


async def test_single_record_deletes(api, store):
    for path, table in (("/api/v2/contacts/1", "contacts"), ("/api/v2/expenses/1", "expenses"),
                        ("/api/v2/hours/1", "hours"), ("/api/v2/tasks/1", "tasks"),
                        ("/api/v2/invoices/4/payments/2", "payments"), ("/api/v2/estimates/1", "estimates")):
        assert await delete(api, store, path) == {table: -1}, path
    assert (await api.request("GET", "/api/v2/invoices/4"))["balance"] == 2344.98


async def test_schedule_and_profile_deletes_leave_references_cleared(api, store):
    assert await delete(api, store, "/api/v2/clients/3/payment_profiles/1") == {"payment_profiles": -1}
    assert store.get("recurring", 1)["payment_profile_id"] is None
    assert await delete(api, store, "/api/v2/recurring/1") == {"recurring": -1}
    invoice = await api.request("GET", "/api/v2/invoices/5")
    assert invoice["recurring_schedules"] == []
    with pytest.raises(ClientaryError) as gone:
        await api.request("GET", "/api/v2/recurring/1/invoices")
    assert gone.value.status == 404
