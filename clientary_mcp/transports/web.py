"""The network server: MCP over Streamable HTTP (`/mcp`) or HTTP+SSE (`/sse` + `/messages/`).

Every principal gets its own ToolService (account, policy) built like stdio's, all writing to one shared
audit log. In front of the SDK's transports sits one ASGI layer that checks Host/Origin and the bearer
token, and tells the MCP handlers who is calling. SIGTERM stops new calls, lets the ones in flight finish
(within a bound), then stops uvicorn and only afterwards closes the audit log.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import os
import re
import sys
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

import uvicorn
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken
from mcp.server.sse import SseServerTransport
from mcp.server.streamable_http_manager import StreamableHTTPASGIApp, StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from .. import __version__
from ..app import account_settings, build_service, sandbox_settings
from ..safety.audit import AuditLog
from ..config import ConfigError, Settings
from ..options import ServerOptions, load_options
from .oauth import ResourceServer, build_resource_server, plan_oauth
from .principals import PRINCIPALS_ENV, Directory, load_principals
from .ratelimit import Gate, GuardedService, RateLimit
from ..server import build_server

log = logging.getLogger("clientary_mcp.transports.web")

PRINCIPAL_KEY = "clientary_mcp.principal"  # ASGI scope key the resolver reads
OPEN_PATHS = frozenset({"/healthz", "/readyz"})  # no auth, no Host check: probes use whatever address works
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")
LOOPBACK_ORIGINS = tuple(f"{scheme}://{h}:*" for scheme in ("http", "https") for h in LOOPBACK_HOSTS)
_TRUE = {"1", "true", "yes", "on"}
_SIZE = re.compile(r"^(\d+)\s*(k|kb|kib|m|mb|mib)?$")


# ---------------------------------------------------------------------------------------------
# Options


@dataclass(frozen=True)
class WebOptions:
    transport: str = "http"
    host: str = "127.0.0.1"
    port: int = 8000
    principals: str | None = None
    allowed_hosts: tuple[str, ...] = LOOPBACK_HOSTS
    allowed_origins: tuple[str, ...] = LOOPBACK_ORIGINS
    max_body: int = 1024 * 1024
    rate_limit: RateLimit | None = None
    stateless: bool = False
    shutdown_timeout: float = 7.0
    sse_ping: float = 15.0


def is_loopback(host: str) -> bool:
    if host.strip("[]").lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _list(value: str | None) -> tuple[str, ...]:
    return tuple(v.strip() for v in (value or "").split(",") if v.strip())


def _number(raw: str, label: str, low: float, high: float) -> float:
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not low <= value <= high:
        raise ConfigError(f"{label} must be a number from {low:g} to {high:g} (got {raw[:20]!r})")
    return value


def load_web_options(args: Any, env: Mapping[str, str]) -> WebOptions:
    def pick(attr: str, var: str) -> str | None:
        value = getattr(args, attr, None)
        return str(value) if value is not None else (env.get(var) or None)

    host = pick("host", "CLIENTARY_MCP_HOST") or "127.0.0.1"
    port = int(_number(pick("port", "CLIENTARY_MCP_PORT") or "8000", "--port / CLIENTARY_MCP_PORT", 1, 65535))
    hosts = _list(pick("allowed_hosts", "CLIENTARY_MCP_ALLOWED_HOSTS"))
    origins = _list(pick("allowed_origins", "CLIENTARY_MCP_ALLOWED_ORIGINS"))
    if not hosts:
        # Off a loopback bind the public name is unknown; the bearer token is what protects the server there.
        hosts = LOOPBACK_HOSTS if is_loopback(host) else ("*",)

    raw_size = (pick("max_body", "CLIENTARY_MCP_MAX_BODY") or "1MiB").strip().lower()
    size = _SIZE.match(raw_size)
    factor = {None: 1, "k": 1024, "kb": 1024, "kib": 1024, "m": 1 << 20, "mb": 1 << 20, "mib": 1 << 20}
    max_body = int(size.group(1)) * factor[size.group(2)] if size else 0
    if not 1024 <= max_body <= 64 << 20:
        raise ConfigError(f"--max-body / CLIENTARY_MCP_MAX_BODY must be a size from 1KiB to 64MiB, e.g. 1048576 "
                          f"or 1MiB (got {raw_size[:20]!r})")

    stateless = bool(getattr(args, "stateless", False)) or env.get("CLIENTARY_MCP_STATELESS", "").lower() in _TRUE
    return WebOptions(
        transport=getattr(args, "transport", None) or "http",
        host=host,
        port=port,
        principals=pick("principals", PRINCIPALS_ENV),
        allowed_hosts=hosts,
        allowed_origins=origins or LOOPBACK_ORIGINS,
        max_body=max_body,
        rate_limit=RateLimit.parse(pick("rate_limit", "CLIENTARY_MCP_RATE_LIMIT"),
                                   "--rate-limit / CLIENTARY_MCP_RATE_LIMIT"),
        stateless=stateless,
        shutdown_timeout=_number(pick("shutdown_timeout", "CLIENTARY_MCP_SHUTDOWN_TIMEOUT") or "7",
                                 "--shutdown-timeout / CLIENTARY_MCP_SHUTDOWN_TIMEOUT", 0, 3600),
        sse_ping=_number(env.get("CLIENTARY_MCP_SSE_PING") or "15", "CLIENTARY_MCP_SSE_PING", 0.1, 300),
    )


# ---------------------------------------------------------------------------------------------
# Principals at run time


@dataclass
class Principal:
    name: str
    service: GuardedService
    user: AuthenticatedUser | None = None  # lets the SDK bind sessions to the principal that opened them


class Deployment:
    """Everything built at start: the principals with their services, the shared audit log, the gate."""

    def __init__(self, principals: list[Principal], directory: Directory | None, audit: AuditLog, gate: Gate,
                 local: Principal | None = None, oauth: ResourceServer | None = None, catalog: str = "full"):
        self.principals = principals
        self.catalog = catalog  # "full" or "compact" (ServerOptions.catalog)
        self.directory = directory
        self.audit = audit
        self.gate = gate
        self.local = local  # the one principal when there is neither a principals file nor OAuth
        self.oauth = oauth  # principals from OAuth access tokens, made as tokens arrive

    def resolve(self, ctx: Any) -> tuple[GuardedService, str]:
        request = getattr(ctx, "request", None)
        principal = request.scope.get(PRINCIPAL_KEY) if isinstance(request, Request) else None
        if principal is None:  # every HTTP request passes the auth layer first; this is a wiring bug
            raise RuntimeError("request reached the MCP handlers without a principal")
        return principal.service, principal.name

    def ready(self) -> tuple[bool, str]:
        if self.gate.closing:
            return False, "shutting down"
        path = self.audit.path
        if path is not None and not (os.access(path, os.W_OK) or not path.exists() and os.access(path.parent, os.W_OK)):
            return False, "audit log is not writable"
        if not self.audit.probe():  # after a failed write: ready again once a record can be written
            return False, "audit log cannot be written"
        return True, "ready"

    async def close(self, timeout: float = 3.0) -> None:
        # Calls cut off by cancellation write their record as they unwind; give them a moment.
        await self.gate.wait_idle(timeout)
        for principal in self.principals:
            with contextlib.suppress(Exception):
                await principal.service.api.aclose()
        if self.oauth is not None:
            await self.oauth.aclose()
        self.audit.close()


def build_deployment(args: Any, options: ServerOptions, web: WebOptions,
                     env: Mapping[str, str] | None = None) -> Deployment:
    """Validate and build everything; raises ConfigError (one line) before anything listens."""
    env = os.environ if env is None else env
    oauth = plan_oauth(env, host=web.host, port=web.port, transport=web.transport)
    if not web.principals and oauth is None and not is_loopback(web.host):
        raise ConfigError(f"--host {web.host} is not a loopback address, so callers must authenticate: set "
                          f"{PRINCIPALS_ENV} (or --principals) to a principals file; create one with "
                          "`clientary-mcp principals add NAME`; or accept OAuth access tokens (docs/oauth.md)")
    specs = load_principals(web.principals) if web.principals else None
    gate = Gate()

    # The server's own account: for the local principal, and for principals without one of their own.
    server_account: tuple[Settings, bool] | None = None
    if (specs is None and oauth is None or any(not s.own_account for s in specs or [])
            or oauth is not None and oauth.needs_server_account):
        server_account = account_settings(bool(getattr(args, "sandbox", False)), env)
    own: dict[str, Settings] = {s.name: s.settings(env) for s in specs or [] if s.own_account and not s.sandbox}

    scrub = [s.api_token for s in own.values()]
    if server_account is not None:
        scrub.append(server_account[0].api_token)
    if oauth is not None and oauth.config.client_secret:
        scrub.append(oauth.config.client_secret)
    audit = AuditLog.from_options(options, scrub=tuple(scrub))

    shared_sandbox = None
    if server_account is not None and server_account[1]:
        from ..sandbox import create_app

        shared_sandbox = create_app(token=server_account[0].api_token)  # one demo account for all who share it

    def service_for(opts: ServerOptions, settings: Settings, sandbox: bool, app: Any, limit: RateLimit | None):
        service = build_service(opts, settings, sandbox=sandbox, sandbox_app=app, audit=audit)
        return GuardedService(service, gate, limit)

    resource = None if oauth is None else build_resource_server(
        oauth, options, env, audit, lambda service, limit: GuardedService(service, gate, limit), web.rate_limit,
        Principal, server_account, shared_sandbox)
    if specs is None and resource is not None:
        return Deployment([], None, audit, gate, oauth=resource, catalog=options.catalog)
    if specs is None:
        assert server_account is not None
        settings, sandbox = server_account
        local = Principal("local", service_for(options, settings, sandbox, shared_sandbox, web.rate_limit))
        return Deployment([local], None, audit, gate, local, catalog=options.catalog)

    principals: list[Principal] = []
    entries: list[tuple[tuple[str, ...], Principal]] = []
    for spec in specs:
        opts = replace(options, policy=spec.effective_policy(options.policy))
        limit = web.rate_limit if spec.rate_limit == "inherit" else spec.rate_limit
        assert not isinstance(limit, str)
        if spec.sandbox:
            service = service_for(opts, sandbox_settings(), True, None, limit)  # a sandbox of its own
        elif spec.own_account:
            service = service_for(opts, own[spec.name], False, None, limit)
        else:
            assert server_account is not None
            service = service_for(opts, server_account[0], server_account[1], shared_sandbox, limit)
        user = AuthenticatedUser(AccessToken(token=spec.token_hashes[0], client_id=spec.name, scopes=[]))
        principal = Principal(spec.name, service, user)
        principals.append(principal)
        entries.append((spec.token_hashes, principal))
    return Deployment(principals, Directory(entries), audit, gate, oauth=resource, catalog=options.catalog)


# ---------------------------------------------------------------------------------------------
# Host/Origin checks and authentication


def _split_host(value: str) -> tuple[str, str | None]:
    value = value.strip().lower()
    if value.startswith("["):
        end = value.find("]")
        name, rest = value[: end + 1], value[end + 1:]
        return name, rest[1:] if rest.startswith(":") else None
    if value.count(":") == 1:
        name, port = value.split(":")
        return name, port
    return value, None


def host_allowed(host: str | None, patterns: tuple[str, ...]) -> bool:
    """`name` and `name:*` allow any port; `name:port` only that one; `*` anything."""
    if "*" in patterns:
        return True
    if not host:
        return False
    name, port = _split_host(host)
    for pattern in patterns:
        p_name, p_port = _split_host(pattern)
        if p_name == name and p_port in (None, "*", port):
            return True
    return False


def origin_allowed(origin: str | None, patterns: tuple[str, ...]) -> bool:
    """No Origin (a non-browser client) is fine; a browser's must be listed (`:*` for any port)."""
    if origin is None or "*" in patterns:
        return True
    origin = origin.strip().lower().rstrip("/")
    for pattern in patterns:
        pattern = pattern.strip().lower().rstrip("/")
        if origin == pattern:
            return True
        if pattern.endswith(":*"):
            base = pattern[:-2]
            if origin == base or origin.startswith(base + ":") and origin[len(base) + 1:].isdigit():
                return True
    return False


def _problem(status: int, error: str, message: str, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse({"error": error, "error_description": message}, status_code=status, headers=headers)


class AccessLayer:
    """Outermost ASGI layer: Host/Origin (DNS rebinding), then the bearer token, then the app."""

    def __init__(self, app: ASGIApp, deployment: Deployment, web: WebOptions):
        self.app = app
        self.deployment = deployment
        self.web = web

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        client = (scope.get("client") or ("?", 0))[0]
        if not host_allowed(headers.get("host"), self.web.allowed_hosts):
            log.warning("refused a request from %s: Host %r is not allowed", client, headers.get("host", "")[:100])
            await _problem(421, "invalid_host", "This Host is not allowed; the operator can add it with "
                           "--allowed-hosts / CLIENTARY_MCP_ALLOWED_HOSTS.")(scope, receive, send)
            return
        if not origin_allowed(headers.get("origin"), self.web.allowed_origins):
            log.warning("refused a request from %s: Origin %r is not allowed", client, headers.get("origin", "")[:100])
            await _problem(403, "invalid_origin", "This Origin is not allowed; the operator can add it with "
                           "--allowed-origins / CLIENTARY_MCP_ALLOWED_ORIGINS.")(scope, receive, send)
            return
        directory, oauth = self.deployment.directory, self.deployment.oauth
        if oauth is not None and scope.get("path") in oauth.open_paths:  # its metadata: no token needed
            await self.app(scope, receive, send)
            return
        if directory is None and oauth is None:
            principal = self.deployment.local
        else:
            auth = headers.get("authorization", "")
            scheme, _, token = auth.partition(" ")
            token = token.strip() if scheme.lower() == "bearer" else ""
            principal = directory.lookup(token) if directory is not None and token else None
            if principal is None and oauth is not None:  # not a principals-file token: maybe an OAuth one
                answer = await oauth.authenticate(token, client)
                if isinstance(answer, Response):
                    await answer(scope, receive, send)
                    return
                principal = answer
            if principal is None:
                challenge = 'Bearer realm="clientary-mcp"' + (', error="invalid_token"' if auth else "")
                log.warning("refused a request from %s to %s: %s", client, scope.get("path"),
                            "unknown bearer token" if auth else "no bearer token")
                await _problem(401, "invalid_token" if auth else "unauthorized",
                               "A valid bearer token is required (Authorization: Bearer <token>).",
                               {"WWW-Authenticate": challenge})(scope, receive, send)
                return
            scope["user"] = principal.user
        scope[PRINCIPAL_KEY] = principal
        if scope.get("method") != "POST":  # GET streams stay open; only requests carrying calls are waited for
            await self.app(scope, receive, send)
            return
        self.deployment.gate.enter("requests")
        try:
            await self.app(scope, receive, send)
        finally:
            self.deployment.gate.leave("requests")


# ---------------------------------------------------------------------------------------------
# The app


class _SseEndpoint:
    """GET /sse: one legacy HTTP+SSE connection, served until the client goes away."""

    def __init__(self, transport: SseServerTransport, server: Any):
        self.transport = transport
        self.server = server

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async with self.transport.connect_sse(scope, receive, send) as (read, write):
            await self.server.run(read, write, self.server.create_initialization_options())


def build_app(deployment: Deployment, web: WebOptions) -> ASGIApp:
    server = build_server(deployment.resolve, transport=web.transport, catalog=deployment.catalog)
    # Host/Origin are checked by AccessLayer (port-agnostic names, one place for both transports).
    security = TransportSecuritySettings(enable_dns_rebinding_protection=False)

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok", "version": __version__})

    async def readyz(request: Request) -> Response:
        ok, why = deployment.ready()
        return JSONResponse({"status": why, "calls_in_flight": deployment.gate.calls}, status_code=200 if ok else 503)

    routes: list[Any] = [Route("/healthz", healthz), Route("/readyz", readyz)]
    oauth = deployment.oauth

    if oauth is not None:
        routes += oauth.routes()
    running: Any = contextlib.nullcontext
    if web.transport == "http":
        manager = StreamableHTTPSessionManager(app=server, stateless=web.stateless, security_settings=security,
                                               max_request_body_size=web.max_body)
        endpoint: ASGIApp = StreamableHTTPASGIApp(manager)
        if oauth is not None:  # a call outside the token's scopes gets 403 insufficient_scope (step-up)
            endpoint = oauth.guard(endpoint, web.max_body)
        routes.append(Route("/mcp", endpoint=endpoint))
        running = manager.run
    else:
        sse = SseServerTransport("/messages/", security_settings=security, max_request_body_size=web.max_body)
        routes += [Route("/sse", endpoint=_SseEndpoint(sse, server), methods=["GET"]),
                   Mount("/messages/", app=sse.handle_post_message)]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            async with running():
                yield
        finally:
            await deployment.close()  # after the transports stopped: no record can come after this

    return AccessLayer(Starlette(routes=routes, lifespan=lifespan), deployment, web)


# ---------------------------------------------------------------------------------------------
# Serving


class DrainingServer(uvicorn.Server):
    """uvicorn, except that the first SIGTERM/SIGINT drains tool calls before the usual shutdown."""

    def __init__(self, config: uvicorn.Config, gate: Gate, drain_timeout: float):
        super().__init__(config)
        self.gate = gate
        self.drain_timeout = drain_timeout
        self.drain_deadline: float | None = None
        self._announced = False

    def handle_exit(self, sig: int, frame: Any) -> None:
        if self.drain_deadline is not None:  # a second signal: stop waiting
            super().handle_exit(sig, frame)
            return
        # Runs in a signal handler: only set flags here; on_tick does the rest.
        self._captured_signals.append(sig)  # uvicorn raises it again once stopped, for the exit status
        self.gate.closing = True
        self.drain_deadline = time.monotonic() + self.drain_timeout

    async def on_tick(self, counter: int) -> bool:
        if self.drain_deadline is not None and not self.should_exit:
            if not self._announced:
                self._announced = True
                log.info("stopping: %d tool call(s) in flight, waiting up to %g s; new calls are refused",
                         self.gate.calls, self.drain_timeout)
            # A short quiet spell lets answers that are written after a call returns (SSE) reach the client.
            if self.gate.quiet_for() >= 0.2 or time.monotonic() >= self.drain_deadline:
                if self.gate.calls:
                    log.warning("stopping with %d tool call(s) still running (shutdown timeout)", self.gate.calls)
                self.should_exit = True
        return await super().on_tick(counter)


def _describe(deployment: Deployment, web: WebOptions, options: ServerOptions) -> str:
    where = f"http://{web.host}:{web.port}" if ":" not in web.host else f"http://[{web.host}]:{web.port}"
    what = (f"Streamable HTTP at {where}/mcp" + (" (stateless)" if web.stateless else "")
            if web.transport == "http" else f"HTTP+SSE at {where}/sse")
    if deployment.local is not None:
        who = f"the local principal, no authentication ({deployment.principals[0].service.policy.describe()})"
    else:
        who = " and ".join(([f"{len(deployment.principals)} principal(s) with bearer tokens"] if deployment.directory
                            else []) + ([deployment.oauth.describe()] if deployment.oauth else []))
    limit = f"; rate limit {web.rate_limit.describe()} per principal" if web.rate_limit else ""
    return f"clientary-mcp: serving MCP over {what} for {who}{limit}; audit log: {options.audit_log}"


def _configure_logging() -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s:     %(name)s: %(message)s"))
    ours = logging.getLogger("clientary_mcp")
    if not ours.handlers:
        ours.addHandler(handler)
        ours.setLevel(logging.INFO)
        ours.propagate = False


def serve_http(args: Any) -> int:
    options = load_options(args)
    web = load_web_options(args, os.environ)
    deployment = build_deployment(args, options, web)
    app = build_app(deployment, web)
    _configure_logging()
    # Keep-alive comments on idle SSE streams, so proxies do not cut them (the SDK uses this default).
    from sse_starlette import EventSourceResponse

    EventSourceResponse.DEFAULT_PING_INTERVAL = web.sse_ping  # type: ignore[assignment]
    print(_describe(deployment, web, options), file=sys.stderr, flush=True)
    if deployment.audit.recovered:
        print(f"clientary-mcp: audit log: {deployment.audit.recovered}", file=sys.stderr)
    # Once calls have drained, connections close within moments; 2 s more bounds a stuck one, so the
    # default 7 s + 2 s stays inside `docker stop`'s 10 s.
    config = uvicorn.Config(app, host=web.host, port=web.port, log_level="info", lifespan="on",
                            server_header=False, timeout_graceful_shutdown=2)
    server = DrainingServer(config, deployment.gate, web.shutdown_timeout)
    server.run()
    return 0


__all__ = ["WebOptions", "build_app", "build_deployment", "load_web_options", "serve_http"]
