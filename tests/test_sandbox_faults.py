"""Fault injection, the in-process transport, and the sandbox served on a real port."""

import os
import socket
import subprocess
import sys
import time
from collections import Counter
from datetime import date

import httpx
import pytest

from clientary_mcp.api import ClientaryClient, ClientaryError
from clientary_mcp.config import Settings
from clientary_mcp.sandbox import DEMO_TOKEN, Faults, SandboxTransport, create_app
from clientary_mcp.sandbox import cli

pytestmark = pytest.mark.anyio
TODAY = date(2025, 6, 15)
AUTH = (DEMO_TOKEN, DEMO_TOKEN)


async def no_sleep(seconds: float) -> None:
    return None


def api_client(app, **overrides) -> ClientaryClient:
    settings = Settings.for_base_url("http://sandbox", DEMO_TOKEN, **overrides)
    return ClientaryClient(settings, transport=SandboxTransport(app), sleep=no_sleep)


def http_client(app) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=SandboxTransport(app), base_url="http://sandbox", auth=AUTH)


async def statuses(app, method: str, path: str, n: int, **kwargs) -> list[int]:
    async with http_client(app) as http:
        return [(await http.request(method, path, **kwargs)).status_code for _ in range(n)]


# --- 429 and 5xx -----------------------------------------------------------------------------


async def test_429_share_with_retry_after():
    app = create_app(today=TODAY, faults=Faults(rate_429=0.3, retry_after=2, seed=1))
    async with http_client(app) as http:
        responses = [await http.get("/api/v2/staff") for _ in range(400)]
    limited = [r for r in responses if r.status_code == 429]
    assert 0.24 <= len(limited) / 400 <= 0.36
    assert {r.headers["retry-after"] for r in limited} == {"2"}
    assert all("error" in r.json() for r in limited)
    assert {r.status_code for r in responses} == {200, 429}
    assert len(app.state.store.requests) == 400


async def test_429_comes_before_any_effect():
    app = create_app(today=TODAY, faults=Faults(rate_429=1.0, retry_after=0))
    api = api_client(app, max_retries=2)
    with pytest.raises(ClientaryError) as info:
        await api.request("POST", "/api/v2/clients", json={"client": {"name": "Never"}})
    await api.aclose()
    assert info.value.kind == "rate_limited"
    assert app.state.store.count("clients") == 5
    assert [r.status for r in app.state.store.requests] == [429, 429, 429]


async def test_5xx_on_reads_only():
    app = create_app(today=TODAY, faults=Faults(rate_5xx_reads=0.4, seed=2))
    codes = Counter(await statuses(app, "GET", "/api/v2/clients/1", 300))
    assert set(codes) == {200, 500, 502, 503}
    assert 0.32 <= (300 - codes[200]) / 300 <= 0.48
    writes = await statuses(app, "PUT", "/api/v2/clients/1", 30, json={"client": {"city": "Reno"}})
    assert set(writes) == {200}


async def test_5xx_on_writes_arrives_after_the_change():
    app = create_app(today=TODAY, faults=Faults(rate_5xx_writes=1.0))
    store = app.state.store
    async with http_client(app) as http:
        response = await http.post("/api/v2/clients", json={"client": {"name": "Ghost Writer"}})
        assert response.status_code == 502
        assert (await http.get("/api/v2/clients/1")).status_code == 200
    assert store.where("clients", name="Ghost Writer")
    api = api_client(app)
    with pytest.raises(ClientaryError) as info:
        await api.request("POST", "/api/v2/leads", json={"lead": {"name": "Ghost Lead"}})
    await api.aclose()
    assert info.value.kind == "unknown_outcome"
    assert len(store.where("leads", name="Ghost Lead")) == 1  # applied once, not repeated


async def test_plan_limit_426_and_runtime_changes():
    app = create_app(today=TODAY, faults=Faults(plan_limit_after=5))
    api = api_client(app)
    for path, body in (("/api/v2/clients", {"client": {"name": "Over"}}),
                       ("/api/v2/clients/1/contacts", {"client_user": {"name": "Over", "email": "o@x.co"}})):
        with pytest.raises(ClientaryError) as info:
            await api.request("POST", path, json=body)
        assert (info.value.kind, info.value.status) == ("plan_limit", 426)
    for n in range(3):  # 2 leads seeded: three more reach the limit
        await api.request("POST", "/api/v2/leads", json={"lead": {"name": f"Lead {n}"}})
    with pytest.raises(ClientaryError) as info:
        await api.request("POST", "/api/v2/leads", json={"lead": {"name": "One too many"}})
    assert info.value.status == 426
    assert app.state.store.count("leads") == 5
    app.state.faults.plan_limit_after = None
    await api.request("POST", "/api/v2/clients", json={"client": {"name": "Now fine"}})
    await api.aclose()


async def test_latency_and_spikes():
    app = create_app(today=TODAY, faults=Faults(latency=0.03, latency_spike_rate=1.0, latency_spike=0.03))
    async with http_client(app) as http:
        started = time.perf_counter()
        await http.get("/api/v2/staff")
        assert time.perf_counter() - started >= 0.06


async def test_seeded_faults_repeat_and_follow_runtime_changes():
    def faulty():
        return create_app(today=TODAY, faults=Faults(rate_429=0.3, rate_5xx_reads=0.2, seed=5))

    first, second = faulty(), faulty()
    assert await statuses(first, "GET", "/api/v2/staff", 60) == await statuses(second, "GET", "/api/v2/staff", 60)
    first.state.faults.rate_429 = first.state.faults.rate_5xx_reads = 0.0
    assert set(await statuses(first, "GET", "/api/v2/staff", 20)) == {200}


# --- drops -------------------------------------------------------------------------------------


async def test_drops_before_and_after_the_app():
    app = create_app(today=TODAY, faults=Faults(drop_rate=1.0, seed=3))
    store = app.state.store
    outcomes = Counter()
    async with http_client(app) as http:
        for n in range(40):
            try:
                await http.post("/api/v2/clients", json={"client": {"name": f"Dropped {n}"}})
            except httpx.ConnectError:
                outcomes["before"] += 1
            except httpx.ReadError:
                outcomes["after"] += 1
    assert outcomes["before"] + outcomes["after"] == 40 and outcomes["before"] > 5 and outcomes["after"] > 5
    # A drop before never reached the app; a drop after did, and its change stuck.
    assert len(store.requests) == outcomes["after"]
    assert store.count("clients") == 5 + outcomes["after"]


async def test_transport_faults_can_be_given_separately():
    app = create_app(today=TODAY)
    transport = SandboxTransport(app, faults=Faults(drop_rate=1.0, seed=4))
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox", auth=AUTH) as http:
        with pytest.raises((httpx.ConnectError, httpx.ReadError)):
            await http.get("/api/v2/staff")


# --- the API layer under faults --------------------------------------------------------------


async def test_api_layer_reads_everything_back_under_faults():
    app = create_app(today=TODAY, seed_data=True)
    store = app.state.store
    api = api_client(app, max_retries=10)
    for n in range(95):
        await api.request("POST", "/api/v2/clients", json={"client": {"name": f"Client {(n * 37) % 95:03d}"}})
    app.state.faults = Faults(rate_429=0.3, rate_5xx_reads=0.1, latency=0.001, retry_after=0, drop_rate=0.05, seed=11)
    store.requests.clear()

    everything = await api.list_all("/api/v2/clients", "clients")
    expected = sorted(store.table("clients"), key=lambda row: (row["name"].casefold(), row["id"]))
    assert [row["id"] for row in everything.items] == [row["id"] for row in expected]
    assert (everything.total_count, everything.page_count, everything.truncated) == (100, 10, False)
    contacts = await api.list_all("/api/v2/contacts", "contacts")
    assert [row["id"] for row in contacts.items] == [row["id"] for row in store.table("contacts")]
    expenses = await api.list_unpaginated("/api/v2/expenses", "expenses")
    assert expenses.total_count == store.count("expenses")
    await api.aclose()

    seen = Counter(record.status for record in store.requests)
    assert seen[429] > 0 and seen[500] + seen[502] + seen[503] > 0
    assert store.count("clients") == 100  # reads changed nothing


# --- served on a port -----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve(*args: str) -> tuple[subprocess.Popen, list[str], int]:
    port = free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("CLIENTARY_SANDBOX_TOKEN", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "clientary_mcp.sandbox", "--port", str(port), *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )
    lines: list[str] = []
    while not any("curl" in line for line in lines):
        line = process.stdout.readline()
        if not line:
            process.kill()
            raise AssertionError(f"sandbox exited early: {process.stderr.read()}")
        lines.append(line.strip())
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process, lines, port
        except OSError:
            if time.monotonic() > deadline:
                process.kill()
                raise
            time.sleep(0.05)


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def test_run_serves_on_a_port_and_prints_a_curl_line():
    process, lines, port = serve()
    try:
        base = f"http://127.0.0.1:{port}"
        assert f"curl -u {DEMO_TOKEN}:{DEMO_TOKEN} {base}/api/v2/clients" in lines
        assert any(base in line for line in lines) and any(DEMO_TOKEN in line for line in lines)
        with httpx.Client(base_url=base) as http:
            clients = http.get("/api/v2/clients", auth=AUTH)
            assert clients.status_code == 200 and clients.json()["total_count"] == 5
            assert http.get("/api/v2/clients").status_code == 401
            created = http.post("/api/v2/clients.json", json={"client": {"name": "Over HTTP"}}, auth=AUTH)
            assert created.status_code == 201
    finally:
        stop(process)


def test_served_drops_cut_the_connection():
    process, _, port = serve("--drop-rate", "1", "--fault-seed", "1", "--token", "tok")
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as http:
            for _ in range(3):
                with pytest.raises(httpx.TransportError):
                    http.get("/api/v2/staff", auth=("tok", "tok"))
    finally:
        stop(process)
    assert "DroppedConnection" not in process.stderr.read()


def test_main_parses_flags_and_env_token(monkeypatch):
    seen = {}
    monkeypatch.setattr(cli, "run", lambda **kwargs: seen.update(kwargs))
    monkeypatch.setenv("CLIENTARY_SANDBOX_TOKEN", "from-env")
    argv = ["--host", "0.0.0.0", "--port", "9999", "--latency", "0.1", "--rate-429", "0.2", "--rate-5xx-reads",
            "0.3", "--rate-5xx-writes", "0.4", "--plan-limit-after", "7", "--drop-rate", "0.5", "--fault-seed", "9"]
    assert cli.main(argv) == 0
    assert (seen["host"], seen["port"], seen["token"]) == ("0.0.0.0", 9999, "from-env")
    assert seen["faults"] == Faults(latency=0.1, rate_429=0.2, rate_5xx_reads=0.3, rate_5xx_writes=0.4,
                                    plan_limit_after=7, drop_rate=0.5, seed=9)
    cli.main(["--token", "explicit"])
    assert seen["token"] == "explicit"
    with pytest.raises(SystemExit):
        cli.main(["--rate-429", "1.5"])
