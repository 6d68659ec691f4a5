"""The network server's parts in process: options, Host/Origin rules, principals, rate limits and the gate."""

from __future__ import annotations

import io
import json
import os
from argparse import Namespace
from contextlib import redirect_stderr, redirect_stdout

import anyio
import pytest

from clientary_mcp.transports import principals as principals_mod
from clientary_mcp.app import build_service, sandbox_settings
from clientary_mcp.safety.audit import AuditLog
from clientary_mcp.config import ConfigError
from clientary_mcp.options import load_options
from clientary_mcp.safety.policy import Policy
from clientary_mcp.transports.principals import Directory, hash_token, load_principals, parse_entry
from clientary_mcp.state.memory import MemoryStore
from clientary_mcp.transports.ratelimit import Gate, GuardedService, RateLimit
from clientary_mcp.service import Caller
from clientary_mcp.tools import BY_NAME
from clientary_mcp.transports.web import build_deployment, host_allowed, is_loopback, load_web_options, origin_allowed

HASH = hash_token("secret-bearer-token")


# -- options ------------------------------------------------------------------------------------


def test_web_defaults_are_local_and_conservative():
    web = load_web_options(Namespace(transport="http"), {})
    assert (web.host, web.port, web.max_body, web.rate_limit, web.stateless) == ("127.0.0.1", 8000, 1 << 20, None,
                                                                                  False)
    assert host_allowed("localhost:8000", web.allowed_hosts) and not host_allowed("evil.example", web.allowed_hosts)


def test_web_options_from_environment_and_flags():
    env = {"CLIENTARY_MCP_ALLOWED_HOSTS": "mcp.example.com, 10.0.0.5:8000", "CLIENTARY_MCP_MAX_BODY": "64KiB",
           "CLIENTARY_MCP_RATE_LIMIT": "60/min", "CLIENTARY_MCP_STATELESS": "true", "CLIENTARY_MCP_PORT": "9000"}
    web = load_web_options(Namespace(host="0.0.0.0", port=None, rate_limit="5/s"), env)
    assert web.port == 9000 and web.max_body == 65536 and web.stateless
    assert web.rate_limit == RateLimit(5, 1.0)  # the flag beats the variable
    assert web.allowed_hosts == ("mcp.example.com", "10.0.0.5:8000")
    assert load_web_options(Namespace(host="0.0.0.0"), {}).allowed_hosts == ("*",)  # the token protects it there


@pytest.mark.parametrize("env,needle", [({"CLIENTARY_MCP_MAX_BODY": "huge"}, "CLIENTARY_MCP_MAX_BODY"),
                                        ({"CLIENTARY_MCP_MAX_BODY": "10"}, "1KiB"),
                                        ({"CLIENTARY_MCP_RATE_LIMIT": "lots"}, "60/min"),
                                        ({"CLIENTARY_MCP_PORT": "70000"}, "CLIENTARY_MCP_PORT"),
                                        ({"CLIENTARY_MCP_SHUTDOWN_TIMEOUT": "-1"}, "SHUTDOWN_TIMEOUT")])
def test_bad_web_options_are_one_clear_line(env, needle):
    with pytest.raises(ConfigError) as err:
        load_web_options(Namespace(), env)
    assert needle in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize("host,loopback", [("127.0.0.1", True), ("localhost", True), ("::1", True),
                                           ("127.0.0.2", True), ("0.0.0.0", False), ("10.1.2.3", False),
                                           ("example.com", False)])
def test_loopback(host, loopback):
    assert is_loopback(host) is loopback


def test_host_rules():
    rules = ("mcp.example.com", "api.example.com:8443", "[::1]")
    assert host_allowed("mcp.example.com", rules) and host_allowed("MCP.example.com:443", rules)
    assert host_allowed("api.example.com:8443", rules) and not host_allowed("api.example.com:8000", rules)
    assert host_allowed("[::1]:8000", rules) and not host_allowed(None, rules)
    assert not host_allowed("mcp.example.com.evil.net", rules) and host_allowed("anything", ("*",))


def test_origin_rules():
    rules = ("http://localhost:*", "https://app.example.com")
    assert origin_allowed(None, rules)  # not a browser
    assert origin_allowed("http://localhost:3000", rules) and origin_allowed("http://localhost", rules)
    assert origin_allowed("https://app.example.com/", rules)
    assert not origin_allowed("http://localhost.evil.net:3000", rules)
    assert not origin_allowed("http://localhost:3000@evil.net", rules)
    assert not origin_allowed("null", rules) and not origin_allowed("https://evil.example", rules)


# -- principals -----------------------------------------------------------------------------------


@pytest.mark.parametrize("entry,needle", [
    ({"name": "a", "token_sha256": HASH, "sandbox": True, "readonly": True}, "unknown key(s) readonly"),
    ({"name": "a", "token_sha256": "secret-bearer-token"}, "64-character"),
    ({"name": "a", "token_sha256": HASH, "domain": "acme", "sandbox": True}, "only one of"),
    ({"name": "a", "token_sha256": HASH, "domain": "acme"}, "api_token_env"),
    ({"name": "a", "token_sha256": HASH, "include": ["list_clients", "drop_tables"]}, "drop_tables"),
    ({"name": "a b", "token_sha256": HASH}, "name must be"),
    ({"name": "a", "token_sha256": HASH, "rate_limit": "fast"}, "rate_limit"),
])
def test_principal_entries_are_validated(entry, needle):
    with pytest.raises(ConfigError) as err:
        parse_entry(entry, 0)
    assert needle in str(err.value)


def test_the_file_is_validated_as_a_whole(tmp_path):
    file = tmp_path / "p.json"
    file.write_text(json.dumps({"principals": [{"name": "a", "token_sha256": HASH},
                                               {"name": "b", "token_sha256": HASH}]}))
    with pytest.raises(ConfigError, match="also another principal's"):
        load_principals(file)
    file.write_text("{not json")
    with pytest.raises(ConfigError, match="not valid JSON"):
        load_principals(file)
    with pytest.raises(ConfigError, match="CLIENTARY_MCP_PRINCIPALS"):
        load_principals(tmp_path / "missing.json")


def test_a_principals_clientary_token_comes_from_the_named_variable_and_is_never_echoed():
    spec = parse_entry({"name": "acct", "token_sha256": HASH, "domain": "acme", "api_token_env": "ACME_TOK"}, 0)
    with pytest.raises(ConfigError, match="ACME_TOK"):
        spec.settings({})
    assert spec.settings({"ACME_TOK": "tok-123456", "CLIENTARY_TIMEOUT": "5"}).base_url == "https://acme.clientary.com"
    bad = parse_entry({"name": "x", "token_sha256": HASH, "base_url": "ftp://nope", "api_token_env": "T"}, 0)
    with pytest.raises(ConfigError) as err:
        bad.settings({"T": "tok-abcdef-987"})
    assert "tok-abcdef-987" not in str(err.value) and "base_url" in str(err.value)


def test_lookup_finds_the_principal_by_token_hash():
    directory = Directory([((HASH,), "alice"), ((hash_token("other"),), "bob")])
    assert directory.lookup("secret-bearer-token") == "alice" and directory.lookup("other") == "bob"
    assert directory.lookup("secret-bearer-token ") is None and directory.lookup("") is None


def test_a_principal_policy_sits_under_the_servers():
    spec = parse_entry({"name": "ro", "token_sha256": HASH, "read_only": True, "toolsets": ["clients", "invoices"]}, 0)
    server = Policy.build(exclude=["get_invoice"])
    policy = spec.effective_policy(server)
    names = {s.name for s in policy.allowed()}
    assert "list_clients" in names and "get_invoice" not in names and "create_client" not in names
    assert "principal 'ro' is read-only" in policy.why_disabled(BY_NAME["create_client"])
    assert "not enabled for principal 'ro'" in policy.why_disabled(BY_NAME["list_staff"])
    assert "--exclude" in policy.why_disabled(BY_NAME["get_invoice"])  # the server's own rule, in its own words


def _cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = principals_mod.main(list(argv))
    return code, out.getvalue(), err.getvalue()


def test_principals_add_list_remove(tmp_path):
    file = tmp_path / "sub" / "principals.json"
    code, token, _ = _cli("add", "ops", "--file", str(file), "--domain", "acme", "--token-env", "OPS_TOKEN",
                          "--read-only", "--toolsets", "invoices,payments", "--rate-limit", "10/min")
    assert code == 0 and token.strip().startswith("cmcp_")
    assert os.stat(file).st_mode & 0o777 == 0o600
    stored = json.loads(file.read_text())["principals"][0]
    assert stored["token_sha256"] == hash_token(token.strip()) and token.strip() not in file.read_text()
    assert _cli("add", "ops", "--file", str(file), "--sandbox")[0] == 2  # names are unique
    assert _cli("add", "bad", "--file", str(file), "--domain", "acme")[2].count("api_token_env") == 1
    assert _cli("add", "bad", "--file", str(file), "--sandbox", "--toolsets", "bogus")[0] == 2
    code, listing, _ = _cli("list", "--file", str(file))
    assert "ops: acme (token from $OPS_TOKEN); read-only; toolsets invoices,payments; rate limit: 10 tool calls" \
        in listing and "cmcp_" not in listing
    assert _cli("remove", "ops", "--file", str(file))[0] == 0
    assert json.loads(file.read_text()) == {"principals": []}


def test_deployment_needs_principals_off_loopback_and_checks_their_accounts(tmp_path):
    options = load_options(Namespace(audit_log=str(tmp_path / "a.jsonl")), {})
    with pytest.raises(ConfigError, match="CLIENTARY_MCP_PRINCIPALS"):
        build_deployment(Namespace(sandbox=True), options, load_web_options(Namespace(host="0.0.0.0"), {}), {})
    file = tmp_path / "p.json"
    file.write_text(json.dumps({"principals": [
        {"name": "demo", "token_sha256": HASH, "sandbox": True},
        {"name": "acct", "token_sha256": hash_token("t2"), "domain": "acme", "api_token_env": "ACCT_TOKEN"}]}))
    web = load_web_options(Namespace(host="0.0.0.0", principals=str(file)), {})
    with pytest.raises(ConfigError, match="principal 'acct'.*ACCT_TOKEN"):
        build_deployment(Namespace(), options, web, {})
    deployment = build_deployment(Namespace(), options, web, {"ACCT_TOKEN": "clientary-token-xyz"})
    assert [p.name for p in deployment.principals] == ["demo", "acct"]
    assert deployment.directory.lookup("t2").name == "acct"
    deployment.audit.close()


# -- rate limits, the gate, and their audit records -----------------------------------------------


@pytest.mark.parametrize("text,expected", [("60/min", RateLimit(60, 60.0)), ("5/s", RateLimit(5, 1.0)),
                                           ("1000 / hour", RateLimit(1000, 3600.0)), ("off", None), ("", None)])
def test_rate_limit_forms(text, expected):
    assert RateLimit.parse(text) == expected


@pytest.mark.anyio
async def test_bucket_allows_a_burst_then_paces():
    now = [0.0]
    store, limit = MemoryStore(clock=lambda: now[0]), RateLimit(2, 60.0)
    assert await store.take("b", limit.rate, limit.calls) == 0 and await store.take("b", limit.rate, limit.calls) == 0
    assert await store.take("b", limit.rate, limit.calls) == pytest.approx(30.0)
    now[0] = 30.0
    assert await store.take("b", limit.rate, limit.calls) == 0
    assert await store.take("b", limit.rate, limit.calls) == pytest.approx(30.0)


def _guarded(tmp_path, limit=None):
    options = load_options(Namespace(audit_log=str(tmp_path / "audit.jsonl")), {})
    audit = AuditLog(options.audit_log)
    service = build_service(options, sandbox_settings(), sandbox=True, audit=audit)
    return GuardedService(service, Gate(), limit), audit


def _records(tmp_path):
    return [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]


@pytest.mark.anyio
async def test_refusals_and_interruptions_are_audited(tmp_path):
    guarded, audit = _guarded(tmp_path, RateLimit(1, 3600.0))
    caller = Caller(principal="pat", transport="http", request_id=7)
    assert not (await guarded.call("get_staff", {"id": 1}, caller)).is_error
    limited = await guarded.call("get_staff", {"id": 1}, caller)
    assert limited.is_error and limited.error["kind"] == "rate_limited"
    assert "retry in 3600 s" in limited.text

    guarded.limit = None
    guarded.service.api.sandbox_app.state.faults.latency = 5.0  # a slow account: the call is cut off first
    with anyio.move_on_after(0.2):
        await guarded.call("list_clients", {"page": 2}, caller)
    assert guarded.gate.busy == 0

    guarded.gate.closing = True
    closing = await guarded.call("list_clients", {}, caller)
    assert closing.is_error and "shutting down" in closing.text
    audit.close()
    outcomes = [(r["principal"], r["tool"], r["outcome"], r["error_kind"]) for r in _records(tmp_path)]
    assert outcomes == [("pat", "get_staff", "ok", None), ("pat", "get_staff", "refused", "rate_limited"),
                        ("pat", "list_clients", "interrupted", "cancelled"),
                        ("pat", "list_clients", "refused", "shutting_down")]


@pytest.mark.anyio
async def test_gate_counts_calls_and_requests():
    now = [10.0]
    gate = Gate(clock=lambda: now[0])
    gate.enter("requests")
    gate.enter()
    assert gate.busy == 2 and gate.quiet_for() == 0
    gate.leave()
    gate.leave("requests")
    now[0] = 10.5
    assert gate.quiet_for() == pytest.approx(0.5) and await gate.wait_idle(0.1)
    assert RateLimit(3, 60.0).describe() == "3 tool calls per minute"


@pytest.mark.anyio
async def test_a_redis_store_that_does_not_answer_fails_fast_and_names_no_password():
    import socket

    from clientary_mcp.state import StoreUnavailable, open_store

    with socket.socket() as s:  # a port with nobody listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    store = open_store({"CLIENTARY_MCP_REDIS_URL": f"redis://:hunter2-password@127.0.0.1:{port}/0"})
    try:
        for op in (store.check(), store.take("rate:x", 1.0, 1), store.enter("calls:x", "m", 1, 5.0),
                   store.claim("k", 5.0)):
            with pytest.raises(StoreUnavailable) as info:
                await op
            assert "hunter2" not in str(info.value) and f"127.0.0.1:{port}" in str(info.value)
        assert "hunter2" not in repr(store)
    finally:
        await store.aclose()


def test_the_redis_url_must_be_a_redis_url():
    from clientary_mcp.state import open_store

    with pytest.raises(ConfigError, match="CLIENTARY_MCP_REDIS_URL must be a redis://"):
        open_store({"CLIENTARY_MCP_REDIS_URL": "localhost:6379"})


def test_caps_and_connection_limits_from_flags_and_variables():
    env = {"CLIENTARY_MCP_MAX_SESSIONS": "4", "CLIENTARY_MCP_MAX_STREAMS": "3", "CLIENTARY_MCP_SESSION_IDLE": "90",
           "CLIENTARY_MCP_HEADER_TIMEOUT": "2.5", "CLIENTARY_MCP_MAX_CONNECTIONS": "50"}
    web = load_web_options(Namespace(max_calls="7", max_sessions="5"), env)
    assert (web.caps.sessions, web.caps.streams, web.caps.calls, web.caps.session_idle) == (5, 3, 7, 90.0)
    assert (web.header_timeout, web.max_connections, web.body_timeout, web.keep_alive) == (2.5, 50, 30.0, 5.0)
    with pytest.raises(ConfigError, match="--max-sessions / CLIENTARY_MCP_MAX_SESSIONS must be a number from 1"):
        load_web_options(Namespace(), {"CLIENTARY_MCP_MAX_SESSIONS": "lots"})
    with pytest.raises(ConfigError, match="CLIENTARY_MCP_BODY_TIMEOUT must be a number"):
        load_web_options(Namespace(), {"CLIENTARY_MCP_BODY_TIMEOUT": "0"})


@pytest.mark.anyio
async def test_a_requests_place_is_free_before_its_answers_last_bytes_go_out():
    # A client that sends its next request the moment it has an answer must never find the last one
    # still counted against --max-calls (with one place, it would be refused).
    from types import SimpleNamespace

    from clientary_mcp.transports.caps import Caps, Limiter
    from clientary_mcp.transports.web import AccessLayer

    limiter = Limiter(MemoryStore(), Caps(calls=1))
    deployment = SimpleNamespace(limiter=limiter, gate=Gate())
    web = SimpleNamespace(max_body=1 << 20, body_timeout=5.0, stateless=True)

    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": b'{"jsonrpc":', "more_body": True})
        await send({"type": "http.response.body", "body": b'"2.0"}'})

    held_at: list[tuple[bool, int]] = []

    async def send(message):
        if message["type"] == "http.response.body":
            held_at.append((message.get("more_body", False), len(limiter.held)))

    async def receive():
        return {"type": "http.request", "body": b"{}", "more_body": False}

    layer = AccessLayer(app, deployment, web)
    scope = {"type": "http", "method": "POST", "path": "/mcp", "headers": []}
    for _ in range(3):  # one place: each request only gets in because the one before gave it back
        await layer._post("local", scope, receive, send, {})
    assert held_at == [(True, 1), (False, 0)] * 3
    assert not limiter.held and deployment.gate.busy == 0


@pytest.mark.anyio
async def test_requests_in_flight_are_counted_in_process_and_sessions_in_the_shared_store():
    from clientary_mcp.transports.caps import CapFull, Caps, Limiter

    class Recording(MemoryStore):
        def __init__(self) -> None:
            super().__init__()
            self.groups: list[str] = []

        async def enter(self, group, member, limit, ttl):
            self.groups.append(group)
            return await super().enter(group, member, limit, ttl)

    shared = Recording()
    limiter = Limiter(shared, Caps(calls=2, sessions=1))
    calls = [await limiter.enter("calls", "alice") for _ in range(2)]
    with pytest.raises(CapFull, match="2 requests in flight"):
        await limiter.enter("calls", "alice")
    await limiter.enter("calls", "bob")  # a cap per principal
    session = await limiter.enter("sessions", "alice")
    assert shared.groups == ["sessions:alice"]  # no round trip to the shared store for a call
    for member in calls:
        await limiter.leave("calls", "alice", member)
    await limiter.enter("calls", "alice")
    await limiter.leave("sessions", "alice", session)
