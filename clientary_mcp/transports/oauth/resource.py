"""The resource server as the HTTP service sees it: who a bearer token is, what it may do, and the metadata.

`ResourceServer.authenticate` turns a token into a principal of the network server (a name for the audit
and a service with the account and the policy its claims and scopes give), or into the 401/403/503 to
send. Principals are the same kind the principals file makes, so policies, rate limits, confirmation
tokens and session ownership work unchanged; a principal's name is the token's subject (and email).
"""

from __future__ import annotations

import json
import logging
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import httpx
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken
from mcp.server.auth.routes import build_resource_metadata_url, create_protected_resource_routes
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from ...app import build_service, sandbox_settings
from ...config import ConfigError, Settings
from ...options import ServerOptions
from ...safety.audit import AuditLog
from ...service import ToolService
from ...tools import REGISTRY
from ..ratelimit import GuardedService, RateLimit
from .config import OAuthConfig, load_oauth_config
from .keys import IssuerKeys, Unavailable
from .mapping import AccountMapping, AccountRule, identity, load_mapping
from .scopes import ALL_SCOPES, ScopedPolicy, scope_for, scopes_used
from .verify import Rejected, TokenChecker

log = logging.getLogger("clientary_mcp.transports.oauth")

_BY_NAME = {spec.name: spec for spec in REGISTRY}
_PRINCIPALS = 4096  # principals remembered (LRU); one is rebuilt from its next token when evicted
MakePrincipal = Callable[[str, GuardedService, AuthenticatedUser], Any]
Guard = Callable[[ToolService, RateLimit | None], GuardedService]  # the network server's gate and rate limits


class TokenUser(AuthenticatedUser):
    """The SDK's authenticated user (sessions are bound to its client, issuer and subject), with its policy."""

    def __init__(self, access: AccessToken, policy: ScopedPolicy):
        super().__init__(access)
        self.policy = policy


@dataclass(frozen=True)
class OAuthPlan:
    """What start-up checks before building anything: the settings and the mapping file."""

    config: OAuthConfig
    mapping: AccountMapping | None

    @property
    def needs_server_account(self) -> bool:
        return self.mapping is None or any(not rule.spec.own_account for rule in self.mapping.rules)


def plan_oauth(env: Mapping[str, str], *, host: str, port: int, transport: str) -> OAuthPlan | None:
    config = load_oauth_config(env, host=host, port=port, endpoint="/mcp" if transport == "http" else "/sse")
    if config is None:
        return None
    return OAuthPlan(config, load_mapping(config.mapping) if config.mapping else None)


def _quoted(value: str) -> str:
    return '"' + value.replace("\\", "").replace('"', "'") + '"'


def _account_label(rule: AccountRule | None) -> str:
    return rule.name if rule is not None else "the server's account"


class ResourceServer:
    def __init__(self, plan: OAuthPlan, options: ServerOptions, accounts: dict[str | None, tuple[Settings, bool, Any]],
                 audit: AuditLog, guard: Guard, rate_limit: RateLimit | None, make_principal: MakePrincipal,
                 http: httpx.AsyncClient | None = None):
        self.config = plan.config
        self.mapping = plan.mapping
        self.options = options
        self.accounts = accounts
        self.audit = audit
        self.guard_service = guard
        self.rate_limit = rate_limit
        self.make_principal = make_principal
        self.http = http or httpx.AsyncClient(timeout=httpx.Timeout(10.0, connect=5.0), follow_redirects=False)
        self.keys = IssuerKeys(self.config, self.http)
        self.checker = TokenChecker(self.config, self.keys, self.http)
        self.scopes = scopes_used(options.policy)
        self.metadata_url = str(build_resource_metadata_url(self.config.resource))  # type: ignore[arg-type]
        local_path = "/.well-known/oauth-protected-resource"
        self.open_paths = frozenset({local_path, local_path + self.config.endpoint_path,
                                     httpx.URL(self.metadata_url).path})
        self._services: dict[tuple[str | None, frozenset[str]], ToolService] = {}
        self._principals: OrderedDict[tuple[Any, ...], Any] = OrderedDict()

    # -- metadata ------------------------------------------------------------------------------

    def routes(self) -> list[Route]:
        """RFC 9728 metadata at every path a client may derive from the resource URL."""
        [route] = create_protected_resource_routes(
            resource_url=self.config.resource,  # type: ignore[arg-type]  # a str keeps the exact spelling
            authorization_servers=[self.config.issuer],  # type: ignore[list-item]
            scopes_supported=self.scopes,
            resource_name="Clientary",
        )
        return [Route(path, endpoint=route.endpoint, methods=["GET", "OPTIONS"]) for path in sorted(self.open_paths)]

    def describe(self) -> str:
        who = (f"{len(self.mapping.rules)} mapped account(s)" if self.mapping is not None
               else "the server's account")
        return f"OAuth access tokens from {self.config.issuer} for {self.config.resource} ({who})"

    # -- refusals ------------------------------------------------------------------------------

    def challenge(self, status: int, error: str | None, description: str,
                  scopes: list[str] | None = None) -> Response:
        """401/403 with `WWW-Authenticate: Bearer` as RFC 6750 and RFC 9728 §5.1 describe it."""
        parts = [f"error={_quoted(error)}"] if error else []
        if error:
            parts.append(f"error_description={_quoted(description)}")
        parts.append(f"resource_metadata={_quoted(self.metadata_url)}")
        parts.append(f"scope={_quoted(' '.join(scopes if scopes is not None else self.scopes))}")
        body = {"error": error or "unauthorized", "error_description": description}
        return JSONResponse(body, status_code=status,
                            headers={"WWW-Authenticate": "Bearer " + ", ".join(parts)})

    # -- authentication ------------------------------------------------------------------------

    async def authenticate(self, token: str, client: str = "?") -> Any:
        """The principal for a bearer token (empty: none was sent), or the Response that refuses it."""
        if not token:
            return self.challenge(401, None, "An OAuth access token is required (Authorization: Bearer <token>); "
                                  "its metadata names the authorization server.")
        try:
            access = await self.checker.check(token)
        except Rejected as exc:
            log.warning("refused a request from %s: %s", client, exc)
            return self.challenge(401, "invalid_token", str(exc) + ".")
        except Unavailable as exc:
            log.warning("cannot check an access token from %s: %s", client, exc)
            return JSONResponse({"error": "temporarily_unavailable",
                                 "error_description": "The identity provider cannot be reached to check the access "
                                                      "token; retry shortly."},
                                status_code=503, headers={"Retry-After": "5"})
        claims = access.claims or {}
        rule = None
        if self.mapping is not None:
            sub, email, _ = self.mapping.identity(claims)
            rule = self.mapping.match(claims)
            if rule is None:
                log.warning("refused a request from %s: subject %r is not in the mapping file", client, sub[:80])
                return JSONResponse({"error": "access_denied",
                                     "error_description": f"Signed in as {email or sub}, but no account of this "
                                                          "service is mapped to that user; ask its operator."},
                                    status_code=403)
        else:
            sub, email, _ = identity(claims)
        granted = frozenset(access.scopes) & set(ALL_SCOPES)
        if not granted & set(self.scopes):
            return self.challenge(403, "insufficient_scope", "The access token grants none of the scopes this "
                                  f"service uses ({' '.join(self.scopes)}).")
        name = f"{sub} <{email}>" if email else sub
        return self._principal(rule, access, granted, name)

    def _principal(self, rule: AccountRule | None, access: AccessToken, granted: frozenset[str], name: str) -> Any:
        key = (rule.name if rule else None, access.client_id, access.subject, granted, name)
        principal = self._principals.get(key)
        if principal is not None:
            self._principals.move_to_end(key)
            return principal
        service = self._service(rule, granted)
        limit = self.rate_limit
        if rule is not None and rule.spec.rate_limit != "inherit":
            limit = rule.spec.rate_limit  # type: ignore[assignment]
        # The user remembers only the token's fingerprint; sessions compare its client, issuer and subject.
        user = TokenUser(access, service.policy)  # type: ignore[arg-type]
        principal = self.make_principal(name, self.guard_service(service, limit), user)
        self._principals[key] = principal
        while len(self._principals) > _PRINCIPALS:
            self._principals.popitem(last=False)
        return principal

    def _service(self, rule: AccountRule | None, granted: frozenset[str]) -> ToolService:
        key = (rule.name if rule else None, granted)
        if key not in self._services:
            inner = rule.spec.effective_policy(self.options.policy) if rule is not None else self.options.policy
            opts = replace(self.options, policy=ScopedPolicy(inner=inner, granted=granted))
            settings, sandbox, app = self.accounts[rule.name if rule else None]
            self._services[key] = build_service(opts, settings, sandbox=sandbox, sandbox_app=app, audit=self.audit)
        return self._services[key]

    # -- the scope a request needs, on the HTTP layer ---------------------------------------------

    def guard(self, app: ASGIApp, max_body: int) -> ASGIApp:
        """Answers a tools/call for a tool outside the token's scopes with 403 insufficient_scope (step-up)."""
        return _ScopeGuard(self, app, max_body)

    @staticmethod
    def needed_scope(body: bytes, policy: ScopedPolicy) -> str | None:
        """The scope a tools/call body needs and the token lacks, or None."""
        try:
            message = json.loads(body)
        except ValueError:
            return None  # the transport answers the parse error
        if not isinstance(message, dict) or message.get("method") != "tools/call":
            return None
        params = message.get("params")
        spec = _BY_NAME.get(params.get("name")) if isinstance(params, dict) and isinstance(params.get("name"), str) \
            else None
        # Only when the scope is all that is missing: a tool the operator disabled gets its tool error instead.
        if spec is None or not policy.inner.allows(spec) or not policy.lacks(spec):
            return None
        return scope_for(spec)

    async def aclose(self) -> None:
        for service in self._services.values():
            try:
                await service.api.aclose()
            except Exception:  # noqa: BLE001 - closing at shutdown; nothing to do about it
                log.debug("closing an account client failed", exc_info=True)
        await self.http.aclose()


class _ScopeGuard:
    """An ASGI app (not a function, so Starlette routes to it as such) in front of the MCP endpoint."""

    def __init__(self, server: ResourceServer, app: ASGIApp, max_body: int):
        self.server, self.app, self.max_body = server, app, max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        user = scope.get("user")
        if scope.get("method") != "POST" or not isinstance(user, TokenUser):
            await self.app(scope, receive, send)
            return
        messages: list[Any] = []
        size, more = 0, True
        while more and size <= self.max_body:  # beyond the limit the transport answers 413
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            size += len(message.get("body", b""))
            more = bool(message.get("more_body"))

        async def replay() -> Any:
            return messages.pop(0) if messages else await receive()

        if not more:
            body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.request")
            needed = self.server.needed_scope(body, user.policy)
            if needed:
                held = [s for s in ALL_SCOPES if s in user.policy.granted or s == needed]
                refusal = self.server.challenge(403, "insufficient_scope", f"This call needs the scope {needed}, "
                                                "which the access token was not granted.", held)
                await refusal(scope, replay, send)
                return
        await self.app(scope, replay, send)


def build_resource_server(plan: OAuthPlan, options: ServerOptions, env: Mapping[str, str], audit: AuditLog,
                          guard: Guard, rate_limit: RateLimit | None, make_principal: MakePrincipal,
                          server_account: tuple[Settings, bool] | None, shared_sandbox: Any) -> ResourceServer:
    """Resolve every account now (raising ConfigError for a missing token variable) and build the server."""
    from ...sandbox import create_app

    accounts: dict[str | None, tuple[Settings, bool, Any]] = {}
    if server_account is not None:
        accounts[None] = (server_account[0], server_account[1], shared_sandbox)
    for rule in plan.mapping.rules if plan.mapping is not None else ():
        spec = rule.spec
        if spec.sandbox:
            settings = sandbox_settings()
            accounts[rule.name] = (settings, True, create_app(token=settings.api_token))  # its own demo data
        elif spec.own_account:
            try:
                accounts[rule.name] = (spec.settings(env), False, None)
            except ConfigError as exc:
                raise ConfigError(f"mapping file {plan.config.mapping}: {exc}") from None
        else:
            assert server_account is not None
            accounts[rule.name] = accounts[None]
    return ResourceServer(plan, options, accounts, audit, guard, rate_limit, make_principal)
