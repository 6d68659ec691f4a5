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
