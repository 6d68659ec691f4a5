"""OAuth 2.1 over the network, against a real OpenID provider (oidc-provider, run by Node).

One server process trusts the provider's "main" issuer, with a mapping file: alice and bob (who sign in
through the authorization code flow with PKCE) each get a sandbox of their own; carol gets the server's
account, only the clients toolset and a rate limit; every other subject (the client-credentials
machines) acts with the server's own sandbox. The provider's "other" issuer has
the same clients and signs for the same resource, with keys of its own.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
import time

import anyio
import httpx
import httpx2
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from support import tool_error
from test_http_support import CLI, Launch, Proc, clean_env, free_port, http_client, ready_all, sse_session, text
from test_oauth_support import ALL, REDIRECT, MemoryStorage, Provider, b64, claims, header, sdk_oauth

pytestmark = pytest.mark.slow

COOLDOWN = 2.0  # the server's CLIENTARY_MCP_OAUTH_JWKS_COOLDOWN here
ACCEPT = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
INIT = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}


@pytest.fixture(scope="module")
def deployment(tmp_path_factory):
    work = tmp_path_factory.mktemp("oauth")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    provider = Provider(work, base + "/mcp")
    mapping = work / "mapping.json"
    mapping.write_text(json.dumps({"accounts": [
        {"name": "alice-books", "match": {"email": ["Alice@Example.test"]}, "sandbox": True},
        {"name": "bob-books", "match": {"groups": ["sales"]}, "sandbox": True},
        {"name": "carol-clients", "match": {"sub": ["carol"]}, "toolsets": ["clients"], "rate_limit": "3/min"},
        {"name": "machines", "match": "*"},
    ]}))
    audit = work / "audit.jsonl"
    env = clean_env(work, CLIENTARY_MCP_AUDIT_LOG=str(audit), CLIENTARY_MCP_OAUTH_ISSUER=provider.main,
                    CLIENTARY_MCP_OAUTH_MAPPING=str(mapping), CLIENTARY_MCP_OAUTH_CLOCK_SKEW="0",
                    CLIENTARY_MCP_OAUTH_JWKS_COOLDOWN=str(COOLDOWN), CLIENTARY_MCP_OAUTH_CLIENT_ID="clientary-rs",
                    CLIENTARY_MCP_OAUTH_CLIENT_SECRET="clientary-rs-secret")
    proc = Proc([CLI, "serve", "--transport", "http", "--sandbox", "--port", str(port)], env, work, "server")
    sse_port = free_port()
    sse = Proc([CLI, "serve", "--transport", "sse", "--sandbox", "--port", str(sse_port)],
               {**env, "CLIENTARY_MCP_AUDIT_LOG": str(work / "sse-audit.jsonl")}, work, "sse")
    try:
        ready_all([Launch(proc, base, "/healthz"), Launch(sse, f"http://127.0.0.1:{sse_port}", "/healthz")])
        yield {"base": base, "provider": provider, "audit": audit, "server": proc, "tokens": [],
               "sse": f"http://127.0.0.1:{sse_port}"}
    finally:
        proc.stop()
        sse.stop()
        provider.stop()


def records(deployment) -> list[dict]:
    return [json.loads(line) for line in deployment["audit"].read_text().splitlines() if line.strip()]


def post(base: str, token: str | None, body: dict | None = None, **headers: str) -> httpx.Response:
    auth = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.post(base + "/mcp", json=body or INIT, headers={**ACCEPT, **auth, **headers}, timeout=15)


def challenge(answer: httpx.Response) -> dict[str, str]:
    value = answer.headers["www-authenticate"]
    assert value.startswith("Bearer ")
    return dict(re.findall(r'(\w+)="([^"]*)"', value[7:]))


def test_discovery_from_the_401_to_the_provider(deployment):
    base, provider = deployment["base"], deployment["provider"]
    refused = post(base, None)
    assert refused.status_code == 401
    params = challenge(refused)
    assert "error" not in params  # no token at all is not an invalid one (RFC 6750 §3.1)
    assert params["resource_metadata"] == base + "/.well-known/oauth-protected-resource/mcp"
    assert params["scope"].split() == ALL.split()
    prm = httpx.get(params["resource_metadata"], timeout=10).json()
    assert prm["resource"] == base + "/mcp" and prm["authorization_servers"] == [provider.main]
    assert prm["scopes_supported"] == ALL.split()
    assert httpx.get(base + "/.well-known/oauth-protected-resource", timeout=10).json() == prm
    # The authorization server named there is the real provider, with the grants a client needs.
    issuer = httpx.get(prm["authorization_servers"][0] + "/.well-known/oauth-authorization-server", timeout=10).json()
    assert issuer["issuer"] == provider.main and "S256" in issuer["code_challenge_methods_supported"]
    assert {"authorization_code", "client_credentials"} <= set(issuer["grant_types_supported"])


async def _cycle(client) -> None:
    assert len((await client.list_tools()).tools) == 77
    created = await client.call_tool("create_client", {"name": "OAuth Machine Ltd"})
    assert not created.is_error, text(created)
    preview = await client.call_tool("delete_client", {"id": created.structured_content["id"]})
    token = preview.structured_content["confirm_token"]
    done = await client.call_tool("delete_client", {"id": created.structured_content["id"], "confirm": token})
    assert not done.is_error, text(done)


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["legacy", "2026-07-28"])
async def test_a_client_credentials_token_works_end_to_end(deployment, mode):
    token = deployment["provider"].token("machine")
    deployment["tokens"].append(token)
    with anyio.fail_after(60):
        async with http_client(deployment["base"], token, mode=mode) as client:
            await _cycle(client)
    mine = [r for r in records(deployment) if r["principal"] == "machine"]
    assert {"create_client", "delete_client"} <= {r["tool"] for r in mine}


@pytest.mark.anyio
async def test_signed_in_users_keep_to_their_own_accounts_and_confirmations(deployment):
    provider = deployment["provider"]
    alice, bob = provider.login("alice"), provider.login("bob")
    deployment["tokens"] += [alice, bob]
    assert claims(alice)["sub"] == "alice" and claims(alice)["client_id"] == "app"
    with anyio.fail_after(60):
        async with http_client(deployment["base"], alice) as a, http_client(deployment["base"], bob) as b:
            created = await a.call_tool("create_client", {"name": "Alice Only Books"})
            assert not created.is_error, text(created)
            new_id = created.structured_content["id"]
            assert "Alice Only Books" in {c["name"] for c in (await a.call_tool("list_clients", {}))
                                          .structured_content["items"]}
            theirs = (await b.call_tool("list_clients", {})).structured_content["items"]
            assert "Alice Only Books" not in {c["name"] for c in theirs}
            # alice's confirmation token does nothing for bob, even for the same tool and arguments
            preview = await a.call_tool("delete_client", {"id": new_id})
            confirm = preview.structured_content["confirm_token"]
            stolen = await b.call_tool("delete_client", {"id": new_id, "confirm": confirm})
            assert stolen.is_error and "issued to another caller" in text(stolen)
            still = await a.call_tool("get_client", {"id": new_id})
            assert not still.is_error and still.structured_content["name"] == "Alice Only Books"
            done = await a.call_tool("delete_client", {"id": new_id, "confirm": confirm})
            assert not done.is_error, text(done)
    names = {r["principal"] for r in records(deployment)}
    assert {"alice <alice@example.test>", "bob <bob@example.test>"} <= names


def test_a_session_stays_with_its_user(deployment):
    provider, base = deployment["provider"], deployment["base"]
    alice, bob = provider.login("alice"), provider.login("bob")
    opened = post(base, alice)
    assert opened.status_code == 200
    session = opened.headers["mcp-session-id"]
    listing = {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}
    hijack = post(base, bob, listing, **{"Mcp-Session-Id": session, "MCP-Protocol-Version": "2025-11-25"})
    assert hijack.status_code == 404
    # A fresh token for the same user (same client and subject) continues the session.
    again = post(base, provider.login("alice"), listing, **{"Mcp-Session-Id": session,
                                                           "MCP-Protocol-Version": "2025-11-25"})
    assert again.status_code == 200


@pytest.mark.anyio
async def test_a_read_only_token_lists_reads_and_gets_403_for_a_write(deployment):
    base, provider = deployment["base"], deployment["provider"]
    token = provider.token("reader", scope=ALL)  # asks for all; the provider grants only read
    assert claims(token)["scope"] == "clientary:read"
    with anyio.fail_after(60):
        async with http_client(base, token, mode="2026-07-28") as client:
            tools = (await client.list_tools()).tools
            assert len(tools) == 38 and all(t.annotations.read_only_hint for t in tools)
            assert not (await client.call_tool("list_clients", {})).is_error
    call = {"jsonrpc": "2.0", "id": 3, "method": "tools/call",
            "params": {"name": "create_client", "arguments": {"name": "Nope"}}}
    refused = post(base, token, call, **{"MCP-Protocol-Version": "2026-07-28"})
    assert refused.status_code == 403
    params = challenge(refused)
    assert params["error"] == "insufficient_scope"
    assert set(params["scope"].split()) == {"clientary:read", "clientary:write"}
    assert "clientary:write" in refused.json()["error_description"]
    assert params["resource_metadata"].endswith("/.well-known/oauth-protected-resource/mcp")
    assert "Nope" not in {r.get("arguments", {}).get("name") for r in records(deployment)}


def _forged(token: str, **changes) -> str:
    head, body, signature = token.split(".")
    if "header" in changes:
        head = b64(json.dumps(changes["header"]).encode())
    if "claims" in changes:
        body = b64(json.dumps(changes["claims"]).encode())
    return ".".join([head, body, changes.get("signature", signature)])


def _expired(provider) -> str:
    token = provider.token("brief")
    # The provider issues it valid for 2 s; the server allows no clock skew here. Wait until it has expired.
    wait = claims(token)["exp"] + 1 - time.time()
    time.sleep(max(0.0, wait))
    return token


CASES = {
    "expired": (_expired, "expired"),
    "another audience": (lambda p: p.token(resource="http://127.0.0.1:9/other-mcp"), "another resource"),
    "another issuer": (lambda p: p.token(issuer="other"), "another issuer"),
    "tampered signature": (lambda p: _forged(t := p.token(), claims={**claims(t), "sub": "alice"}),
                           "signature does not verify"),
    "alg none": (lambda p: _forged(p.token(), header={"alg": "none", "typ": "at+jwt"}, signature=""),
                 "algorithm 'none' is not accepted"),
    "HS256 with the public key": (
        lambda p: _forged(t := p.token(), header={**header(t), "alg": "HS256"}), "algorithm 'HS256' is not accepted"),
    "opaque, unknown to the provider": (lambda p: "not-a-real-token-0123456789", "not active"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_refused_tokens_get_401_invalid_token(deployment, case):
    make, reason = CASES[case]
    token = make(deployment["provider"])
    answer = post(deployment["base"], token)
    assert answer.status_code == 401, answer.text
    params = challenge(answer)
    assert params["error"] == "invalid_token"
    assert reason in params["error_description"] and reason in answer.json()["error_description"]
    assert "resource_metadata" in params


@pytest.mark.anyio
async def test_an_opaque_token_is_checked_by_introspection(deployment):
    token = deployment["provider"].token("opaque", scope="clientary:read clientary:write")
    assert token.count(".") == 0
    with anyio.fail_after(60):
        async with http_client(deployment["base"], token) as client:
            tools = (await client.list_tools()).tools
            assert len(tools) == 38 + 24  # reads and writes (workflows included), no deletes, sending or charges
            assert not (await client.call_tool("list_clients", {})).is_error
    assert any(r["principal"] == "opaque" for r in records(deployment))


def _wait_cooldown(provider) -> None:
    """Until the server's last key fetch is older than its cooldown (the provider saw it, so no guessing)."""
    last = provider.stats()["last_jwks_fetch"]
    if last is not None:
        time.sleep(max(0.0, last / 1000 + COOLDOWN + 0.1 - time.time()))


@pytest.mark.anyio
async def test_a_key_rotation_at_the_provider(deployment):
    base, provider = deployment["base"], deployment["provider"]
    old = provider.token("machine")
    assert post(base, old).status_code == 200
    kid = provider.rotate()
    new = provider.token("machine")
    assert header(new)["kid"] == kid != header(old)["kid"]
    _wait_cooldown(provider)
    before = provider.stats()["jwks_fetches"]
    with anyio.fail_after(60):
        async with http_client(base, new) as client:
            assert not (await client.call_tool("list_clients", {})).is_error
    assert provider.stats()["jwks_fetches"] == before + 1  # the unknown kid caused exactly one refresh
    assert post(base, old).status_code == 200  # the old key is still published, so its tokens still hold
    assert post(base, provider.token("machine")).status_code == 200
    assert provider.stats()["jwks_fetches"] == before + 1


def test_a_flood_of_unknown_key_ids_does_not_hammer_the_provider(deployment):
    base, provider = deployment["base"], deployment["provider"]
    own_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    template = claims(provider.token("machine"))
    _wait_cooldown(provider)
    before = provider.stats()["jwks_fetches"]

    async def flood() -> list[int]:
        async with httpx.AsyncClient(timeout=30) as http:
            async def one(i: int) -> int:
                token = jwt.encode({**template, "jti": str(i)}, own_key, algorithm="RS256",
                                   headers={"kid": f"made-up-{i}", "typ": "at+jwt"})
                answer = await http.post(base + "/mcp", json=INIT,
                                         headers={**ACCEPT, "Authorization": f"Bearer {token}"})
                return answer.status_code
            return await asyncio.gather(*(one(i) for i in range(40)))

    started = time.monotonic()
    statuses = asyncio.run(flood())
    elapsed = time.monotonic() - started
    assert statuses == [401] * 40
    fetches = provider.stats()["jwks_fetches"] - before
    assert 1 <= fetches <= 1 + math.ceil(elapsed / COOLDOWN), (fetches, elapsed)


def test_no_access_token_appears_in_the_audit_or_the_logs(deployment):
    tokens = deployment["tokens"]
    assert tokens
    server = deployment["server"]
    for where, content in {"audit log": deployment["audit"].read_text(), "stderr": server.stderr,
                           "stdout": server.stdout}.items():
        for token in tokens:
            assert token not in content and token.split(".")[-1] not in content, f"a token appeared in the {where}"
        assert "clientary-rs-secret" not in content


@pytest.mark.anyio
async def test_the_sdk_client_discovers_registers_and_signs_in_by_itself(deployment):
    """The official SDK's OAuth client, told only the server URL: 401 → PRM → provider metadata → dynamic
    registration → authorization code + PKCE (its browser signs in as alice) → token → MCP calls."""
    base = deployment["base"]
    storage = MemoryStorage()
    auth = sdk_oauth(deployment["provider"], base + "/mcp", "alice", storage)
    with anyio.fail_after(60):
        async with httpx2.AsyncClient(auth=auth, timeout=httpx2.Timeout(15.0, read=30.0)) as http:
            async with Client(streamable_http_client(base + "/mcp", http_client=http)) as client:
                assert len((await client.list_tools()).tools) == 77
                created = await client.call_tool("create_client", {"name": "Registered By The SDK"})
                assert not created.is_error, text(created)
    assert storage.client is not None and storage.client.client_id not in ("app", "machine")  # registered itself
    deployment["tokens"].append(storage.tokens.access_token)
    last = [r for r in records(deployment) if r["tool"] == "create_client"][-1]
    assert last["principal"] == "alice <alice@example.test>" and last["outcome"] == "ok"


@pytest.mark.anyio
async def test_the_sdk_client_steps_up_when_a_call_needs_more_scope(deployment):
    """alice holds a read-only token; her first write gets 403 insufficient_scope, the SDK client signs in
    again for read + write, and the retried call goes through."""
    from mcp.shared.auth import OAuthClientInformationFull, OAuthToken

    provider, base = deployment["provider"], deployment["base"]
    read_only = provider.login("alice", scope="clientary:read")
    storage = MemoryStorage(
        OAuthToken(access_token=read_only, token_type="Bearer", expires_in=600, scope="clientary:read"),
        OAuthClientInformationFull(client_id="app", redirect_uris=[REDIRECT], token_endpoint_auth_method="none",
                                   grant_types=["authorization_code", "refresh_token"], response_types=["code"]))
    auth = sdk_oauth(provider, base + "/mcp", "alice", storage)
    with anyio.fail_after(60):
        async with httpx2.AsyncClient(auth=auth, timeout=httpx2.Timeout(15.0, read=30.0)) as http:
            async with Client(streamable_http_client(base + "/mcp", http_client=http), mode="2026-07-28") as client:
                assert len((await client.list_tools()).tools) == 38
                created = await client.call_tool("create_client", {"name": "After Step-Up"})
                assert not created.is_error, text(created)
    assert set(claims(storage.tokens.access_token)["scope"].split()) >= {"clientary:read", "clientary:write"}
    deployment["tokens"] += [read_only, storage.tokens.access_token]


def test_a_token_without_clientary_scopes_gets_403(deployment):
    token = deployment["provider"].token("machine", scope="")
    assert "scope" not in claims(token)
    answer = post(deployment["base"], token)
    assert answer.status_code == 403
    params = challenge(answer)
    assert params["error"] == "insufficient_scope" and params["scope"].split() == ALL.split()


@pytest.mark.anyio
async def test_a_user_the_mapping_file_does_not_name_is_refused(deployment, tmp_path):
    """In process, same provider: a mapping with only alice in it; bob's valid token gets 403."""
    from argparse import Namespace

    from clientary_mcp.options import load_options
    from clientary_mcp.transports.web import build_app, build_deployment, load_web_options

    provider, base = deployment["provider"], deployment["base"]
    mapping = tmp_path / "mapping.json"
    mapping.write_text(json.dumps({"accounts": [{"name": "alice", "match": {"sub": ["alice"]}, "sandbox": True}]}))
    env = {"CLIENTARY_MCP_OAUTH_ISSUER": provider.main, "CLIENTARY_MCP_PUBLIC_URL": base,
           "CLIENTARY_MCP_OAUTH_MAPPING": str(mapping)}
    web = load_web_options(Namespace(), {})
    served = build_deployment(Namespace(), load_options(Namespace(audit_log=str(tmp_path / "a.jsonl")), {}), web, env)
    bob = provider.login("bob")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=build_app(served, web)), base_url=base) as http:
        with anyio.fail_after(30):
            refused = await http.post("/mcp", json=INIT, headers={**ACCEPT, "Authorization": f"Bearer {bob}"})
    await served.close()
    assert refused.status_code == 403 and refused.json()["error"] == "access_denied"
    assert "bob@example.test" in refused.json()["error_description"]


@pytest.mark.anyio
async def test_two_subjects_on_one_account_cannot_use_each_others_confirmations(deployment):
    """machine and opaque (two clients, so two subjects) both act with the server's sandbox."""
    provider, base = deployment["provider"], deployment["base"]
    one, other = provider.token("machine"), provider.token("opaque")
    with anyio.fail_after(60):
        async with http_client(base, one) as a, http_client(base, other) as b:
            created = await a.call_tool("create_client", {"name": "Shared Account Ltd"})
            new_id = created.structured_content["id"]
            assert not (await b.call_tool("get_client", {"id": new_id})).is_error  # the same account: b sees it
            confirm = (await a.call_tool("delete_client", {"id": new_id})).structured_content["confirm_token"]
            stolen = await b.call_tool("delete_client", {"id": new_id, "confirm": confirm})
            assert stolen.is_error and "issued to another caller" in text(stolen)
            assert not (await b.call_tool("get_client", {"id": new_id})).is_error  # still there


@pytest.mark.anyio
async def test_the_mapping_narrows_the_policy_and_sets_a_rate_limit(deployment):
    token = deployment["provider"].login("carol")
    with anyio.fail_after(60):
        async with http_client(deployment["base"], token) as carol:
            names = {t.name for t in (await carol.list_tools()).tools}
            assert names == {"list_clients", "get_client", "create_client", "update_client", "delete_client"}
            refused = await carol.call_tool("get_invoice", {"id": 1})
            assert refused.is_error and "toolset 'invoices'" in text(refused)
            results = [await carol.call_tool("list_clients", {}) for _ in range(3)]
    assert not results[0].is_error and results[-1].is_error
    assert tool_error(results[-1])["kind"] == "rate_limited"
    last = [r for r in records(deployment) if r["principal"] == "carol"][-1]
    assert (last["tool"], last["outcome"], last["error_kind"]) == ("list_clients", "refused", "rate_limited")


@pytest.mark.anyio
async def test_the_sse_transport_takes_oauth_tokens_for_its_own_resource(deployment):
    provider, base = deployment["provider"], deployment["sse"]
    prm = httpx.get(base + "/.well-known/oauth-protected-resource/sse", timeout=10).json()
    assert prm["resource"] == base + "/sse"
    assert post(base.replace("/sse", ""), provider.token(resource=base + "/sse")).status_code == 404  # no /mcp
    assert httpx.get(base + "/sse", headers={"Authorization": f"Bearer {provider.token()}"},
                     timeout=10).status_code == 401  # a token for the /mcp service is not one for this one
    with anyio.fail_after(60):
        async with sse_session(base, provider.token("reader", resource=base + "/sse")) as client:
            assert len((await client.list_tools()).tools) == 38
            refused = await client.call_tool("create_client", {"name": "Nope"})
    assert refused.is_error and "clientary:write" in text(refused)  # on SSE the tool error names the scope


def test_principals_file_tokens_and_oauth_tokens_on_one_server(deployment, tmp_path):
    """In process, same provider: a principals-file token is found in the file (as an OAuth token it would
    be refused: it is no JWT and introspection is not configured here), an OAuth token is checked at the
    provider; both are answered."""
    from argparse import Namespace

    from starlette.testclient import TestClient
    from test_http_support import add_principal

    from clientary_mcp.options import load_options
    from clientary_mcp.transports.web import build_app, build_deployment, load_web_options

    provider, base = deployment["provider"], deployment["base"]
    file = tmp_path / "principals.json"
    agent = add_principal(file, "headless-agent", "--sandbox")
    env = {"CLIENTARY_MCP_OAUTH_ISSUER": provider.main, "CLIENTARY_MCP_PUBLIC_URL": base}
    web = load_web_options(Namespace(principals=str(file)), {})
    served = build_deployment(Namespace(sandbox=True), load_options(Namespace(audit_log=str(tmp_path / "a.jsonl")),
                                                                    {}), web, env)
    with TestClient(build_app(served, web), base_url=base) as http:
        by_file = http.post("/mcp", json=INIT, headers={**ACCEPT, "Authorization": f"Bearer {agent}"})
        assert by_file.status_code == 200
        by_oauth = http.post("/mcp", json=INIT, headers={**ACCEPT, "Authorization": f"Bearer {provider.token()}"})
        assert by_oauth.status_code == 200
        unknown = http.post("/mcp", json=INIT, headers={**ACCEPT, "Authorization": "Bearer cmcp_not-in-the-file"})
        assert unknown.status_code == 401 and "resource_metadata=" in unknown.headers["www-authenticate"]
