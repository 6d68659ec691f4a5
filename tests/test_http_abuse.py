"""The network service under abuse: one hostile principal or client cannot take the service from others.

One server (real process) with four principals: `greedy` (read-only, 1 call/hour) opens sessions,
`streamer` opens SSE streams, `slow` has calls held in flight by a proxy in front of its account, and
`other` is the bystander that must not notice. Caps are small so every case stays fast.
"""

from __future__ import annotations

import contextlib
import json

import anyio
import anyio.from_thread
import httpx
import pytest
from test_http_support import (HoldingProxy, add_principal, clean_env, http_client, launch_sandbox, launch_server,
                               ready_all, text)

pytestmark = pytest.mark.slow

TOKEN = "clientary-abuse-token-8Hd7s6Fa"
INIT = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}
ACCEPT = "application/json, text/event-stream"


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    work = tmp_path_factory.mktemp("abuse")
    file = work / "principals.json"
    tokens = {"greedy": add_principal(file, "greedy", "--sandbox", "--read-only", "--rate-limit", "1/hour"),
              "streamer": add_principal(file, "streamer", "--sandbox"),
              "slow": add_principal(file, "slow"),
              "other": add_principal(file, "other", "--sandbox")}
    (sandbox, sandbox_base), = ready_all([launch_sandbox(work, "sandbox", TOKEN)])
    with anyio.from_thread.start_blocking_portal() as portal:
        proxy = portal.call(lambda: _make_proxy(int(sandbox_base.rsplit(":", 1)[1])))
        with portal.wrap_async_context_manager(proxy.running()):
            env = clean_env(work, CLIENTARY_BASE_URL=proxy.base, CLIENTARY_API_TOKEN=TOKEN,
                            CLIENTARY_MCP_AUDIT_LOG=str(work / "audit.jsonl"), CLIENTARY_MCP_MAX_SESSIONS="3",
                            CLIENTARY_MCP_MAX_STREAMS="2", CLIENTARY_MCP_MAX_CALLS="2",
                            CLIENTARY_MCP_SESSION_IDLE="2", CLIENTARY_MCP_HEADER_TIMEOUT="1",
                            CLIENTARY_MCP_BODY_TIMEOUT="1", CLIENTARY_MCP_MAX_CONNECTIONS="60")
            (server, base), = ready_all([launch_server(work, "server", ["--transport", "http", "--principals",
                                                                         str(file)], env)])
            try:
                yield {"base": base, "tokens": tokens, "server": server,
                       "release": lambda: portal.call(proxy.release.set)}
            finally:
                portal.call(proxy.release.set)
                server.stop()
                sandbox.stop()
    for secret in tokens.values():
        assert secret not in server.stderr


async def _make_proxy(port: int) -> HoldingProxy:
    return HoldingProxy(port)  # made inside the portal's event loop, so its Event belongs there


def _headers(token: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Accept": ACCEPT, "Content-Type": "application/json", **extra}


async def _open_session(http: httpx.AsyncClient, base: str, token: str) -> httpx.Response:
    return await http.post(base + "/mcp", json=INIT, headers=_headers(token))


async def _bystander_works(base: str, token: str) -> None:
    async with http_client(base, token) as client:
        result = await client.call_tool("list_clients", {})
        assert not result.is_error, text(result)


@pytest.mark.anyio
async def test_one_principal_cannot_open_sessions_for_all(service):
    base, tokens = service["base"], service["tokens"]
    with anyio.fail_after(40):
        async with httpx.AsyncClient(timeout=10) as http:
            opened = [await _open_session(http, base, tokens["greedy"]) for _ in range(3)]
            assert all(r.status_code == 200 and r.headers.get("mcp-session-id") for r in opened)
            refused = await _open_session(http, base, tokens["greedy"])
            assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
            assert "3 open sessions" in refused.json()["error_description"]
            await _bystander_works(base, tokens["other"])  # nobody else notices

            # Closing a session gives its place back at once ...
            sid = opened[0].headers["mcp-session-id"]
            closed = await http.delete(base + "/mcp", headers=_headers(tokens["greedy"], **{
                "mcp-session-id": sid, "mcp-protocol-version": "2025-11-25"}))
            assert closed.status_code < 300
            assert (await _open_session(http, base, tokens["greedy"])).status_code == 200
            # ... and idle sessions expire (CLIENTARY_MCP_SESSION_IDLE=2 here), giving theirs back too.
            while (await _open_session(http, base, tokens["greedy"])).status_code == 429:
                await anyio.sleep(0.2)


@pytest.mark.anyio
async def test_sse_streams_are_capped_per_principal(service):
    base, tokens = service["base"], service["tokens"]
    token = tokens["streamer"]
    with anyio.fail_after(40):
        async with httpx.AsyncClient(timeout=10) as http, contextlib.AsyncExitStack() as streams:
            statuses = []
            for _ in range(3):
                sid = (await _open_session(http, base, token)).headers["mcp-session-id"]
                await http.post(base + "/mcp", headers=_headers(token, **{
                    "mcp-session-id": sid, "mcp-protocol-version": "2025-11-25"}),
                    json={"jsonrpc": "2.0", "method": "notifications/initialized"})
                stream = await streams.enter_async_context(http.stream("GET", base + "/mcp", headers=_headers(
                    token, **{"mcp-session-id": sid, "mcp-protocol-version": "2025-11-25",
                              "Accept": "text/event-stream"})))
                statuses.append(stream.status_code)
                if stream.status_code == 429:
                    assert stream.headers["Retry-After"]
                    assert "2 open SSE streams" in json.loads(await stream.aread())["error_description"]
            assert statuses == [200, 200, 429]
            await _bystander_works(base, tokens["other"])


@pytest.mark.anyio
async def test_calls_in_flight_are_capped_per_principal(service):
    base, tokens = service["base"], service["tokens"]
    token = tokens["slow"]
    answers: list[object] = []

    async def call(n: int) -> None:
        async with http_client(base, token, mode="2026-07-28") as client:
            answers.append(await client.call_tool("get_client", {"id": n}))

    with anyio.fail_after(40):
        async with anyio.create_task_group() as tg, httpx.AsyncClient(timeout=10) as http:
            for n in (1, 2):
                tg.start_soon(call, n)
            body = {"jsonrpc": "2.0", "id": 9, "method": "tools/call",
                    "params": {"name": "get_client", "arguments": {"id": 3}}}
            while (await http.get(base + "/readyz")).json()["calls_in_flight"] < 2:
                await anyio.sleep(0.02)  # until both wait on the held account
            # Both places are taken: a third request is refused at once, not queued.
            third = await http.post(base + "/mcp", json=body, headers=_headers(
                token, **{"mcp-protocol-version": "2026-07-28"}))
            assert third.status_code == 429
            assert int(third.headers["Retry-After"]) >= 1 and "2 requests in flight" in third.text
            assert answers == []  # still held
            await _bystander_works(base, tokens["other"])
            await anyio.to_thread.run_sync(service["release"])
    assert len(answers) == 2 and not any(a.is_error for a in answers)


async def _closed_by_server(stream: anyio.abc.SocketStream) -> bool:
    try:
        while await stream.receive(65536):
            pass
    except (anyio.EndOfStream, anyio.BrokenResourceError, ConnectionError):
        pass
    return True


@pytest.mark.anyio
async def test_slow_and_idle_clients_are_dropped_and_do_not_starve_others(service):
    base, tokens = service["base"], service["tokens"]
    host, port = "127.0.0.1", int(base.rsplit(":", 1)[1])
    with anyio.fail_after(40):
        idle = [await anyio.connect_tcp(host, port) for _ in range(20)]
        partial = [await anyio.connect_tcp(host, port) for _ in range(20)]
        for stream in partial:  # headers never finished
            await stream.send(b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer x")
        slow_body = await anyio.connect_tcp(host, port)
        await slow_body.send(f"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {tokens['other']}\r\n"
                             "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{".encode())
        # A keep-alive connection that starts its next request and never finishes the headers.
        kept = await anyio.connect_tcp(host, port)
        await kept.send(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        first = b""
        while b"\r\n\r\n" not in first:
            first += await kept.receive(65536)
        assert first.startswith(b"HTTP/1.1 200")
        await kept.send(b"GET /healthz HTTP/1.1\r\nHo")
        await _bystander_works(base, tokens["other"])  # while all 42 are connected
        # The server closes every one of them (header deadline 1 s, body deadline 1 s); no client does.
        for stream in idle + partial + [kept]:
            assert await _closed_by_server(stream)
        answer = b""
        with contextlib.suppress(anyio.EndOfStream, anyio.BrokenResourceError, ConnectionError):
            while True:
                answer += await slow_body.receive(65536)
        assert answer.startswith(b"HTTP/1.1 408")
        for stream in idle + partial + [kept, slow_body]:
            await stream.aclose()
    assert "did not arrive within 1 s" in service["server"].stderr


@pytest.mark.anyio
async def test_websocket_upgrades_are_refused(service):
    base = service["base"]
    upgrade = {"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
               "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Origin": "https://evil.example"}
    async with httpx.AsyncClient(timeout=10) as http:
        for path in ("/messages/", "/mcp"):
            answer = await http.get(base + path, headers=upgrade)
            assert answer.status_code == 403 and answer.json()["error"] == "invalid_origin"
        same_origin = await http.get(base + "/mcp", headers={**upgrade, "Origin": "http://127.0.0.1"})
        assert same_origin.status_code == 401  # not upgraded: still an HTTP request, and it needs a token


def test_the_access_layer_refuses_non_http_scopes():
    from clientary_mcp.transports.web import AccessLayer, WebOptions

    reached = []

    async def app(scope, receive, send):
        reached.append(scope["type"])

    async def run():
        sent = []
        incoming = iter([{"type": "websocket.connect"}])

        async def receive():
            return next(incoming)

        async def send(message):
            sent.append(message)

        layer = AccessLayer(app, deployment=None, web=WebOptions())  # type: ignore[arg-type]
        await layer({"type": "websocket", "path": "/messages/", "headers": []}, receive, send)
        await layer({"type": "future-protocol", "path": "/mcp"}, receive, send)
        return sent

    sent = anyio.run(run)
    assert reached == [] and sent == [{"type": "websocket.close", "code": 1008, "reason": "only plain HTTP is served"}]
