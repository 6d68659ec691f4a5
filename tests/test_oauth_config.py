"""OAuth start-up checks and the parts that need no provider: settings, the mapping file, scopes, refusals.

Everything here is in process; the behaviour against a real provider is in test_oauth.py.
"""

from __future__ import annotations

import json
from argparse import Namespace

import anyio
import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from test_http_support import free_port

from clientary_mcp.config import ConfigError
from clientary_mcp.options import load_options
from clientary_mcp.safety.policy import Policy
from clientary_mcp.tools import BY_NAME, REGISTRY
from clientary_mcp.transports.oauth.config import load_oauth_config
from clientary_mcp.transports.oauth.keys import discovery_urls
from clientary_mcp.transports.oauth.mapping import load_mapping
from clientary_mcp.transports.oauth.scopes import ScopedPolicy, scope_for, scopes_used
from clientary_mcp.transports.web import build_app, build_deployment, load_web_options

ISSUER = "https://login.example.com/realms/acme"


def oauth(env: dict[str, str], host: str = "127.0.0.1", port: int = 8000, endpoint: str = "/mcp"):
    return load_oauth_config(env, host=host, port=port, endpoint=endpoint)


def test_defaults_on_a_loopback_bind():
    config = oauth({"CLIENTARY_MCP_OAUTH_ISSUER": ISSUER})
    assert config.public_url == "http://127.0.0.1:8000" and config.audience == "http://127.0.0.1:8000/mcp"
    assert config.algorithms == ("RS256", "PS256", "ES256", "EdDSA") and config.clock_skew == 30
    assert oauth({}) is None
    public = oauth({"CLIENTARY_MCP_OAUTH_ISSUER": ISSUER, "CLIENTARY_MCP_PUBLIC_URL": "https://mcp.example.com/"},
                   host="0.0.0.0", endpoint="/sse")
    assert public.resource == public.audience == "https://mcp.example.com/sse"
    entra = oauth({"CLIENTARY_MCP_OAUTH_ISSUER": ISSUER, "CLIENTARY_MCP_OAUTH_AUDIENCE": "6e74172b-be56-4843-9ff4"})
    assert (entra.resource, entra.audience) == ("http://127.0.0.1:8000/mcp", "6e74172b-be56-4843-9ff4")


@pytest.mark.parametrize("env,host,needle", [
    ({"CLIENTARY_MCP_OAUTH_AUDIENCE": "https://x/mcp"}, "127.0.0.1", "CLIENTARY_MCP_OAUTH_ISSUER is not"),
    ({"CLIENTARY_MCP_OAUTH_ISSUER": "http://login.example.com"}, "127.0.0.1", "must use https://"),
    ({"CLIENTARY_MCP_OAUTH_ISSUER": "login.example.com"}, "127.0.0.1", "https:// URL"),
    ({"CLIENTARY_MCP_OAUTH_ISSUER": ISSUER}, "0.0.0.0", "CLIENTARY_MCP_PUBLIC_URL must be set"),
    ({"CLIENTARY_MCP_OAUTH_ISSUER": ISSUER, "CLIENTARY_MCP_PUBLIC_URL": "http://mcp.example.com"}, "0.0.0.0",
     "CLIENTARY_MCP_PUBLIC_URL must use https://"),
    ({"CLIENTARY_MCP_OAUTH_ISSUER": ISSUER, "CLIENTARY_MCP_OAUTH_AUDIENCE": "two words"}, "127.0.0.1",
     "without spaces"),
    ({"CLIENTARY_MCP_OAUTH_ISSUER": ISSUER, "CLIENTARY_MCP_OAUTH_ALGORITHMS": "RS256,HS256"}, "127.0.0.1",
     "'HS256' is not allowed"),
    ({"CLIENTARY_MCP_OAUTH_ISSUER": ISSUER, "CLIENTARY_MCP_OAUTH_ALGORITHMS": "none"}, "127.0.0.1",
     "never none"),
    ({"CLIENTARY_MCP_OAUTH_ISSUER": ISSUER, "CLIENTARY_MCP_OAUTH_CLIENT_ID": "rs"}, "127.0.0.1",
     "CLIENTARY_MCP_OAUTH_CLIENT_SECRET"),
    ({"CLIENTARY_MCP_OAUTH_ISSUER": ISSUER, "CLIENTARY_MCP_OAUTH_CLOCK_SKEW": "3600"}, "127.0.0.1",
     "CLIENTARY_MCP_OAUTH_CLOCK_SKEW must be"),
])
def test_bad_settings_are_one_clear_line(env, host, needle):
    with pytest.raises(ConfigError) as err:
        oauth(env, host=host)
    assert needle in str(err.value) and "\n" not in str(err.value)


def test_discovery_tries_rfc8414_then_openid_connect():
    assert discovery_urls("https://kc.example.com/realms/acme") == [
        "https://kc.example.com/.well-known/oauth-authorization-server/realms/acme",
        "https://kc.example.com/.well-known/openid-configuration/realms/acme",
        "https://kc.example.com/realms/acme/.well-known/openid-configuration"]
    assert discovery_urls("https://tenant.auth0.com/") == [
        "https://tenant.auth0.com/.well-known/oauth-authorization-server",
        "https://tenant.auth0.com/.well-known/openid-configuration"]


def test_every_tool_needs_exactly_one_scope_by_its_kind():
    assert {scope_for(s) for s in REGISTRY if s.kind == "read"} == {"clientary:read"}
    assert {scope_for(s) for s in REGISTRY if s.kind == "write"} == {"clientary:write"}
    assert scope_for(BY_NAME["delete_client"]) == "clientary:delete"
    assert scope_for(BY_NAME["send_invoice_message"]) == "clientary:send"
    assert scopes_used(Policy(read_only=True)) == ["clientary:read"]
    policy = ScopedPolicy(inner=Policy(), granted=frozenset({"clientary:read", "clientary:delete"}))
    assert {s.kind for s in policy.allowed()} == {"read", "gated"}
    assert "clientary:send" in policy.why_disabled(BY_NAME["send_invoice_message"])
    narrow = ScopedPolicy(inner=Policy.build(toolsets="clients"), granted=frozenset({"clientary:read"}))
    assert {s.name for s in narrow.allowed()} == {"list_clients", "get_client"}


def _mapping(tmp_path, data) -> str:
    path = tmp_path / "mapping.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return str(path)


@pytest.mark.parametrize("data,needle", [
    ("{not json", "not valid JSON"),
    ({"accounts": []}, "non-empty \"accounts\" list"),
    ({"accounts": [{"name": "a", "match": "*"}], "extra": 1}, "unknown top-level key(s) extra"),
    ({"accounts": [{"name": "a"}]}, "account 1 (a): match is missing"),
    ({"accounts": [{"name": "a", "match": {"role": ["x"]}}]}, "match must be"),
    ({"accounts": [{"name": "a", "match": {"email": []}}]}, "match.email must be a non-empty list"),
    ({"accounts": [{"name": "a", "match": "*", "token_sha256": "0" * 64}]}, "unknown key(s) token_sha256"),
    ({"accounts": [{"name": "a", "match": "*", "toolsets": ["nope"]}]}, "unknown toolset(s)"),
    ({"accounts": [{"name": "a", "match": "*", "domain": "acme"}]}, "api_token_env"),
    ({"accounts": [{"name": "a", "match": "*"}, {"name": "a", "match": "*"}]}, "'a' appears twice"),
    ({"accounts": [{"name": "a", "match": "*"}], "claims": {"roles": "x"}}, "claims must be"),
])
def test_a_bad_mapping_file_is_one_clear_line(tmp_path, data, needle):
    with pytest.raises(ConfigError) as err:
        load_mapping(_mapping(tmp_path, data))
    assert needle in str(err.value) and "mapping file" in str(err.value) and "\n" not in str(err.value)


def test_the_first_matching_account_wins(tmp_path):
    mapping = load_mapping(_mapping(tmp_path, {"claims": {"groups": "https://acme/groups"}, "accounts": [
        {"name": "fin", "match": {"groups": ["finance"]}, "sandbox": True},
        {"name": "bob", "match": {"email": ["Bob@Example.com"], "sub": ["u-7"]}, "read_only": True},
        {"name": "rest", "match": "*", "toolsets": ["clients"]}]}))
    assert mapping.match({"sub": "x", "https://acme/groups": ["finance", "x"]}).name == "fin"
    assert mapping.match({"sub": "x", "groups": ["finance"]}).name == "rest"  # that claim is renamed
    assert mapping.match({"sub": "x", "email": "bob@example.COM"}).name == "bob"
    assert mapping.match({"sub": "u-7"}).name == "bob"
    assert mapping.rules[1].spec.policy.read_only


def test_deployment_with_oauth_off_loopback(tmp_path):
    options = load_options(Namespace(audit_log=str(tmp_path / "a.jsonl")), {})
    web = load_web_options(Namespace(host="0.0.0.0"), {})
    env = {"CLIENTARY_MCP_OAUTH_ISSUER": ISSUER, "CLIENTARY_MCP_PUBLIC_URL": "https://mcp.example.com"}
    deployment = build_deployment(Namespace(sandbox=True), options, web, env)  # OAuth counts as authentication
    assert deployment.local is None and deployment.oauth.config.resource == "https://mcp.example.com/mcp"
    deployment.audit.close()
    mapping = _mapping(tmp_path, {"accounts": [{"name": "acct", "match": "*", "domain": "acme",
                                                 "api_token_env": "ACCT_TOKEN"}]})
    with pytest.raises(ConfigError, match="mapping file .*ACCT_TOKEN"):
        build_deployment(Namespace(), options, web, {**env, "CLIENTARY_MCP_OAUTH_MAPPING": mapping})
    # every account is its own, so the server needs no CLIENTARY_DOMAIN of its own
    deployment = build_deployment(Namespace(), options, web,
                                  {**env, "CLIENTARY_MCP_OAUTH_MAPPING": mapping, "ACCT_TOKEN": "clientary-xyz"})
    deployment.audit.close()


@pytest.mark.anyio
async def test_an_unreachable_provider_gives_503_and_no_token_gives_the_challenge(tmp_path):
    issuer = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    options = load_options(Namespace(audit_log=str(tmp_path / "a.jsonl")), {})
    web = load_web_options(Namespace(port=8123), {})
    deployment = build_deployment(Namespace(sandbox=True), options, web, {"CLIENTARY_MCP_OAUTH_ISSUER": issuer})
    app = build_app(deployment, web)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = jwt.encode({"iss": issuer, "sub": "u", "aud": "http://127.0.0.1:8123/mcp", "exp": 4102444800}, key,
                       algorithm="RS256", headers={"kid": "k1"})
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8123") as http:
        with anyio.fail_after(30):
            down = await http.post("/mcp", json={}, headers={"Authorization": f"Bearer {token}"})
            none = await http.post("/mcp", json={})
            prm = await http.get("/.well-known/oauth-protected-resource/mcp")
    assert down.status_code == 503 and down.headers["retry-after"] == "5"
    assert none.status_code == 401 and 'resource_metadata="http://127.0.0.1:8123/.well-known/oauth-protected-' \
        'resource/mcp"' in none.headers["www-authenticate"]
    assert prm.json()["authorization_servers"] == [issuer]
    await deployment.close()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _jwk(kid: str) -> dict:
    from jwt.algorithms import RSAAlgorithm

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    return {**json.loads(RSAAlgorithm.to_jwk(key)), "kid": kid, "alg": "RS256", "use": "sig"}


@pytest.mark.anyio
async def test_the_key_cache_refreshes_within_its_cooldown_and_keeps_keys_when_the_issuer_fails():
    import respx

    from clientary_mcp.transports.oauth.keys import MAX_AGE, IssuerKeys, Unavailable

    issuer = "https://sso.example.com"
    config = oauth({"CLIENTARY_MCP_OAUTH_ISSUER": issuer, "CLIENTARY_MCP_OAUTH_JWKS_COOLDOWN": "30"})
    clock = Clock()
    with respx.mock(assert_all_called=False) as mock:
        mock.get(issuer + "/.well-known/oauth-authorization-server").respond(
            200, json={"issuer": issuer, "jwks_uri": issuer + "/jwks"})
        jwks = mock.get(issuer + "/jwks")
        jwks.respond(200, json={"keys": [_jwk("a"), {"kty": "oct", "k": "c2VjcmV0", "kid": "hmac"},
                                          {**_jwk("enc"), "use": "enc"}]})
        async with httpx.AsyncClient() as http:
            keys = IssuerKeys(config, http, clock=clock)
            assert (await keys.key("a", "RS256")).key_id == "a"
            assert await keys.key("a", "ES256") is None  # declared RS256: never used for another algorithm
            assert await keys.key("enc", "RS256") is None  # an encryption key never verifies
            assert await keys.key("hmac", "HS256") is None  # nor does a shared secret
            calls = jwks.call_count
            assert await keys.key("unknown", "RS256") is None
            assert jwks.call_count == calls  # fetched just now: an unknown kid waits for the cooldown
            clock.now += 31
            jwks.respond(200, json={"keys": [_jwk("a"), _jwk("b")]})
            assert (await keys.key("b", "RS256")).key_id == "b"  # a rotation: one refresh finds it
            assert jwks.call_count == calls + 1
            # The issuer fails: the keys known stay in use, past their hour, retried after each cooldown.
            jwks.respond(503)
            clock.now += MAX_AGE + 1
            assert (await keys.key("b", "RS256")).key_id == "b"
            failed = jwks.call_count
            assert (await keys.key("b", "RS256")).key_id == "b" and jwks.call_count == failed
            # Never any keys: the request gets Unavailable (503), not a refusal of a good token.
            fresh = IssuerKeys(config, http, clock=clock)
            with pytest.raises(Unavailable):
                await fresh.key("b", "RS256")
