"""The whole cycle through an MCP session, and the composite tools when Clientary fails part-way."""

from __future__ import annotations

import json

import pytest

from clientary_mcp.sandbox import Faults, create_app

from support import data, error_text, session, tool_error

pytestmark = pytest.mark.anyio


async def confirmed(h, tool: str, args: dict) -> dict:
    preview = data(await h.call(tool, args))
    assert preview["status"] == "preview"
    return data(await h.call(tool, {**args, "confirm": preview["confirm_token"]}))


async def test_lead_to_paid_invoice_and_chasing_an_overdue_one(tmp_path):
    async with session(tmp_path) as h:
        s = h.store
        lead = data(await h.call("create_lead", {"name": "Wayne Enterprises", "city": "Gotham"}))
        assert data(await h.call("find_contacts", {"query": "bruce@wayne.example"}))["returned"] == 0
        # A contact under the lead can only be added once it is a client: the lead's own contacts are seeded
        # for Contoso; here the lead gains its client and first project in one call.
        converted = data(await h.call("convert_lead", {"lead_id": lead["id"], "project_name": "Security audit",
                                                       "project_rate": 150}))
        client_id, project_id = converted["client"]["id"], converted["project"]["id"]
        data(await h.call("create_contact", {"client_id": client_id, "name": "Bruce Wayne",
                                             "email": "bruce@wayne.example"}))
        assert data(await h.call("find_contacts", {"query": "bruce@wayne.example"}))["items"][0]["client_id"] == client_id
        await confirmed(h, "delete_lead", {"id": lead["id"]})
        for title, hours in (("Threat model", 3), ("Pen test", 5)):
            data(await h.call("create_project_hours", {"project_id": project_id, "title": title, "hours": hours,
                                                       "description": "on site"}))
        billed = data(await h.call("invoice_unbilled_hours", {"project_id": project_id, "date": "2026-11-01",
                                                              "due_date": "2026-11-15"}))
        invoice_id = billed["invoice"]["id"]
        assert billed["invoice"]["total_cost"] == 1200 and len(billed["entries_billed"]) == 2
        await confirmed(h, "send_invoice_message", {"id": invoice_id, "recipients": ["bruce@wayne.example"]})
        assert s.get("invoices", invoice_id)["status"] == 1  # sent

        overdue = data(await h.call("find_overdue_invoices", {"as_of": "2026-12-01"}))
        mine = [i for i in overdue["items"] if i["id"] == invoice_id]
        assert mine and mine[0]["client_name"] == "Wayne Enterprises" and mine[0]["days_overdue"] == 16
        await confirmed(h, "send_invoice_message", {"id": invoice_id, "recipients": ["bruce@wayne.example"],
                                                    "subject": "Reminder: invoice overdue"})

        data(await h.call("create_payment", {"invoice_id": invoice_id, "amount": 200, "note": "Part payment"}))
        assert data(await h.call("get_invoice", {"id": invoice_id}))["balance"] == 1000
        profile = data(await h.call("create_payment_profile", {
            "client_id": client_id, "stripe_customer_id": "cus_W", "stripe_source_id": "card_W",
            "last_four_digits": "0005", "name": "Bruce Wayne", "expiration_date": "2030-01-31", "card_type": "Amex"}))
        args = {"invoice_id": invoice_id, "payment_profile_id": profile["id"]}
        preview = data(await h.call("charge_payment_profile", args))
        charge = preview["effects"]["charges"]
        assert charge["amount"] == 1000 and charge["card"]["brand"] == "Amex" and charge["card"]["last4"] == "0005"
        assert preview["effects"]["invoice"]["balance"] == 1000 and "ending 0005" in preview["summary"]
        data(await h.call("charge_payment_profile", {**args, "confirm": preview["confirm_token"]}))
        paid = data(await h.call("get_invoice", {"id": invoice_id}))
        assert paid["balance"] == 0 and paid["status"] == "paid"
        overdue = data(await h.call("find_overdue_invoices", {"as_of": "2026-12-01"}))
        assert invoice_id not in [i["id"] for i in overdue["items"]]
        # Every step went through one call path: each call has its audit record with its Clientary requests.
        records = h.calls()
        workflow = next(r for r in records if r["tool"] == "invoice_unbilled_hours")
        assert [e["method"] for e in workflow["http"]].count("PUT") == 2 and any(
            e["method"] == "POST" and e["path"] == "/api/v2/invoices" for e in workflow["http"])


async def test_marking_fails_midway_then_a_rerun_finishes_without_a_second_invoice(tmp_path):
    app = create_app(faults=Faults(fail_writes=("PUT /api/v2/hours/",), fail_after=1))
    async with session(tmp_path, app=app) as h:
        s = h.store
        invoices_before = s.count("invoices")
        first = await h.call("invoice_unbilled_hours", {"project_id": 1})
        text = error_text(first)
        result = tool_error(first)
        assert result["status"] == "incomplete" and "same arguments" in text
        invoice_id = result["done"]["invoice"]["id"]
        assert len(result["done"]["entries_billed"]) == 1 and len(result["not_marked"]) == 1
        # Money is not wrong: the invoice carries both entries, one is marked, the other is not yet.
        assert len(s.get("invoices", invoice_id)["items"]) == 2
        left = result["not_marked"][0]
        assert s.get("hours", left)["billed"] is False
        record = h.calls()[-1]
        assert record["outcome"] == "partial" and record["tool"] == "invoice_unbilled_hours"
        assert [e["status"] for e in record["http"] if e["method"] == "PUT"].count(503) == 1

        app.state.faults.fail_writes = ()
        again = data(await h.call("invoice_unbilled_hours", {"project_id": 1}))
        assert s.count("invoices") == invoices_before + 1  # no second invoice
        assert again["finished_from_earlier_run"] == {str(invoice_id): [left]}
        assert s.get("hours", left)["billed"] is True
        third = data(await h.call("invoice_unbilled_hours", {"project_id": 1}))
        assert third["summary"].startswith("No unbilled hours") and not third.get("entries_billed")
        assert s.count("invoices") == invoices_before + 1


async def test_invoice_request_without_an_answer_is_found_by_the_rerun(tmp_path):
    # The invoice is created but its answer is lost (a 502 after the change): no entry may be marked.
    app = create_app(faults=Faults(rate_5xx_writes=1.0))
    async with session(tmp_path, app=app) as h:
        s = h.store
        before = s.count("invoices")
        result = await h.call("invoice_unbilled_hours", {"project_id": 1})
        assert "may or may not exist" in error_text(result)
        assert s.count("invoices") == before + 1  # it was made…
        assert not any(s.get("hours", i)["billed"] for i in (3, 4))  # …but nothing is marked without an answer
        app.state.faults.rate_5xx_writes = 0.0
        again = data(await h.call("invoice_unbilled_hours", {"project_id": 1}))
        assert s.count("invoices") == before + 1 and sorted(again["entries_billed"]) == [3, 4]


async def test_concurrent_runs_on_one_project_make_one_invoice(tmp_path):
    import anyio

    async with session(tmp_path) as h:
        before = h.store.count("invoices")
        results = []

        async def run():
            results.append(await h.call("invoice_unbilled_hours", {"project_id": 1}))

        async with anyio.create_task_group() as tg:
            for _ in range(3):
                tg.start_soon(run)
        assert h.store.count("invoices") == before + 1
        assert sorted(len(r.structured_content.get("entries_billed", [])) for r in results) == [0, 0, 2]


async def test_date_range_bills_only_entries_inside_it(tmp_path):
    async with session(tmp_path) as h:
        s = h.store
        inside = [e for e in s.where("hours", project_id=1) if not e["billed"]]
        last = max(e["date"] for e in inside).isoformat()
        r = data(await h.call("invoice_unbilled_hours", {"project_id": 1, "from_date": last, "to_date": last}))
        assert r["entries_billed"] == [e["id"] for e in inside if e["date"].isoformat() == last]
        assert [e["billed"] for e in s.where("hours", project_id=1) if e["id"] not in r["entries_billed"]
                and e in inside] == [False]


async def test_convert_lead_contact_failure_says_how_to_finish(tmp_path):
    app = create_app(faults=Faults(fail_writes=("POST /api/v2/clients/",), fail_after=0, fail_status=422))
    async with session(tmp_path, app=app) as h:
        s = h.store
        r = await h.call("convert_lead", {"lead_id": 6})
        result = tool_error(r)
        assert result["status"] == "incomplete"
        client_id = result["done"]["client"]["id"]
        assert f"client_id {client_id}" in result["summary"] and not s.where("contacts", client_id=client_id)
        # Without client_id a rerun refuses to make a second client.
        app.state.faults.fail_writes = ()
        again = await h.call("convert_lead", {"lead_id": 6})
        assert tool_error(again)["existing_client_id"] == client_id
        done = data(await h.call("convert_lead", {"lead_id": 6, "client_id": client_id}))
        assert [c["email"] for c in s.where("contacts", client_id=client_id)] == ["leo@contoso.example"]
        assert done["contacts_created"] and s.count("clients") == 6
        data(await h.call("convert_lead", {"lead_id": 6, "client_id": client_id}))
        assert len(s.where("contacts", client_id=client_id)) == 1  # nothing twice


async def test_an_update_answered_with_no_body_still_returns_the_record(tmp_path):
    app = create_app(faults=Faults(empty_update_bodies=True))
    async with session(tmp_path, app=app) as h:
        r = data(await h.call("update_task", {"id": 1, "complete": True, "client_id": 2}))
        assert r["id"] == 1 and r["complete"] is True and r["client_id"] == 2
        assert [(q.method, q.status) for q in h.store.requests[-2:]] == [("PUT", 204), ("GET", 200)]


async def test_page_size_bounds_on_contact_lists(tmp_path):
    async with session(tmp_path) as h:
        assert "at most 100" in error_text(await h.call("list_contacts", {"page_size": 101}))
        assert "at least 1" in error_text(await h.call("list_client_contacts", {"client_id": 2, "page_size": 0}))
        r = data(await h.call("list_client_contacts", {"client_id": 2, "page_size": 100}))
        assert r["returned"] == r["total_count"] and r["page_count"] == 1


async def test_charge_preview_refuses_a_card_of_another_client(tmp_path):
    async with session(tmp_path) as h:
        before = h.store.count("payments")
        text = error_text(await h.call("charge_payment_profile", {"invoice_id": 2, "payment_profile_id": 1}))
        assert "list_client_payment_profiles" in text and h.store.count("payments") == before


async def test_workflow_results_respect_the_record_cap(tmp_path):
    from dataclasses import replace

    async with session(tmp_path) as h:
        h.service.api.settings = replace(h.service.api.settings, max_records=2)
        r = data(await h.call("find_overdue_invoices", {}))
        assert r["truncated"] is True and "record cap" in r["note"]


@pytest.mark.parametrize("tool, args", [("find_overdue_invoices", {}), ("time_audit", {"from_date": "2026-01-01"}),
                                        ("project_profitability", {"project_id": 1}),
                                        ("convert_lead", {"lead_id": 6})])
async def test_a_workflow_keeps_its_requests_within_the_page_concurrency(tool, args, tmp_path, monkeypatch):
    from dataclasses import replace

    from clientary_mcp.sandbox import SandboxTransport

    inner = SandboxTransport.handle_async_request
    live = peak = 0

    async def counting(self, request):
        nonlocal live, peak
        live += 1
        peak = max(peak, live)
        try:
            return await inner(self, request)
        finally:
            live -= 1

    monkeypatch.setattr(SandboxTransport, "handle_async_request", counting)
    app = create_app(faults=Faults(latency=0.02))
    store = app.state.store
    for n in range(60):  # enough pages that several list reads overlap
        store.insert("invoices", {**store.get("invoices", 5), "id": store.next_id("invoices"), "number": f"9{n:03d}"})
    async with session(tmp_path, app=app) as h:
        h.service.api.settings = replace(h.service.api.settings, page_concurrency=2)
        data(await h.call(tool, args))
    assert 1 < peak <= 2  # concurrent, and never more than the page concurrency



async def test_another_process_invoicing_the_same_hours_meanwhile_stops_the_marking(tmp_path, monkeypatch):
    # Another server on the same account (no shared lock) creates its invoice for the same entries between this
    # run's look for earlier invoices and its own create: simulated by posting that invoice just before ours.
    from clientary_mcp.sandbox import SandboxTransport

    inner = SandboxTransport.exchange
    rival: dict = {}

    def other_process_first(self, method, path, query, body, authorization):
        if method == "POST" and path == "/api/v2/invoices" and not rival:
            rival["answer"] = inner(self, method, path, query, body, authorization)
        return inner(self, method, path, query, body, authorization)

    monkeypatch.setattr(SandboxTransport, "exchange", other_process_first)
    async with session(tmp_path) as h:
        s = h.store
        r = await h.call("invoice_unbilled_hours", {"project_id": 1})
        result = tool_error(r)
        assert result["shared_entries"] == [3, 4] and len(result["rival_invoices"]) == 1
        assert "delete_invoice" in result["summary"]
        assert not any(s.get("hours", i)["billed"] for i in (3, 4))  # nothing marked while two invoices exist
        # The user deletes one draft; the rerun then only marks.
        mine = result["done"]["invoice"]["id"]
        preview = data(await h.call("delete_invoice", {"id": mine}))
        data(await h.call("delete_invoice", {"id": mine, "confirm": preview["confirm_token"]}))
        monkeypatch.setattr(SandboxTransport, "exchange", inner)
        again = data(await h.call("invoice_unbilled_hours", {"project_id": 1}))
        assert again["finished_from_earlier_run"] == {str(result["rival_invoices"][0]): [3, 4]}
        assert all(s.get("hours", i)["billed"] for i in (3, 4))
