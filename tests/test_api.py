import base64
import json
import time
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import anyio
import anyio.lowlevel
import httpx
import pytest
import respx

from clientary_mcp import __version__
from clientary_mcp.api import (
    ClientaryClient,
    ClientaryError,
    RateLimitedError,
    ServerError,
    UnknownOutcomeError,
    trace,
)
from clientary_mcp.config import Settings

BASE = "https://acme.clientary.com"
TOKEN = "tok_5ecret_abc123"
BASIC = base64.b64encode(f"{TOKEN}:{TOKEN}".encode()).decode()

pytestmark = pytest.mark.anyio


class FakeTime:
    """Virtual clock: sleeping advances it instantly, and every requested wait is recorded."""

    def __init__(self):
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await anyio.lowlevel.checkpoint()


@pytest.fixture
def fake_time():
    return FakeTime()


@pytest.fixture
def api():
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        yield router


@pytest.fixture
def make_client(api, fake_time):
    # The router as the transport: same routes, without building a TLS context per client.
    transport = httpx.MockTransport(api.async_handler)

    def make(**overrides) -> ClientaryClient:
        settings = Settings.for_base_url(BASE, TOKEN, **overrides)
        return ClientaryClient(settings, transport=transport, sleep=fake_time.sleep, clock=fake_time.clock)

    return make


def json_response(status, body, **headers):
    return httpx.Response(status, json=body, headers=headers)


async def failure(coro) -> ClientaryError:
    with pytest.raises(ClientaryError) as info:
        await coro
    err = info.value
    assert err.kind in {
        "auth", "forbidden", "not_found", "validation", "plan_limit", "rate_limited", "server",
        "timeout", "connection", "bad_response", "unknown_outcome",
    }
    for text in [err.message, str(err), *err.fields, *(m for ms in err.fields.values() for m in ms)]:
        assert TOKEN not in text and BASIC not in text
    return err


# ---- requests ----------------------------------------------------------------------------------


async def test_requests_carry_basic_auth_accept_and_user_agent(api):
    route = api.get("/api/v2/clients/5").mock(return_value=json_response(200, {"id": 5, "name": "ACME"}))
    # Default transport (patched by respx): the production path.
    async with ClientaryClient(Settings.for_base_url(BASE, TOKEN)) as client:
        assert await client.request("GET", "/api/v2/clients/5") == {"id": 5, "name": "ACME"}
    sent = route.calls.last.request
    assert sent.headers["authorization"] == f"Basic {BASIC}"
    assert sent.headers["accept"] == "application/json"
    assert sent.headers["user-agent"] == f"clientary-mcp/{__version__} (+https://github.com/clientary-mcp)"


async def test_wrapped_body_is_sent_as_given(api, make_client):
    route = api.post("/api/v2/clients").mock(return_value=json_response(201, {"id": 9, "name": "Initech"}))
    body = {"client": {"name": "Initech", "number": "101"}}
    async with make_client() as client:
        created = await client.request("POST", "/api/v2/clients", json=body)
    assert created["id"] == 9
    sent = route.calls.last.request
    assert json.loads(sent.content) == body
    assert sent.headers["content-type"] == "application/json"


async def test_query_params_are_sent_and_none_values_dropped(api, make_client):
    route = api.get("/api/v2/invoices").mock(return_value=json_response(200, {"invoices": []}))
    async with make_client() as client:
        await client.request("GET", "/api/v2/invoices", params={"updated_since": "2024-01-01", "sort": None})
    assert dict(route.calls.last.request.url.params) == {"updated_since": "2024-01-01"}


async def test_empty_success_body_of_a_write_is_none(api, make_client):
    api.delete("/api/v2/tasks/3").mock(return_value=httpx.Response(204))
    async with make_client() as client:
        assert await client.request("DELETE", "/api/v2/tasks/3") is None


async def test_one_http_client_is_reused_and_closed(api, make_client):
    api.get("/api/v2/staff").mock(return_value=json_response(200, {"staff": []}))
    client = make_client()
    await client.request("GET", "/api/v2/staff")
    http = client._http
    await client.request("GET", "/api/v2/staff")
    assert client._http is http
    await client.aclose()
    assert http.is_closed


async def test_custom_transport_is_used():
    def app(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"path": request.url.path})

    settings = Settings.for_base_url("http://sandbox.local/prefix", TOKEN)
    async with ClientaryClient(settings, transport=httpx.MockTransport(app)) as client:
        assert await client.request("GET", "/api/v2/staff/1") == {"path": "/prefix/api/v2/staff/1"}


# ---- error mapping -----------------------------------------------------------------------------


async def test_401_means_bad_credentials(api, make_client):
    route = api.get("/api/v2/clients").mock(return_value=httpx.Response(401, text="HTTP Basic: Access denied.\n"))
    err = await failure(make_client().request("GET", "/api/v2/clients"))
    assert (err.kind, err.status, err.method, err.path) == ("auth", 401, "GET", "/api/v2/clients")
    assert "CLIENTARY_API_TOKEN" in err.message
    assert route.call_count == 1


async def test_403_means_missing_permission(api, make_client):
    api.get("/api/v2/projects/4/hours").mock(return_value=json_response(403, {"error": "Not allowed"}))
    err = await failure(make_client().request("GET", "/api/v2/projects/4/hours"))
    assert err.kind == "forbidden"
    assert "permission" in err.message and "Not allowed" in err.message


@pytest.mark.parametrize(
    ("method", "path", "words", "tool"),
    [
        ("GET", "/api/v2/clients/99", "Client 99 was not found", "list_clients"),
        ("DELETE", "/api/v2/invoices/3/payments/7", "Payment 7 of invoice 3 was not found", "list_payments"),
        ("GET", "/api/v2/projects/5/hours", "Project 5 was not found", "list_projects"),
        ("GET", "/api/v2/hours/8.json", "Hour entry 8 was not found", "list_project_hours"),
        ("DELETE", "/api/v2/clients/2/payment_profiles/6", "Payment profile 6 of client 2", "list_client_payment_profiles"),
    ],
)
async def test_404_names_the_resource_and_the_list_tool(api, make_client, method, path, words, tool):
    api.route(method=method, path=path).mock(return_value=httpx.Response(404, text="Not Found"))
    err = await failure(make_client().request(method, path))
    assert err.kind == "not_found" and err.status == 404
    assert words in err.message
    assert tool in err.message


async def test_404_on_a_top_level_list_points_at_the_account_setting(api, make_client):
    api.get("/api/v2/clients").mock(return_value=httpx.Response(404))
    err = await failure(make_client().request("GET", "/api/v2/clients"))
    assert err.kind == "not_found" and "CLIENTARY_DOMAIN" in err.message


@pytest.mark.parametrize(
    ("response", "fields", "words"),
    [
        (json_response(422, {"errors": {"name": ["can't be blank"]}}), {"name": ["can't be blank"]},
         "name: can't be blank"),
        (json_response(422, {"errors": {"number": "has already been taken"}}), {"number": ["has already been taken"]},
         "number: has already been taken"),
        (json_response(422, {"errors": ["Name can't be blank", "Number is taken"]}),
         {"base": ["Name can't be blank", "Number is taken"]}, "Name can't be blank; Number is taken"),
        (json_response(422, {"errors": "Stripe is not enabled"}), {"base": ["Stripe is not enabled"]},
         "Stripe is not enabled"),
        (json_response(422, {"error": "Invalid date"}), {"base": ["Invalid date"]}, "Invalid date"),
        (json_response(422, {"message": "Title is required"}), {"base": ["Title is required"]}, "Title is required"),
        (json_response(422, {"errors": {"invoice": {"due_date": ["is invalid"]}}}),
         {"invoice.due_date": ["is invalid"]}, "invoice.due_date: is invalid"),
        (httpx.Response(422, text="Title can't be blank"), {"base": ["Title can't be blank"]}, "Title can't be blank"),
        (httpx.Response(422, html="<html><body><h1>Unprocessable</h1><p>Bad &amp; wrong</p></body></html>"),
         {"base": ["Unprocessable Bad & wrong"]}, "Unprocessable Bad & wrong"),
        (httpx.Response(422), {}, "without saying why"),
    ],
)
async def test_422_carries_field_messages_from_every_body_shape(api, make_client, response, fields, words):
    route = api.post("/api/v2/tasks").mock(return_value=response)
    err = await failure(make_client().request("POST", "/api/v2/tasks", json={"task": {}}))
    assert err.kind == "validation" and err.status == 422
    assert err.fields == fields
    assert words in err.message
    assert "<" not in err.message
    assert route.call_count == 1


async def test_426_is_a_plan_limit(api, make_client):
    api.post("/api/v2/leads").mock(return_value=json_response(426, {"error": "Upgrade required"}))
    err = await failure(make_client().request("POST", "/api/v2/leads", json={"lead": {"name": "x"}}))
    assert err.kind == "plan_limit" and err.status == 426
    assert "Upgrade" in err.message and "lead" in err.message


async def test_5xx_on_a_read_is_a_server_error_after_retries(api, make_client):
    route = api.get("/api/v2/tasks").mock(return_value=httpx.Response(502, html="<h1>Bad Gateway</h1>"))
    err = await failure(make_client(max_retries=2).list_page("/api/v2/tasks", "tasks"))
    assert err.kind == "server" and err.status == 502
    assert "3 attempts" in err.message and "Bad Gateway" in err.message
    assert route.call_count == 3


@pytest.mark.parametrize(
    ("response", "words"),
    [
        (httpx.Response(200, html="<html><head><title>Sign in</title><style>p{}</style></head>"
                                  "<body><p>Please log in</p></body></html>"),
         "text/html"),
        (httpx.Response(200, text='{"clients": [', headers={"content-type": "application/json"}), "not valid JSON"),
        (httpx.Response(200, text="", headers={"content-type": "application/json"}), "empty"),
        (httpx.Response(200, text='{"a": 1}', headers={"content-type": "text/plain"}), "text/plain"),
        (httpx.Response(302, headers={"location": "https://acme.clientary.com/login?next=x"}), "/login"),
    ],
)
async def test_unusable_responses_are_bad_response(api, make_client, response, words):
    api.get("/api/v2/clients/1").mock(return_value=response)
    err = await failure(make_client().request("GET", "/api/v2/clients/1"))
    assert err.kind == "bad_response"
    assert words in err.message
    assert "<" not in err.message and "p{}" not in err.message
    assert "next=x" not in err.message


async def test_html_page_is_reduced_to_a_short_snippet(api, make_client):
    page = "<html><head><title>Oops</title></head><body>" + "<p>word</p>" * 500 + "</body></html>"
    api.get("/api/v2/leads/1").mock(return_value=httpx.Response(200, html=page))
    err = await failure(make_client().request("GET", "/api/v2/leads/1"))
    assert "Oops" in err.message
    assert len(err.message) < 600


async def test_unreadable_answer_to_a_write_says_it_was_probably_applied(api, make_client):
    api.post("/api/v2/clients").mock(return_value=httpx.Response(201, html="<p>Created</p>"))
    err = await failure(make_client().request("POST", "/api/v2/clients", json={"client": {"name": "x"}}))
    assert err.kind == "bad_response"
    assert "probably applied" in err.message and "list_clients" in err.message


async def test_missing_list_key_is_a_bad_response_naming_the_key(api, make_client):
    api.get("/api/v2/leads").mock(return_value=json_response(200, {"page_count": 1, "clients": []}))
    err = await failure(make_client().list_page("/api/v2/leads", "leads"))
    assert err.kind == "bad_response" and "'leads'" in err.message


@pytest.mark.parametrize(
    ("response", "shows_body"),
    [
        (json_response(422, {"errors": {"token": [f"{TOKEN} is invalid"]}}), True),
        (httpx.Response(500, html=f"<pre>api_token={TOKEN}</pre>"), True),
        (httpx.Response(200, html=f"<p>{TOKEN}</p>"), True),
        (json_response(403, {"message": f"user {TOKEN}"}), True),
        (json_response(401, {"error": f"Authorization: Basic {BASIC} rejected"}), False),
        (json_response(404, {"error": TOKEN}), False),
    ],
)
async def test_the_token_never_appears_in_an_error(api, make_client, response, shows_body):
    api.route(path="/api/v2/clients/1").mock(return_value=response)
    for method in ("GET", "PUT"):
        err = await failure(make_client(max_retries=0).request(method, "/api/v2/clients/1"))
        # Where server text is quoted, the secret in it is blanked rather than the text dropped.
        assert ("***" in err.message) is shows_body


async def test_a_very_short_token_is_blanked_without_mangling_the_message(api):
    api.get("/api/v2/clients/1").mock(return_value=json_response(403, {"error": "token t is not allowed"}))
    client = ClientaryClient(Settings.for_base_url(BASE, "t"), transport=httpx.MockTransport(api.async_handler))
    with pytest.raises(ClientaryError) as info:
        await client.request("GET", "/api/v2/clients/1")
    assert "token *** is not allowed" in info.value.message
    assert "The API token's user lacks permission" in info.value.message


# ---- retries -----------------------------------------------------------------------------------


async def test_get_429_waits_for_retry_after_then_succeeds(api, make_client, fake_time):
    route = api.get("/api/v2/clients/1").mock(
        side_effect=[httpx.Response(429, headers={"Retry-After": "7"}), json_response(200, {"id": 1})]
    )
    assert await make_client().request("GET", "/api/v2/clients/1") == {"id": 1}
    assert route.call_count == 2
    assert fake_time.sleeps == [7.0]


async def test_retry_after_http_date_is_honoured(api, make_client, fake_time):
    when = format_datetime(datetime.now(timezone.utc) + timedelta(seconds=30), usegmt=True)
    api.get("/api/v2/clients/1").mock(
        side_effect=[httpx.Response(429, headers={"Retry-After": when}), json_response(200, {"id": 1})]
    )
    await make_client().request("GET", "/api/v2/clients/1")
    assert len(fake_time.sleeps) == 1 and 27 <= fake_time.sleeps[0] <= 30


@pytest.mark.parametrize(
    "first",
    [
        httpx.Response(500),
        httpx.Response(503),
        httpx.ReadTimeout("read timed out"),
        httpx.ConnectTimeout("connect timed out"),
        httpx.ConnectError("connection refused"),
        httpx.RemoteProtocolError("peer closed connection"),
    ],
)
async def test_get_retries_transient_failures(api, make_client, fake_time, first):
    route = api.get("/api/v2/tasks/2").mock(side_effect=[first, json_response(200, {"id": 2})])
    assert await make_client().request("GET", "/api/v2/tasks/2") == {"id": 2}
    assert route.call_count == 2
    assert len(fake_time.sleeps) == 1 and 0 <= fake_time.sleeps[0] <= 0.5


async def test_backoff_windows_grow_and_retries_are_bounded(api, make_client, fake_time):
    route = api.get("/api/v2/tasks").mock(side_effect=httpx.ConnectError("refused"))
    err = await failure(make_client(max_retries=4, retry_budget=1000).request("GET", "/api/v2/tasks"))
    assert err.kind == "connection" and err.attempts == 5
    assert route.call_count == 5
    assert len(fake_time.sleeps) == 4
    for i, slept in enumerate(fake_time.sleeps):
        assert 0 <= slept <= 0.5 * 2**i


async def test_no_retries_when_max_retries_is_zero(api, make_client):
    route = api.get("/api/v2/tasks").mock(side_effect=httpx.ReadTimeout("slow"))
    err = await failure(make_client(max_retries=0).request("GET", "/api/v2/tasks"))
    assert err.kind == "timeout" and "1 attempt" in err.message
    assert route.call_count == 1


async def test_retry_budget_stops_retrying(api, make_client, fake_time):
    route = api.get("/api/v2/payments").mock(return_value=httpx.Response(429, headers={"Retry-After": "10"}))
    err = await failure(make_client(max_retries=10, retry_budget=25).request("GET", "/api/v2/payments"))
    assert isinstance(err, RateLimitedError) and err.retry_after == 10
    assert route.call_count == 3
    assert sum(fake_time.sleeps) <= 25
    assert "Wait 10 seconds" in err.message


async def test_retry_after_longer_than_budget_fails_at_once(api, make_client, fake_time):
    route = api.get("/api/v2/payments").mock(return_value=httpx.Response(429, headers={"Retry-After": "3600"}))
    err = await failure(make_client().request("GET", "/api/v2/payments"))
    assert err.kind == "rate_limited" and err.retry_after == 3600
    assert route.call_count == 1 and fake_time.sleeps == []


@pytest.mark.parametrize(
    ("method", "path", "outcome", "hint"),
    [
        ("POST", "/api/v2/clients", httpx.ReadTimeout("no answer"), "list_clients"),
        ("POST", "/api/v2/clients", httpx.Response(502), "list_clients"),
        ("POST", "/api/v2/invoices/3/payments", httpx.Response(500), "new payment of invoice 3"),
        ("PUT", "/api/v2/clients/5", httpx.RemoteProtocolError("closed"), "client 5 with get_client"),
        ("PUT", "/api/v2/tasks/5", httpx.WriteTimeout("stuck"), "task 5 with get_task"),
        ("DELETE", "/api/v2/clients/5", httpx.ReadError("reset"), "whether client 5 still exists"),
        ("POST", "/api/v2/invoices/3/messages", httpx.ReadTimeout("no answer"), "do not send it again"),
    ],
)
async def test_write_with_unknown_outcome_is_never_repeated(api, make_client, fake_time, method, path, outcome, hint):
    kwargs = {"side_effect": outcome} if isinstance(outcome, Exception) else {"return_value": outcome}
    route = api.route(method=method, path=path).mock(**kwargs)
    err = await failure(make_client().request(method, path, json={"x": {}}))
    assert isinstance(err, UnknownOutcomeError)
    assert route.call_count == 1 and fake_time.sleeps == []
    assert "may or may not have been applied" in err.message
    assert hint in err.message
    if isinstance(outcome, httpx.Response):
        assert err.status == outcome.status_code


@pytest.mark.parametrize(
    "first",
    [
        httpx.Response(429, headers={"Retry-After": "2"}),
        httpx.ConnectError("refused"),
        httpx.ConnectTimeout("no route"),
        httpx.PoolTimeout("pool busy"),
    ],
)
async def test_write_that_certainly_did_not_happen_is_retried(api, make_client, first):
    route = api.post("/api/v2/expenses").mock(side_effect=[first, json_response(201, {"id": 4})])
    body = {"expense": {"amount": 5}}
    assert await make_client().request("POST", "/api/v2/expenses", json=body) == {"id": 4}
    assert route.call_count == 2
    assert all(json.loads(call.request.content) == body for call in route.calls)


async def test_write_that_never_got_through_says_nothing_changed(api, make_client):
    route = api.post("/api/v2/expenses").mock(side_effect=httpx.ConnectTimeout("no route"))
    err = await failure(make_client(max_retries=1).request("POST", "/api/v2/expenses", json={"expense": {}}))
    assert err.kind == "timeout" and "Nothing was changed" in err.message
    assert route.call_count == 2


async def test_write_rejected_by_validation_is_not_retried(api, make_client):
    route = api.put("/api/v2/clients/5").mock(return_value=json_response(422, {"errors": {"number": ["taken"]}}))
    await failure(make_client().request("PUT", "/api/v2/clients/5", json={"client": {"number": "1"}}))
    assert route.call_count == 1


# ---- pagination --------------------------------------------------------------------------------


def envelope(key, page, page_count=5, page_size=10, total=None, **extra):
    start = (page - 1) * page_size + 1
    total = page_count * page_size if total is None else total
    items = [{"id": i} for i in range(start, min(start + page_size, total + 1))]
    return {"page_count": page_count, "page_size": page_size, "total_count": total, key: items, **extra}


def paged_route(api, path, key, pages, *, delay=None, log=None, **kw):
    """Route answering ?page=N from `envelope`; optional real delay per page and an in-flight log."""

    async def answer(request):
        number = int(request.url.params.get("page", "1"))
        if log is not None:
            log.append(number)
        if delay:
            await anyio.sleep(delay(number))
        return json_response(200, envelope(key, number, page_count=pages, **kw))

    return api.get(path).mock(side_effect=answer)


async def test_list_page_reads_the_envelope(api, make_client):
    route = api.get("/api/v2/clients").mock(return_value=json_response(200, envelope("clients", 2, page_count=7)))
    page = await make_client().list_page("/api/v2/clients", "clients", page=2, params={"sort": "date"})
    assert dict(route.calls.last.request.url.params) == {"page": "2", "sort": "date"}
    assert [c["id"] for c in page.items] == list(range(11, 21))
    assert (page.page, page.page_count, page.page_size, page.total_count) == (2, 7, 10, 70)
    assert page.truncated is False and page.extra == {}


@pytest.mark.parametrize(
    ("body", "counts"),
    [
        ({"page_size": 10, "total_count": 61, "leads": [{"id": 1}]}, (7, 10, 61)),
        ({"total_count": 61, "leads": [{"id": 1}]}, (None, None, 61)),
        ({"page_count": "3", "page_size": 10, "leads": [{"id": 1}]}, (3, 10, None)),
        ([{"id": 1}], (None, None, None)),
    ],
)
async def test_incomplete_envelopes_are_tolerated(api, make_client, body, counts):
    api.get("/api/v2/leads").mock(return_value=json_response(200, body))
    page = await make_client().list_page("/api/v2/leads", "leads")
    assert page.items == [{"id": 1}]
    assert (page.page_count, page.page_size, page.total_count) == counts


async def test_list_all_keeps_page_order_when_pages_finish_out_of_order(api, make_client):
    # Later pages answer first.
    paged_route(api, "/api/v2/invoices", "invoices", 5, delay=lambda n: 0.002 * (6 - n))
    page = await make_client().list_all("/api/v2/invoices", "invoices")
    assert [i["id"] for i in page.items] == list(range(1, 51))
    assert (page.pages_fetched, page.truncated, page.total_count, page.page_count) == (5, False, 50, 5)


async def test_list_all_bounds_pages_in_flight(api, make_client):
    in_flight = peak = 0

    async def answer(request):
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await anyio.sleep(0.005)
        in_flight -= 1
        number = int(request.url.params["page"])
        return json_response(200, envelope("tasks", number, page_count=12))

    api.get("/api/v2/tasks").mock(side_effect=answer)
    page = await make_client(page_concurrency=3).list_all("/api/v2/tasks", "tasks", max_records=500)
    assert len(page.items) == 120
    assert 1 < peak <= 3


async def test_list_all_stops_at_max_records_without_fetching_more(api, make_client):
    log: list[int] = []
    paged_route(api, "/api/v2/clients", "clients", 10, log=log)
    page = await make_client().list_all("/api/v2/clients", "clients", max_records=25)
    assert [c["id"] for c in page.items] == list(range(1, 26))
    assert page.truncated is True and page.pages_fetched == 3
    assert sorted(log) == [1, 2, 3]


async def test_list_all_cap_from_settings_and_exact_fit(api, make_client):
    log: list[int] = []
    paged_route(api, "/api/v2/clients", "clients", 3, log=log)
    page = await make_client(max_records=30).list_all("/api/v2/clients", "clients")
    assert len(page.items) == 30 and page.truncated is False
    assert sorted(log) == [1, 2, 3]
    page = await make_client(max_records=20).list_all("/api/v2/clients", "clients")
    assert len(page.items) == 20 and page.truncated is True


async def test_list_all_pauses_every_worker_on_429_and_returns_each_record_once(api):
    # Scaled real time (1 "second" = 1 ms), so tasks really wait and a per-task pause would show.
    sleeps: list[float] = []

    def clock() -> float:
        return time.monotonic() * 1000

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        await anyio.sleep(seconds / 1000)

    calls: list[tuple[int, float]] = []
    limited_at: list[float] = []

    async def answer(request):
        number = int(request.url.params["page"])
        calls.append((number, clock()))
        if number == 3 and not limited_at:
            limited_at.append(clock())
            return httpx.Response(429, headers={"Retry-After": "40"})
        await anyio.sleep(0.003)
        return json_response(200, envelope("payments", number, page_count=6))

    api.get("/api/v2/payments").mock(side_effect=answer)
    settings = Settings.for_base_url(BASE, TOKEN, page_concurrency=2)
    transport = httpx.MockTransport(api.async_handler)
    async with ClientaryClient(settings, transport=transport, sleep=sleep, clock=clock) as client:
        page = await client.list_all("/api/v2/payments", "payments")
    assert [p["id"] for p in page.items] == list(range(1, 61))
    assert sleeps and max(sleeps) == pytest.approx(40, abs=1)
    # Page 2 was already in flight; everything sent after the 429 waited for Retry-After.
    resume_at = limited_at[0] + 40
    later = [t for n, t in calls if n in (4, 5, 6)] + [t for n, t in calls if n == 3][1:]
    assert len(later) == 4 and min(later) >= resume_at - 0.5


async def test_list_all_drops_records_repeated_across_pages(api, make_client):
    pages = {
        1: {"page_count": 2, "page_size": 2, "total_count": 4, "leads": [{"id": 9}, {"id": 8}]},
        2: {"page_count": 2, "page_size": 2, "total_count": 4, "leads": [{"id": 8}, {"id": 7}]},
    }
    api.get("/api/v2/leads").mock(side_effect=lambda r: json_response(200, pages[int(r.url.params["page"])]))
    page = await make_client().list_all("/api/v2/leads", "leads")
    assert [lead["id"] for lead in page.items] == [9, 8, 7]


async def test_list_all_with_a_bare_array_is_one_page(api, make_client):
    route = api.get("/api/v2/clients").mock(return_value=json_response(200, [{"id": 1}, {"id": 2}]))
    page = await make_client().list_all("/api/v2/clients", "clients")
    assert [c["id"] for c in page.items] == [1, 2]
    assert route.call_count == 1 and page.truncated is False


async def test_list_all_failure_on_a_later_page_is_raised_plainly(api, make_client):
    async def answer(request):
        number = int(request.url.params["page"])
        if number == 4:
            return httpx.Response(500)
        return json_response(200, envelope("estimates", number, page_count=6))

    api.get("/api/v2/estimates").mock(side_effect=answer)
    with pytest.raises(ServerError):
        await make_client(max_retries=0).list_all("/api/v2/estimates", "estimates")


@pytest.mark.parametrize(
    ("key", "body", "total", "extra"),
    [
        ("hours", {"hours": [{"id": 1}, {"id": 2}]}, 2, {}),
        ("staff", {"staff": [{"id": 495}]}, 1, {}),
        ("expenses",
         {"total_count": 40, "from_date": "2024/01/01", "to_date": "2024/12/31", "expenses": [{"id": 3}]},
         40, {"from_date": "2024/01/01", "to_date": "2024/12/31"}),
    ],
)
async def test_unpaginated_envelopes(api, make_client, key, body, total, extra):
    api.get(f"/api/v2/{key}").mock(return_value=json_response(200, body))
    page = await make_client().list_unpaginated(f"/api/v2/{key}", key)
    assert page.items == body[key]
    assert (page.page, page.page_count, page.page_size, page.total_count) == (None, None, None, total)
    assert page.extra == extra


async def test_unpaginated_missing_key_is_a_bad_response(api, make_client):
    api.get("/api/v2/staff").mock(return_value=json_response(200, {"users": []}))
    err = await failure(make_client().list_unpaginated("/api/v2/staff", "staff"))
    assert err.kind == "bad_response" and "'staff'" in err.message and "users" in err.message


# ---- trace -------------------------------------------------------------------------------------


async def test_trace_records_each_attempt(api, make_client):
    api.get("/api/v2/clients/1").mock(side_effect=[httpx.Response(503), json_response(200, {"id": 1})])
    api.post("/api/v2/clients").mock(side_effect=httpx.ConnectError("refused"))
    client = make_client(max_retries=0)
    with trace.record() as exchanges:
        await make_client().request("GET", "/api/v2/clients/1", params={"token": "hidden"})
        await failure(client.request("POST", "/api/v2/clients", json={"client": {}}))
    assert [{k: e[k] for k in ("method", "path", "status", "attempt")} for e in exchanges] == [
        {"method": "GET", "path": "/api/v2/clients/1", "status": 503, "attempt": 1},
        {"method": "GET", "path": "/api/v2/clients/1", "status": 200, "attempt": 2},
        {"method": "POST", "path": "/api/v2/clients", "status": None, "attempt": 1},
    ]
    assert all(isinstance(e["ms"], float) and e["ms"] >= 0 for e in exchanges)
    assert "hidden" not in repr(exchanges)


async def test_trace_collects_concurrent_page_fetches_and_nests(api, make_client):
    paged_route(api, "/api/v2/projects", "projects", 4, delay=lambda n: 0.001)
    with trace.record() as outer:
        with trace.record() as inner:
            await make_client().list_all("/api/v2/projects", "projects")
        await make_client().list_page("/api/v2/projects", "projects")
    assert len(inner) == 4 and len(outer) == 5
    # Nothing is recorded outside a block.
    await make_client().list_page("/api/v2/projects", "projects")
    assert len(outer) == 5


@pytest.mark.parametrize("errors,hint,not_hint", [
    ({"number": ["has already been taken"]}, "'number' must be unique", "format"),
    ({"email": ["is invalid"]}, "correct the format of 'email'", "number"),
    ({"name": ["can't be blank"]}, "give 'name'", "number"),
    ({"base": ["Something else went wrong"]}, "correct the listed fields", "number"),
])
def test_a_422_hint_fits_the_fields_clientary_named(errors, hint, not_hint):
    import httpx

    from clientary_mcp.api.errors import from_status

    response = httpx.Response(422, json={"errors": errors})
    message = from_status(response, "POST", "/api/v2/clients").message
    assert hint in message and not_hint not in message.split("Nothing was changed;")[1], message


# ---- a hostile or broken upstream costs bounded work -------------------------------------------------


async def test_page_count_on_empty_pages_sends_one_request(api, make_client):
    route = api.get("/api/v2/clients").mock(
        return_value=json_response(200, {"page_count": 20_000, "page_size": 0, "clients": []}))
    page = await make_client().list_all("/api/v2/clients", "clients")
    assert route.call_count == 1 and page.items == []


async def test_page_count_is_trusted_only_as_far_as_the_record_cap_needs(api, make_client):
    def pages(request):
        number = int(request.url.params["page"])
        items = [{"id": number * 100 + i} for i in range(10)]
        return json_response(200, {"page_count": 10**9, "page_size": 10, "clients": items})

    route = api.get("/api/v2/clients").mock(side_effect=pages)
    page = await make_client().list_all("/api/v2/clients", "clients", max_records=50)
    assert route.call_count == 5 and len(page.items) == 50 and page.truncated


async def test_an_empty_page_ends_the_fetch_whatever_page_count_says(api, make_client):
    def pages(request):
        number = int(request.url.params["page"])
        items = [{"id": number}] if number <= 2 else []
        return json_response(200, {"page_count": 400, "page_size": 1, "clients": items})

    route = api.get("/api/v2/clients").mock(side_effect=pages)
    page = await make_client(page_concurrency=2).list_all("/api/v2/clients", "clients", max_records=400)
    assert [c["id"] for c in page.items] == [1, 2]
    assert route.call_count <= 5  # page 3 is empty; at most the pages already asked for by the other worker


async def test_a_response_body_is_read_only_up_to_the_limit(api):
    sent = []

    async def endless():
        for _ in range(1000):  # 64 MB if it were all read
            sent.append(1)
            yield b"x" * 65536

    api.get("/api/v2/clients/1").mock(return_value=httpx.Response(200, content=endless()))
    client = ClientaryClient(Settings.for_base_url(BASE, TOKEN), transport=httpx.MockTransport(api.async_handler),
                             max_response_bytes=1 << 20)
    err = await failure(client.request("GET", "/api/v2/clients/1"))
    assert err.kind == "bad_response" and "larger than 1048576 bytes" in err.message
    assert len(sent) <= 20  # the rest was never pulled


async def test_a_hostile_error_page_is_excerpted_in_linear_time(api, make_client):
    page = "<html>" + "<script " * 19_000 + "</html>"  # 150 KB; the old expression took ~10 s on it
    api.get("/api/v2/clients/1").mock(return_value=httpx.Response(500, html=page))
    started = time.perf_counter()
    err = await failure(make_client(max_retries=0).request("GET", "/api/v2/clients/1"))
    # CPU-bound work cannot be cancelled, so the bound is checked afterwards: a hang guard, 100x above
    # the milliseconds this takes, not a timing target (bench/ has those).
    assert time.perf_counter() - started < 5
    assert err.kind == "server" and len(err.message) < 600


def _pieces(secret: str, size: int = 8) -> set[str]:
    return {secret[i:i + size] for i in range(len(secret) - size + 1)}


@pytest.mark.parametrize("cut", range(0, 30, 3))
async def test_a_redirect_echoing_the_credentials_leaks_no_part_of_them(api, make_client, cut):
    # The Location is cut to 120 characters for the message; wherever the cut falls, no piece remains.
    pad = "p" * (120 - len("https://evil.example/") - cut)
    for location in (f"https://evil.example/{pad}{BASIC}/x", f"https://{TOKEN}:{TOKEN}@evil.example/{pad}{TOKEN}"):
        api.get("/api/v2/clients/1").mock(return_value=httpx.Response(302, headers={"location": location}))
        err = await failure(make_client().request("GET", "/api/v2/clients/1"))
        assert err.kind == "bad_response"
        assert not any(piece in err.message for piece in _pieces(BASIC) | _pieces(TOKEN)), err.message


def test_no_secret_in_the_repr_of_the_server_options():
    from clientary_mcp.options import load_options

    secret = "a-confirmation-secret-of-more-than-32-characters"
    options = load_options(None, {"CLIENTARY_MCP_CONFIRM_SECRET": secret})
    assert secret not in repr(options) and repr(secret.encode()) not in repr(options)
    assert options.confirm_secret == secret.encode()
