"""The resource server's settings, from the environment, checked at start (one-line errors)."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from ...config import ConfigError

OAUTH_ISSUER_ENV = "CLIENTARY_MCP_OAUTH_ISSUER"
AUDIENCE_ENV = "CLIENTARY_MCP_OAUTH_AUDIENCE"
PUBLIC_URL_ENV = "CLIENTARY_MCP_PUBLIC_URL"
MAPPING_ENV = "CLIENTARY_MCP_OAUTH_MAPPING"
ALGORITHMS_ENV = "CLIENTARY_MCP_OAUTH_ALGORITHMS"
SKEW_ENV = "CLIENTARY_MCP_OAUTH_CLOCK_SKEW"
COOLDOWN_ENV = "CLIENTARY_MCP_OAUTH_JWKS_COOLDOWN"
CLIENT_ID_ENV = "CLIENTARY_MCP_OAUTH_CLIENT_ID"
CLIENT_SECRET_ENV = "CLIENTARY_MCP_OAUTH_CLIENT_SECRET"
_ALL = (OAUTH_ISSUER_ENV, AUDIENCE_ENV, MAPPING_ENV, ALGORITHMS_ENV, SKEW_ENV, COOLDOWN_ENV, CLIENT_ID_ENV,
        CLIENT_SECRET_ENV)

# Asymmetric signatures only: a shared-secret (HS*) or unsigned (none) token could be forged by anyone
# who holds the issuer's public key set.
ASYMMETRIC = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")
DEFAULT_ALGORITHMS = ("RS256", "PS256", "ES256", "EdDSA")


def loopback_host(host: str | None) -> bool:
    name = (host or "").strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def check_url(value: str, label: str, what: str) -> str:
    """https, or http only to a loopback address (an issuer or service on this very machine)."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise ConfigError(f"{label} must be the {what} as an https:// URL without query or fragment "
                          f"(got {value[:80]!r})")
    if parts.scheme == "http" and not loopback_host(parts.hostname):
        raise ConfigError(f"{label} must use https:// (http:// is accepted only for 127.0.0.1, ::1 or localhost; "
                          f"got {value[:80]!r})")
    return value


@dataclass(frozen=True)
class OAuthConfig:
    issuer: str
    public_url: str
    resource: str  # the MCP endpoint's public URL: what Protected Resource Metadata names
    audience: str  # what the token's `aud` must contain
    mapping: str | None = None
    algorithms: tuple[str, ...] = DEFAULT_ALGORITHMS
    clock_skew: float = 30.0
    jwks_cooldown: float = 30.0  # least time between JWKS fetches caused by an unknown key id
    client_id: str | None = None  # for token introspection (RFC 7662)
    client_secret: str | None = field(default=None, repr=False)

    @property
    def endpoint_path(self) -> str:
        return urlsplit(self.resource).path or "/"


def _seconds(env: Mapping[str, str], name: str, default: float, high: float) -> float:
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not 0 <= value <= high:
        raise ConfigError(f"{name} must be a number of seconds from 0 to {high:g} (got {raw[:20]!r})")
    return value


def load_oauth_config(env: Mapping[str, str], *, host: str, port: int, endpoint: str = "/mcp") -> OAuthConfig | None:
    """None when CLIENTARY_MCP_OAUTH_ISSUER is unset (and no other OAuth setting is given)."""
    issuer = (env.get(OAUTH_ISSUER_ENV) or "").strip()
    if not issuer:
        stray = [name for name in _ALL if (env.get(name) or "").strip()]
        if stray:
            raise ConfigError(f"{stray[0]} is set but {OAUTH_ISSUER_ENV} is not; set it to your identity provider's "
                              "issuer URL to accept OAuth access tokens")
        return None
    check_url(issuer, OAUTH_ISSUER_ENV, "identity provider's issuer")

    public = (env.get(PUBLIC_URL_ENV) or "").strip().rstrip("/")
    if not public:
        if not loopback_host(host):
            raise ConfigError(f"{PUBLIC_URL_ENV} must be set with {OAUTH_ISSUER_ENV} on a non-loopback bind: the "
                              "https:// URL clients reach this service at, e.g. https://mcp.example.com")
        public = f"http://{host if ':' not in host else f'[{host}]'}:{port}"
    check_url(public, PUBLIC_URL_ENV, "URL clients reach this service at")
    resource = public + endpoint
    # The `aud` the provider puts in tokens: normally the resource itself (RFC 8707); some providers use
    # their own identifier for the API (Entra: the application's client ID), which this names.
    audience = (env.get(AUDIENCE_ENV) or "").strip() or resource
    if any(c.isspace() for c in audience) or len(audience) > 500:
        raise ConfigError(f"{AUDIENCE_ENV} must be the audience (aud) your provider puts in access tokens for this "
                          f"service, without spaces (default: {resource})")

    raw_algs = [a.strip() for a in (env.get(ALGORITHMS_ENV) or "").split(",") if a.strip()]
    bad = [a for a in raw_algs if a not in ASYMMETRIC]
    if bad:
        raise ConfigError(f"{ALGORITHMS_ENV}: {bad[0]!r} is not allowed; use asymmetric algorithms only, from "
                          f"{', '.join(ASYMMETRIC)} (never none or HS*)")

    client_id = (env.get(CLIENT_ID_ENV) or "").strip() or None
    secret = (env.get(CLIENT_SECRET_ENV) or "").strip() or None
    if bool(client_id) != bool(secret):
        raise ConfigError(f"set both {CLIENT_ID_ENV} and {CLIENT_SECRET_ENV} (the resource server's own client at "
                          "the identity provider, for token introspection), or neither")
    return OAuthConfig(
        issuer=issuer,
        public_url=public,
        resource=resource,
        audience=audience,
        mapping=(env.get(MAPPING_ENV) or "").strip() or None,
        algorithms=tuple(raw_algs) or DEFAULT_ALGORITHMS,
        clock_skew=_seconds(env, SKEW_ENV, 30.0, 300.0),
        jwks_cooldown=_seconds(env, COOLDOWN_ENV, 30.0, 3600.0),
        client_id=client_id,
        client_secret=secret,
    )
