"""Sandbox invoices, estimates, payments, payment profiles, recurring schedules and messages."""

from datetime import date

import pytest

from support import failure
from clientary_mcp.sandbox import create_app

pytestmark = pytest.mark.anyio
TODAY = date(2025, 6, 15)


@pytest.fixture
def app():
    return create_app(today=TODAY)


ITEMS = [{"title": "foo", "quantity": 1, "price": 100}, {"title": "bar", "quantity": 2, "price": 200}]


def new_invoice(**extra):
    body = {"date": "2025-06-01", "due_date": "2025-07-01", "currency_code": "USD", "client_id": 1,
            "invoice_items_attributes": ITEMS}
    return {"invoice": {**body, **extra}}


# --- invoices ---------------------------------------------------------------------------


async def test_seeded_invoices_cover_the_states(api):
    invoices = await api.list_all("/api/v2/invoices", "invoices")
    assert invoices.page_size == 30
    assert {row["status"] for row in invoices.items} == {0, 1, 4}
    partial = await api.request("GET", "/api/v2/invoices/4")
    # 22 × 95 = 2090; 10% = 209; compound 2% of 2299 = 45.98
    assert (partial["subtotal"], partial["total_cost"], partial["total_payments"], partial["balance"]) == (
        2090, 2344.98, 1000, 1344.98)
    assert partial["payments"][0]["received_on"] == "2025/06/05"
    paid = await api.request("GET", "/api/v2/invoices/3")
    assert (paid["status"], paid["balance"]) == (4, 0)
    assert [item["item_type"] for item in paid["invoice_items"]] == [0, 3]
    generated = await api.request("GET", "/api/v2/invoices/5")
    assert generated["recurring_schedules"] == [{"id": 1}]


async def test_invoice_create_computes_totals(api):
    made = await api.request("POST", "/api/v2/invoices", json=new_invoice(
        number=185, tax=5, tax2=10, compound_tax=True,
        invoice_items_attributes=[*ITEMS, {"title": "Section", "item_type": 0},
                                  {"title": "untaxed", "quantity": 3, "price": 10, "taxable": False}]))
    # subtotal 530; tax1 5% of 500 = 25; tax2 10% of (500 + 25) = 52.5
    assert (made["number"], made["subtotal"], made["total_cost"], made["balance"]) == ("185", 530, 607.5, 607.5)
    assert (made["status"], made["date"], made["due_date"]) == (0, "2025/06/01", "2025/07/01")
    assert [item["item_type"] for item in made["invoice_items"]] == [3, 3, 0, 3]
    simple = await api.request("POST", "/api/v2/invoices", json=new_invoice(tax=8.25, date="2025/06/02"))
    assert (simple["number"], simple["total_cost"]) == ("1006", 541.25)
    assert simple["date"] == "2025/06/02"


async def test_invoice_validation(api, store):
    error = await failure(api.request("POST", "/api/v2/invoices", json={"invoice": {"title": "x"}}))
    assert set(error.fields) == {"date", "due_date", "currency_code"}
    error = await failure(api.request("POST", "/api/v2/invoices", json=new_invoice(
        status=6, date="tomorrow", client_id=999, project_id=999,
        invoice_items_attributes=[{"title": "no price", "quantity": 1}, {"quantity": 1, "price": 2}])))
    assert set(error.fields) == {"status", "date", "client_id", "project_id",
                                 "invoice_items.price", "invoice_items.title"}
    error = await failure(api.request("POST", "/api/v2/invoices", json=new_invoice(number="1001")))
    assert list(error.fields) == ["number"]
    assert store.count("invoices") == 5


async def test_invoice_items_add_edit_destroy(api, store):
    made = await api.request("POST", "/api/v2/invoices", json=new_invoice())
    foo, bar = (item["id"] for item in made["invoice_items"])
    changed = await api.request("PUT", f"/api/v2/invoices/{made['id']}", json={"invoice": {
        "title": "Edited", "invoice_items_attributes": [
            {"id": foo, "price": 150},
            {"id": bar, "_destroy": "1"},
            {"title": "baz", "quantity": 1, "price": 50},
        ]}})
    assert [(item["title"], item["price"]) for item in changed["invoice_items"]] == [("foo", 150), ("baz", 50)]
    assert (changed["title"], changed["subtotal"], changed["currency_code"]) == ("Edited", 200, "USD")
    for flag in (True, 1, "true"):
        baz = changed["invoice_items"][-1]["id"]
        changed = await api.request("PUT", f"/api/v2/invoices/{made['id']}", json={"invoice": {
            "invoice_items_attributes": [{"id": baz, "_destroy": flag},
                                         {"title": "again", "quantity": 1, "price": 1}]}})
        assert baz not in [item["id"] for item in changed["invoice_items"]]
    before = store.snapshot("invoices")
    error = await failure(api.request("PUT", f"/api/v2/invoices/{made['id']}", json={"invoice": {
        "title": "Not saved", "invoice_items_attributes": [{"id": 99999, "price": 1}]}}))
    assert list(error.fields) == ["invoice_items_attributes"]
    assert store.snapshot("invoices") == before


async def test_invoice_lists_by_scope_and_updated_since(api):
    await api.request("PUT", "/api/v2/invoices/2", json={"invoice": {"note": "touched"}})
    since = await api.list_all("/api/v2/invoices", "invoices", params={"updated_since": "2025-06-15"})
    assert [row["id"] for row in since.items] == [2]
    error = await failure(api.request("GET", "/api/v2/invoices", params={"updated_since": "2025-02-30"}))
    assert list(error.fields) == ["updated_since"]
    client = await api.list_all("/api/v2/clients/1/invoices", "invoices")
    assert [row["number"] for row in client.items] == ["1001", "1002"]
    project = await api.list_all("/api/v2/projects/3/invoices", "invoices")
    assert [row["number"] for row in project.items] == ["1004"]
    schedule = await api.list_page("/api/v2/recurring/1/invoices", "invoices")
    assert (schedule.page_size, [row["number"] for row in schedule.items]) == (30, ["1005"])


# --- payments ----------------------------------------------------------------------------


async def test_payments_settle_and_reopen_invoices(api):
    first = await api.request("POST", "/api/v2/invoices/2/payments", json={"payment": {"amount": 500, "note": "Check"}})
    assert (first["invoice_id"], first["amount"], first["received_on"], first["transaction_id"]) == (
        2, 500, "2025-06-15", None)
    invoice = await api.request("GET", "/api/v2/invoices/2")
    assert (invoice["status"], invoice["total_payments"], invoice["balance"]) == (1, 500, 1394.38)
    last = await api.request("POST", "/api/v2/invoices/2/payments", json={"payment": {"amount": 1394.38}})
    invoice = await api.request("GET", "/api/v2/invoices/2")
    assert (invoice["status"], invoice["balance"]) == (4, 0)
    assert await api.request("DELETE", f"/api/v2/invoices/2/payments/{last['id']}") == {}
    invoice = await api.request("GET", "/api/v2/invoices/2")
    assert (invoice["status"], invoice["balance"]) == (1, 1394.38)
    error = await failure(api.request("DELETE", f"/api/v2/invoices/1/payments/{first['id']}"))
    assert error.status == 404


async def test_payment_validation(api, store):
    for body, field in (({"note": "x"}, "amount"), ({"amount": 0}, "amount"), ({"amount": "ten"}, "amount"),
                        ({"amount": 5, "received_on": "someday"}, "received_on"),
                        ({"payment_profile_id": 999}, "payment_profile_id")):
        error = await failure(api.request("POST", "/api/v2/invoices/2/payments", json={"payment": body}))
        assert list(error.fields) == [field], body
    error = await failure(api.request("POST", "/api/v2/invoices/999/payments", json={"payment": {"amount": 1}}))
    assert error.status == 404
    assert store.count("payments") == 2


async def test_auto_charge_takes_the_whole_balance(api):
    charged = await api.request("POST", "/api/v2/invoices/5/payments",
                                json={"payment": {"payment_profile_id": 1, "amount": 1, "note": "ignored"}})
    assert charged["amount"] == 1500 and charged["transaction_id"].startswith("ch_")
    assert (await api.request("GET", "/api/v2/invoices/5"))["status"] == 4
    charge = {"payment": {"payment_profile_id": 1}}
    error = await failure(api.request("POST", "/api/v2/invoices/5/payments", json=charge))
    assert list(error.fields) == ["base"]
    error = await failure(api.request("POST", "/api/v2/invoices/2/payments", json=charge))
    assert list(error.fields) == ["payment_profile_id"]


async def test_payment_list_orders(api):
    early = {"payment": {"amount": 5, "received_on": "2025-01-02"}}
    await api.request("POST", "/api/v2/invoices/2/payments", json=early)
    default = await api.list_page("/api/v2/payments", "payments")
    assert default.page_size == 30
    assert [row["received_on"] for row in default.items] == ["2025-06-05", "2025-05-26", "2025-01-02"]
    created = await api.list_page("/api/v2/payments", "payments", params={"sort": "created_at"})
    assert [row["amount"] for row in created.items] == [9000, 1000, 5]


# --- messages ----------------------------------------------------------------------------


async def test_send_invoice_message(api, store):
    sent = await api.request("POST", "/api/v2/invoices/1/messages", json={
        "recipients": ["jane@acme.example", "ap@acme.example"], "subject": "Your invoice", "message": "Thanks!",
        "send_copy": 1, "attach_pdf": True})
    assert (sent["invoice_id"], sent["recipients"], sent["status"]) == (1, ["jane@acme.example", "ap@acme.example"], 1)
    assert (await api.request("GET", "/api/v2/invoices/1"))["status"] == 1
    [message] = store.table("messages")
    assert (message["invoice_id"], message["subject"], message["send_copy"], message["attach_pdf"]) == (
        1, "Your invoice", True, True)
    again = await api.request("POST", "/api/v2/invoices/3/messages", json={"recipients": ["x@y.co"]})
    assert again["status"] == 4 and "1003" in again["subject"]
    for body in ({}, {"recipients": []}, {"recipients": "x@y.co"}, {"recipients": ["not-an-email"]},
                 {"recipients": ["x@y.co"], "attach_pdf": "maybe"}):
        error = await failure(api.request("POST", "/api/v2/invoices/2/messages", json=body))
        assert error.status == 422 and set(error.fields) <= {"recipients", "attach_pdf"}
    error = await failure(api.request("POST", "/api/v2/invoices/999/messages", json={"recipients": ["x@y.co"]}))
    assert error.status == 404
    assert store.count("messages") == 2


# --- estimates ----------------------------------------------------------------------------


async def test_estimates_create_update_and_scopes(api, store):
    made = await api.request("POST", "/api/v2/estimates", json={"estimate": {
        "number": 185, "date": "2011-07-29", "currency_code": "USD", "client_id": 6, "tax": 5,
        "estimate_items_attributes": ITEMS}})
    assert (made["number"], made["subtotal"], made["total_cost"], made["date"], made["status"]) == (
        "185", 500, 525, "2011/07/29", 0)
    item = made["estimate_items"][0]["id"]
    changed = await api.request("PUT", f"/api/v2/estimates/{made['id']}", json={"estimate": {
        "status": 6, "estimate_items_attributes": [{"id": item, "_destroy": True}]}})
    assert (changed["status"], changed["subtotal"]) == (6, 400)
    error = await failure(api.request("POST", "/api/v2/estimates", json={"estimate": {"status": 8}}))
    assert set(error.fields) == {"date", "currency_code", "status"}
    error = await failure(api.request("POST", "/api/v2/estimates", json={"estimate": {
        "date": "2025-06-01", "currency_code": "USD", "estimate_items_attributes": [{"title": "t"}]}}))
    assert set(error.fields) == {"estimate_items.quantity", "estimate_items.price"}
    listed = await api.list_page("/api/v2/estimates", "estimates")
    assert (listed.page_size, listed.total_count) == (30, 4)
    assert [row["number"] for row in (await api.list_all("/api/v2/clients/1/estimates", "estimates")).items] == ["1"]
    assert [row["number"] for row in (await api.list_all("/api/v2/projects/2/estimates", "estimates")).items] == ["2"]
    sent = await api.request("POST", "/api/v2/estimates/1/messages", json={"recipients": ["jane@acme.example"]})
    assert sent["estimate_id"] == 1 and store.get("estimates", 1)["status"] == 1


# --- payment profiles -----------------------------------------------------------------------

PROFILE = {"stripe_customer_id": "cus_123", "stripe_source_id": "card_567", "last_four_digits": "1234",
           "name": "Bob Smith", "expiration_date": "2030-01-30", "card_type": "Visa"}


async def test_payment_profiles(api, store):
    made = await api.request("POST", "/api/v2/clients/1/payment_profiles", json={"stripe_payment_profile": PROFILE})
    assert (made["client_id"], made["gateway"], made["gateway_token"], made["expiration_date"]) == (
        1, "stripe", "cus_123", "2030-01-30")
    listed = await api.list_page("/api/v2/clients/1/payment_profiles", "payment_profiles")
    assert (listed.page_size, [row["id"] for row in listed.items]) == (10, [made["id"]])
    error = await failure(api.request("POST", "/api/v2/clients/1/payment_profiles",
                                      json={"stripe_payment_profile": {"card_type": "Visa"}}))
    assert set(error.fields) == {"stripe_customer_id", "stripe_source_id", "last_four_digits", "name",
                                 "expiration_date"}
    error = await failure(api.request("POST", "/api/v2/clients/1/payment_profiles",
                                      json={"credit_card": {"number": "4242424242424242"}}))
    assert list(error.fields) == ["stripe_payment_profile"]
    error = await failure(api.request("DELETE", f"/api/v2/clients/2/payment_profiles/{made['id']}"))
    assert error.status == 404
    assert await api.request("DELETE", f"/api/v2/clients/1/payment_profiles/{made['id']}") == {}
    store.settings.stripe_enabled = False
    body = {"stripe_payment_profile": PROFILE}
    error = await failure(api.request("POST", "/api/v2/clients/1/payment_profiles", json=body))
    assert (error.status, list(error.fields)) == (422, ["base"])


# --- recurring schedules ------------------------------------------------------------------------

SCHEDULE = {"next_date": "2025-07-01", "due_period": 10, "currency_code": "USD", "time_interval": 5, "client_id": 1,
            "recurring_schedule_items_attributes": [{"title": "Hosting", "quantity": 1, "price": 49.99,
                                                     "taxable": True}]}


async def test_recurring_schedules(api):
    listed = await api.list_page("/api/v2/recurring", "recurring")
    assert (listed.page_size, listed.total_count) == (30, 1)
    made = await api.request("POST", "/api/v2/recurring", json={"recurring_schedule": {**SCHEDULE, "tax": 8.25}})
    assert (made["number"], made["next_date"], made["status"], made["action"], made["client"]["id"]) == (
        "1000002", "2025-07-01", 0, 0, 1)
    [item] = made["recurring_schedule_items"]
    assert (item["price"], item["quantity"], item["taxable?"], item["total_tax"]) == ("49.99", 1.0, True, 4.12)
    assert (made["subtotal"], made["total_cost"]) == (49.99, 54.11)
    changed = await api.request("PUT", f"/api/v2/recurring/{made['id']}", json={"recurring_schedule": {
        "status": 1, "recurring_schedule_items_attributes": [{"id": item["id"], "quantity": 2}]}})
    assert (changed["status"], changed["subtotal"]) == (1, 99.98)
    assert (await api.request("GET", f"/api/v2/recurring/{made['id']}"))["status"] == 1


async def test_recurring_validation_and_autobill(api):
    error = await failure(api.request("POST", "/api/v2/recurring", json={"recurring_schedule": {"title": "x"}}))
    assert set(error.fields) == {"next_date", "due_period", "currency_code", "time_interval", "client_id"}
    bad = {**SCHEDULE, "time_interval": 12, "status": 3, "action": 5}
    error = await failure(api.request("POST", "/api/v2/recurring", json={"recurring_schedule": bad}))
    assert set(error.fields) == {"time_interval", "status", "action"}
    no_profile = {"recurring_schedule": {**SCHEDULE, "action": 2}}
    error = await failure(api.request("POST", "/api/v2/recurring", json=no_profile))
    assert list(error.fields) == ["payment_profile_id"]
    error = await failure(api.request("POST", "/api/v2/recurring", json={
        "recurring_schedule": {**SCHEDULE, "action": 2, "payment_profile_id": 1}}))  # profile of another client
    assert list(error.fields) == ["payment_profile_id"]
    autobill = await api.request("POST", "/api/v2/recurring", json={
        "recurring_schedule": {**SCHEDULE, "client_id": 3, "action": 2, "payment_profile_id": 1}})
    assert autobill["action"] == 2
