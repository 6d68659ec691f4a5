"""The in-process sandbox without an ASGI round trip answers exactly as the app does over ASGI."""

from __future__ import annotations

import datetime
import time

import httpx
import pytest

from clientary_mcp.sandbox import DEMO_TOKEN, SandboxTransport, create_app

TODAY = datetime.date(2026, 11, 15)
AUTH = (DEMO_TOKEN, DEMO_TOKEN)

# (method, path, json body or raw bytes, auth)
REQUESTS = [
    ("GET", "/api/v2/clients", None, AUTH),
    ("GET", "/api/v2/clients?page=2&sort=name", None, AUTH),
    ("GET", "/api/v2/clients/1", None, AUTH),
    ("GET", "/api/v2/clients/1.json", None, AUTH),
    ("GET", "/api/v2/clients/1/", None, AUTH),
    ("GET", "/api/v2/clients/999999", None, AUTH),
    ("GET", "/api/v2/nothing-here", None, AUTH),
    ("GET", "/api/v2/clients", None, ("wrong", "token")),
    ("GET", "/api/v2/clients", None, None),
    ("POST", "/api/v2/clients", {"client": {"name": "Direct Co"}}, AUTH),
    ("POST", "/api/v2/clients", {"client": {}}, AUTH),
    ("POST", "/api/v2/clients", b"{not json", AUTH),
    ("PUT", "/api/v2/clients/1", {"client": {"name": "Renamed"}}, AUTH),
    ("PATCH", "/api/v2/clients/1", {"client": {"city": "Lyon"}}, AUTH),
    ("DELETE", "/api/v2/clients/1", None, AUTH),
    ("DELETE", "/api/v2/clients", None, AUTH),
    ("GET", "/api/v2/projects/1/hours?billed=false", None, AUTH),
    ("GET", "/api/v2/expenses?from_date=2026-01-01&to_date=2026-12-31", None, AUTH),
]


async def _replay(transport: httpx.AsyncBaseTransport) -> list[tuple[int, object]]:
    answers = []
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as http:
        for method, path, body, auth in REQUESTS:
            kwargs = {"content": body} if isinstance(body, bytes) else {"json": body} if body is not None else {}
            response = await http.request(method, path, auth=auth, **kwargs)
            answers.append((response.status_code, response.json(), response.headers.get("www-authenticate")))
    return answers


@pytest.mark.anyio
async def test_direct_path_gives_the_same_answers_and_request_log_as_asgi():
    direct_app, asgi_app = create_app(today=TODAY), create_app(today=TODAY)
    direct = await _replay(SandboxTransport(direct_app))
    over_asgi = await _replay(httpx.ASGITransport(app=asgi_app))
    assert direct == over_asgi
    assert [(r.method, r.path, r.status) for r in direct_app.state.store.requests] == \
        [(r.method, r.path, r.status) for r in asgi_app.state.store.requests]
    assert {status for status, _, _ in direct} >= {200, 201, 400, 401, 404, 422}  # the battery covers them


@pytest.mark.anyio
async def test_a_fault_switched_on_while_running_takes_the_faulty_path_at_once():
    app = create_app(today=TODAY)
    async with httpx.AsyncClient(transport=SandboxTransport(app), base_url="http://sandbox", auth=AUTH) as http:
        assert (await http.get("/api/v2/clients/1")).status_code == 200
        app.state.faults.rate_429 = 1.0
        assert (await http.get("/api/v2/clients/1")).status_code == 429
        app.state.faults.rate_429 = 0.0
        app.state.faults.latency = 0.2
        started = time.monotonic()
        assert (await http.get("/api/v2/clients/1")).status_code == 200
        assert time.monotonic() - started >= 0.2


# What ClientaryClient sends: (method, path, params, json). Booleans and numbers in the query, a body, errors.
CLIENT_CALLS = [
    ("GET", "/api/v2/clients", {"page": 2, "sort": "name"}, None),
    ("GET", "/api/v2/clients/1", None, None),
    ("GET", "/api/v2/clients/999999", None, None),
    ("GET", "/api/v2/projects/1/hours", {"billed": False}, None),  # booleans as httpx writes them
    ("GET", "/api/v2/expenses", {"from_date": "2026-01-01", "to_date": "2026-12-31"}, None),
    ("POST", "/api/v2/clients", None, {"client": {"name": "Direct Ünïcode Co"}}),
    ("POST", "/api/v2/clients", None, {"client": {}}),
    ("PUT", "/api/v2/clients/1", None, {"client": {"name": "Renamed"}}),
    ("DELETE", "/api/v2/clients/2", None, None),
    ("GET", "/api/v2/nothing-here", None, None),
]


async def _client_replay(transport: httpx.AsyncBaseTransport, token: str = DEMO_TOKEN) -> list[object]:
    from clientary_mcp.api import ClientaryClient
    from clientary_mcp.api.errors import ClientaryError
    from clientary_mcp.config import Settings

    outcomes: list[object] = []
    async with ClientaryClient(Settings.for_base_url("http://sandbox.invalid", token), transport=transport) as api:
        for method, path, params, body in CLIENT_CALLS:
            try:
                outcomes.append(await api.request(method, path, params=params, json=body))
            except ClientaryError as exc:
                outcomes.append((type(exc).__name__, str(exc)))
    return outcomes


@pytest.mark.anyio
@pytest.mark.parametrize("token", [DEMO_TOKEN, "not-the-token"])
async def test_the_api_client_gets_the_same_results_and_errors_without_httpx_as_over_asgi(token, monkeypatch):
    direct_app, asgi_app = create_app(today=TODAY), create_app(today=TODAY)

    async def through_httpx(self, request):
        raise AssertionError(f"{request.method} {request.url.path} went through httpx with every fault off")

    with monkeypatch.context() as patch:
        patch.setattr(SandboxTransport, "handle_async_request", through_httpx)
        direct = await _client_replay(SandboxTransport(direct_app), token)
    over_asgi = await _client_replay(httpx.ASGITransport(app=asgi_app), token)
    assert direct == over_asgi
    assert [(r.method, r.path, r.status) for r in direct_app.state.store.requests] == \
        [(r.method, r.path, r.status) for r in asgi_app.state.store.requests]
    kinds = {type(o).__name__ if not isinstance(o, tuple) else o[0] for o in direct}
    assert kinds >= ({"dict", "NotFoundError", "ValidationError"} if token == DEMO_TOKEN else {"AuthError"})


@pytest.mark.anyio
async def test_the_api_client_falls_back_to_httpx_while_a_fault_is_on():
    from clientary_mcp.api import ClientaryClient
    from clientary_mcp.api.errors import ClientaryError
    from clientary_mcp.config import Settings

    app = create_app(today=TODAY)
    settings = Settings.for_base_url("http://sandbox.invalid", DEMO_TOKEN, max_retries=0)
    async with ClientaryClient(settings, transport=SandboxTransport(app)) as api:
        assert (await api.request("GET", "/api/v2/clients/1"))["id"] == 1
        app.state.faults.rate_429 = 1.0
        with pytest.raises(ClientaryError, match="429"):
            await api.request("GET", "/api/v2/clients/1")
        app.state.faults.rate_429 = 0.0
        assert (await api.request("GET", "/api/v2/clients/1"))["id"] == 1


@pytest.mark.anyio
async def test_the_request_handed_over_without_httpx_is_what_httpx_would_have_sent():
    from starlette.datastructures import QueryParams

    from clientary_mcp.api import ClientaryClient
    from clientary_mcp.config import Settings

    class Recording(httpx.AsyncBaseTransport):
        def __init__(self) -> None:
            self.seen: list[tuple] = []

        def exchange(self, method, path, query, body, authorization):
            self.seen.append((method, path, list(query), body, authorization))
            return 200, [("content-type", "application/json")], b"{}"

    calls = [("GET", "/api/v2/projects/1/hours", {"billed": False, "page": 3, "from_date": "2026-01-01"}, None),
             ("GET", "/api/v2/clients", {"query": "Smith & Söhne"}, None),
             ("POST", "/api/v2/clients", None, {"client": {"name": "Ünïcode", "rate": 1.5, "taxable": True}})]
    settings = Settings.for_base_url("https://acme.clientary.com", "tok-123")
    transport = Recording()
    async with ClientaryClient(settings, transport=transport) as api:
        for method, path, params, body in calls:
            await api.request(method, path, params=params, json=body)
        http = api._client()
        expected = []
        for method, path, params, body in calls:
            request = next(http.auth.auth_flow(http.build_request(method, path, params=params, json=body)))
            expected.append((method, request.url.path, QueryParams(request.url.query).multi_items(), request.content,
                             request.headers["authorization"]))
    assert transport.seen == expected
