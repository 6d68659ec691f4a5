"""The network server: MCP over Streamable HTTP (`/mcp`) or HTTP+SSE (`/sse` + `/messages/`).

Every principal gets its own ToolService (account, policy) built like stdio's, all writing to one shared
audit log. In front of the SDK's transports sits one ASGI layer that refuses every scope but plain
HTTP, checks Host/Origin and the bearer token, reads the body within a deadline, applies the principal's
caps (sessions, streams, requests in flight), tells the MCP handlers who is calling, and writes one access
log line per request. Rate limits and caps live in the state store, shared by replicas on Redis.
SIGTERM stops new calls, lets the ones in flight finish (within a bound), then stops uvicorn and only
afterwards closes the audit log; SIGHUP reloads the principals file.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import os
import re
import signal
import sys
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

import anyio
import uvicorn
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken
from mcp.server.sse import SseServerTransport
from mcp.server.streamable_http_manager import StreamableHTTPASGIApp, StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS
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
from ..server import build_server
from ..state import StateStore, StoreUnavailable, open_store
from .caps import CapFull, Caps, Limiter
from .connections import protocol_with
from .principals import PRINCIPALS_ENV, Directory, PrincipalSpec, load_principals
from .ratelimit import Gate, GuardedService, RateLimit

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
    caps: Caps = Caps()
    max_connections: int = 500  # uvicorn's limit_concurrency: past it, requests get 503 at once
    header_timeout: float = 10.0  # seconds for a request's headers (connections.HeaderDeadline)
    body_timeout: float = 30.0  # seconds for a request's whole body
    keep_alive: float = 5.0  # seconds an idle connection stays open between requests


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

    def cap(attr: str, var: str, default: int) -> int:
        raw = pick(attr, var)
        flag = "--" + attr.replace("_", "-")
        return int(_number(raw, f"{flag} / {var}", 1, 100_000)) if raw else default

    def seconds(var: str, default: float, low: float = 0.1, high: float = 3600) -> float:
        raw = env.get(var)
        return _number(raw, var, low, high) if raw else default

    idle = pick("session_idle", "CLIENTARY_MCP_SESSION_IDLE")
    caps = Caps(sessions=cap("max_sessions", "CLIENTARY_MCP_MAX_SESSIONS", Caps.sessions),
                streams=cap("max_streams", "CLIENTARY_MCP_MAX_STREAMS", Caps.streams),
                calls=cap("max_calls", "CLIENTARY_MCP_MAX_CALLS", Caps.calls),
                session_idle=_number(idle, "--session-idle / CLIENTARY_MCP_SESSION_IDLE", 1, 86400)
                if idle else Caps.session_idle)
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
        caps=caps,
        max_connections=int(seconds("CLIENTARY_MCP_MAX_CONNECTIONS", 500, 1, 100_000)),
        header_timeout=seconds("CLIENTARY_MCP_HEADER_TIMEOUT", 10.0),
        body_timeout=seconds("CLIENTARY_MCP_BODY_TIMEOUT", 30.0),
        keep_alive=seconds("CLIENTARY_MCP_KEEP_ALIVE", 5.0, 1, 300),
    )


# ---------------------------------------------------------------------------------------------
# Principals at run time


@dataclass
class Principal:
    name: str
    service: GuardedService
    user: AuthenticatedUser | None = None  # lets the SDK bind sessions to the principal that opened them
    spec: PrincipalSpec | None = None  # None for the local principal


class _Builder:
    """Builds each principal's service; kept so that a reload (SIGHUP) builds new principals the same way."""

    def __init__(self, args: Any, options: ServerOptions, web: WebOptions, env: Mapping[str, str],
                 audit: AuditLog, gate: Gate, store: StateStore):
        self.args, self.options, self.web, self.env = args, options, web, env
        self.audit, self.gate, self.store = audit, gate, store
        self._server_account: tuple[Settings, bool] | None = None
        self._shared_sandbox: Any = None

    def server_account(self) -> tuple[Settings, bool]:
        """The server's own account: for the local principal, and for principals without one of their own."""
        if self._server_account is None:
            self.use_server_account(account_settings(bool(getattr(self.args, "sandbox", False)), self.env))
        assert self._server_account is not None
        return self._server_account

    def use_server_account(self, account: tuple[Settings, bool]) -> Any:
        """Adopt the server's account (already read) and return the demo account all who share it use."""
        self._server_account = account
        if account[1] and self._shared_sandbox is None:
            from ..sandbox import create_app

            self._shared_sandbox = create_app(token=account[0].api_token)
        return self._shared_sandbox

    def service(self, opts: ServerOptions, settings: Settings, sandbox: bool, app: Any,
                limit: RateLimit | None) -> GuardedService:
        service = build_service(opts, settings, sandbox=sandbox, sandbox_app=app, audit=self.audit, store=self.store)
        return GuardedService(service, self.gate, limit, self.store)

    def local(self) -> Principal:
        settings, sandbox = self.server_account()
        return Principal("local", self.service(self.options, settings, sandbox, self._shared_sandbox,
                                               self.web.rate_limit))

    def own_settings(self, specs: list[PrincipalSpec]) -> dict[str, Settings]:
        """Settings of principals with an account of their own; raises ConfigError before anything is built."""
        own = {s.name: s.settings(self.env) for s in specs if s.own_account and not s.sandbox}
        if any(not s.own_account for s in specs):
            self.server_account()
        return own

    def principal(self, spec: PrincipalSpec, own: dict[str, Settings]) -> Principal:
        opts = replace(self.options, policy=spec.effective_policy(self.options.policy))
        limit = self.web.rate_limit if spec.rate_limit == "inherit" else spec.rate_limit
        assert not isinstance(limit, str)
        if spec.sandbox:
            service = self.service(opts, sandbox_settings(), True, None, limit)  # a sandbox of its own
        elif spec.own_account:
            service = self.service(opts, own[spec.name], False, None, limit)
        else:
            settings, sandbox = self.server_account()
            service = self.service(opts, settings, sandbox, self._shared_sandbox, limit)
        user = AuthenticatedUser(AccessToken(token=spec.token_hashes[0], client_id=spec.name, scopes=[]))
        return Principal(spec.name, service, user, spec)


class Deployment:
    """Everything built at start: the principals with their services, the shared audit log, the gate,
    the state store and the caps kept in it."""

    def __init__(self, principals: list[Principal], directory: Directory | None, audit: AuditLog, gate: Gate,
                 local: Principal | None = None, oauth: ResourceServer | None = None,
                 options: ServerOptions | None = None,
                 store: StateStore | None = None, caps: Caps = Caps(), builder: _Builder | None = None,
                 principals_file: str | None = None):
        from ..state.memory import MemoryStore

        self.principals = principals
        self.catalog = options.catalog if options else "full"  # or "compact"
        # Token mode never sends the client a request, so a POST can be answered with plain JSON
        # instead of an SSE stream (cheaper for both ends); elicit mode may need the stream to ask.
        self.json_answers = options is not None and options.confirm_mode == "token"
        self.directory = directory
        self.audit = audit
        self.gate = gate
        self.local = local  # the one principal when there is neither a principals file nor OAuth
        self.oauth = oauth  # principals from OAuth access tokens, made as tokens arrive
        self.store: StateStore = store if store is not None else MemoryStore()
        self.limiter = Limiter(self.store, caps)
        self.sessions: dict[str, tuple[str, str]] = {}  # Mcp-Session-Id -> (principal, member in the store)
        self._builder = builder
        self._principals_file = principals_file
        self._retired: list[Principal] = []

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

    async def store_state(self) -> dict[str, Any]:
        try:
            await self.store.check()
        except StoreUnavailable as exc:
            return {"name": self.store.name, "ok": False, "detail": str(exc),
                    "refused": "gated tools and rate-limited calls (caps are counted per replica meanwhile)"}
        return {"name": self.store.name, "ok": True}

    def reload(self) -> bool:
        """Read the principals file again (SIGHUP); on any problem keep the principals as they are."""
        if self._principals_file is None or self._builder is None:
            log.warning("SIGHUP: no principals file to reload (the local principal needs no reload)")
            return False
        try:
            specs = load_principals(self._principals_file)
            own = self._builder.own_settings(specs)
        except ConfigError as exc:
            log.warning("SIGHUP: kept the previous principals; the file was not loaded: %s", exc)
            return False
        current = {p.name: p for p in self.principals}
        principals: list[Principal] = []
        for spec in specs:
            old = current.get(spec.name)
            principals.append(old if old is not None and old.spec == spec else self._builder.principal(spec, own))
        kept = {id(p) for p in principals}
        self._retired += [p for p in self.principals if id(p) not in kept]
        self.principals = principals
        self.directory = Directory([(p.spec.token_hashes, p) for p in principals if p.spec is not None])
        log.info("SIGHUP: reloaded %s: %d principal(s)", self._principals_file, len(principals))
        return True

    async def close(self, timeout: float = 3.0) -> None:
        # Calls cut off by cancellation write their record as they unwind; give them a moment.
        await self.gate.wait_idle(timeout)
        for principal in self.principals + self._retired:
            with contextlib.suppress(Exception):
                await principal.service.api.aclose()
        if self.oauth is not None:
            await self.oauth.aclose()
        with contextlib.suppress(Exception):
            await self.store.aclose()
        self.audit.close()


def build_deployment(args: Any, options: ServerOptions, web: WebOptions,
                     env: Mapping[str, str] | None = None, store: StateStore | None = None) -> Deployment:
    """Validate and build everything; raises ConfigError (one line) before anything listens."""
    env = os.environ if env is None else env
    oauth = plan_oauth(env, host=web.host, port=web.port, transport=web.transport)
    if not web.principals and oauth is None and not is_loopback(web.host):
        raise ConfigError(f"--host {web.host} is not a loopback address, so callers must authenticate: set "
                          f"{PRINCIPALS_ENV} (or --principals) to a principals file; create one with "
                          "`clientary-mcp principals add NAME`; or accept OAuth access tokens (docs/oauth.md)")
    specs = load_principals(web.principals) if web.principals else None
    gate = Gate()
    store = store if store is not None else open_store(env)
    own: dict[str, Settings] = {s.name: s.settings(env) for s in specs or [] if s.own_account and not s.sandbox}

    # The server's own account: for the local principal, and for principals without one of their own.
    server_account: tuple[Settings, bool] | None = None
    if (specs is None and oauth is None or any(not s.own_account for s in specs or [])
            or oauth is not None and oauth.needs_server_account):
        server_account = account_settings(bool(getattr(args, "sandbox", False)), env)

    # Each account's token is added by build_service as its service is made.
    scrub = (oauth.config.client_secret,) if oauth is not None and oauth.config.client_secret else ()
    audit = AuditLog.from_options(options, scrub=scrub)
    builder = _Builder(args, options, web, env, audit, gate, store)
    shared_sandbox = builder.use_server_account(server_account) if server_account is not None else None

    resource = None if oauth is None else build_resource_server(
        oauth, options, env, audit, lambda service, limit: GuardedService(service, gate, limit, store),
        web.rate_limit, Principal, server_account, shared_sandbox)
    if specs is None and resource is not None:
        return Deployment([], None, audit, gate, oauth=resource, options=options, store=store,
                          caps=web.caps, builder=builder)
    if specs is None:
        local = builder.local()
        return Deployment([local], None, audit, gate, local, options=options, store=store, caps=web.caps,
                          builder=builder)
    principals = [builder.principal(spec, own) for spec in specs]
    directory = Directory([(p.spec.token_hashes, p) for p in principals if p.spec is not None])
    return Deployment(principals, directory, audit, gate, oauth=resource, options=options, store=store,
                      caps=web.caps, builder=builder, principals_file=web.principals)


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


async def _refuse_scope(scope: Scope, receive: Receive, send: Send) -> None:
    """A websocket (or any scope but HTTP and lifespan) is refused before anything else sees it."""
    if scope["type"] == "websocket":
        message = await receive()
        if message.get("type") == "websocket.connect":
            await send({"type": "websocket.close", "code": 1008, "reason": "only plain HTTP is served"})


class _BodyTooLarge(Exception):
    pass


async def _read_body(receive: Receive, limit: int, timeout: float) -> bytes | None:
    """The whole request body within `timeout` seconds (None if the client went away)."""
    chunks: list[bytes] = []
    size = 0
    with anyio.fail_after(timeout):
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise _BodyTooLarge
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replayed() -> Any:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # afterwards: the client's disconnect, when it comes

    return replayed


def _may_open_session(headers: dict[str, str]) -> bool:
    """Whether the SDK would treat this POST to /mcp as a session's opening request (stateful mode).

    Decided as the SDK routes, by headers alone: no session id, and no protocol version or a
    handshake-era one. Judging by the body instead could be fooled by a shape the SDK accepts and we do
    not expect; a request that turns out not to open one gives its place back at once.
    """
    version = headers.get("mcp-protocol-version")
    return "mcp-session-id" not in headers and (version is None or version in HANDSHAKE_PROTOCOL_VERSIONS)


class AccessLayer:
    """Outermost ASGI layer: HTTP only, Host/Origin (DNS rebinding), the bearer token, the body, the caps."""

    def __init__(self, app: ASGIApp, deployment: Deployment, web: WebOptions):
        self.app = app
        self.deployment = deployment
        self.web = web

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, receive, send)
            return
        if scope["type"] != "http":
            log.warning("refused a %s connection to %s: only plain HTTP is served", scope["type"],
                        str(scope.get("path", ""))[:100])
            await _refuse_scope(scope, receive, send)
            return
        started = time.perf_counter()
        status = 0
        who = "-"

        async def logged(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            who = await self._serve(scope, receive, logged)
        finally:
            # Never the query string or a header: they may carry a token.
            log.info('%s %s %s principal=%s %.1fms', scope.get("method"), str(scope.get("path", ""))[:200],
                     status or "-", who, (time.perf_counter() - started) * 1000)

    async def _serve(self, scope: Scope, receive: Receive, send: Send) -> str:
        if scope.get("path") in OPEN_PATHS:
            await self.app(scope, receive, send)
            return "-"
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        client = (scope.get("client") or ("?", 0))[0]
        if not host_allowed(headers.get("host"), self.web.allowed_hosts):
            log.warning("refused a request from %s: Host %r is not allowed", client, headers.get("host", "")[:100])
            await _problem(421, "invalid_host", "This Host is not allowed; the operator can add it with "
                           "--allowed-hosts / CLIENTARY_MCP_ALLOWED_HOSTS.")(scope, receive, send)
            return "-"
        if not origin_allowed(headers.get("origin"), self.web.allowed_origins):
            log.warning("refused a request from %s: Origin %r is not allowed", client, headers.get("origin", "")[:100])
            await _problem(403, "invalid_origin", "This Origin is not allowed; the operator can add it with "
                           "--allowed-origins / CLIENTARY_MCP_ALLOWED_ORIGINS.")(scope, receive, send)
            return "-"
        directory, oauth = self.deployment.directory, self.deployment.oauth
        if oauth is not None and scope.get("path") in oauth.open_paths:  # its metadata: no token needed
            await self.app(scope, receive, send)
            return "-"
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
                    return "-"
                principal = answer
            if principal is None:
                challenge = 'Bearer realm="clientary-mcp"' + (', error="invalid_token"' if auth else "")
                log.warning("refused a request from %s to %s: %s", client, scope.get("path"),
                            "unknown bearer token" if auth else "no bearer token")
                await _problem(401, "invalid_token" if auth else "unauthorized",
                               "A valid bearer token is required (Authorization: Bearer <token>).",
                               {"WWW-Authenticate": challenge})(scope, receive, send)
                return "-"
            scope["user"] = principal.user
        assert principal is not None
        scope[PRINCIPAL_KEY] = principal
        method = scope.get("method")
        try:
            if method == "POST":
                await self._post(principal.name, scope, receive, send, headers)
            elif method == "GET" and scope.get("path") in ("/mcp", "/sse"):
                limiter = self.deployment.limiter
                member = await limiter.enter("streams", principal.name)
                try:
                    await self.app(scope, receive, send)
                finally:
                    await limiter.leave("streams", principal.name, member)
            elif method == "DELETE" and scope.get("path") == "/mcp" and headers.get("mcp-session-id"):
                await self.app(scope, receive, self._releasing(principal.name, headers["mcp-session-id"], send))
            else:
                await self.app(scope, receive, send)
        except CapFull as full:
            log.warning("refused a request of principal '%s': %s", principal.name, full)
            await _problem(429, "too_many_requests", str(full),
                           {"Retry-After": str(full.retry_after)})(scope, receive, send)
        return principal.name

    def _releasing(self, who: str, session_id: str, send: Send) -> Send:
        """For a DELETE of a session: give its place back before the client hears that it is closed, so
        a session opened right after it finds the place free."""

        async def released(message: Any) -> None:
            if message["type"] == "http.response.start" and message["status"] < 300:
                held = self.deployment.sessions.get(session_id)
                if held is not None and held[0] == who:
                    del self.deployment.sessions[session_id]
                    await self.deployment.limiter.leave("sessions", *held)
            await send(message)

        return released

    async def _post(self, who: str, scope: Scope, receive: Receive, send: Send, headers: dict[str, str]) -> None:
        """A request that carries calls: its body read within the deadline, then counted while it runs."""
        try:
            body = await _read_body(receive, self.web.max_body, self.web.body_timeout)
        except TimeoutError:
            log.warning("refused a request of principal '%s': its body did not arrive within %g s", who,
                        self.web.body_timeout)
            await _problem(408, "request_timeout", f"The request body did not arrive within "
                           f"{self.web.body_timeout:g} s (CLIENTARY_MCP_BODY_TIMEOUT).",
                           {"Connection": "close"})(scope, receive, send)
            return
        except _BodyTooLarge:
            await _problem(413, "payload_too_large", f"The request body is larger than {self.web.max_body} bytes "
                           "(--max-body / CLIENTARY_MCP_MAX_BODY).", {"Connection": "close"})(scope, receive, send)
            return
        if body is None:
            return
        limiter, gate = self.deployment.limiter, self.deployment.gate
        opening = scope.get("path") == "/mcp" and not self.web.stateless and _may_open_session(headers)
        member = await limiter.enter("calls", who)
        gate.enter("requests")  # counted before any await that could let a shutdown slip past it
        held = True

        async def answered(message: Any) -> None:
            # The place is given back before the answer's last bytes go out: a client that sends its next
            # request as soon as it has the answer must never find this one still counted.
            nonlocal held
            if held and message["type"] == "http.response.body" and not message.get("more_body", False):
                held = False
                await limiter.leave("calls", who, member)
            await send(message)

        try:
            if opening:
                await self._open_session(who, scope, _replay(body, receive), answered)
            else:
                await self.app(scope, _replay(body, receive), answered)
        finally:
            gate.leave("requests")
            if held:
                await limiter.leave("calls", who, member)

    async def _open_session(self, who: str, scope: Scope, receive: Receive, send: Send) -> None:
        limiter = self.deployment.limiter
        try:
            member = await limiter.enter("sessions", who)
        except CapFull as full:
            log.warning("refused a new session of principal '%s': %s", who, full)
            await _problem(429, "too_many_sessions", str(full), {"Retry-After": str(full.retry_after)})(
                scope, receive, send)
            return
        opened = False

        async def watch(message: Any) -> None:
            nonlocal opened
            if message["type"] == "http.response.start" and message["status"] < 400:
                for key, value in message.get("headers", []):
                    if key.lower() == b"mcp-session-id":
                        self.deployment.sessions[value.decode("latin-1")] = (who, member)
                        opened = True
            await send(message)

        try:
            await self.app(scope, receive, watch)
        finally:
            if not opened:
                await limiter.leave("sessions", who, member)


class _Sessions(StreamableHTTPSessionManager):
    """The SDK's session manager, giving a session's place back to its principal's cap when it ends
    (client DELETE, idle expiry, crash, shutdown)."""

    def __init__(self, deployment: Deployment, **kwargs: Any):
        super().__init__(**kwargs)
        self._deployment = deployment

    async def _discard_session(self, session_id: str, transport: Any) -> None:
        await super()._discard_session(session_id, transport)
        held = self._deployment.sessions.pop(session_id, None)
        if held is not None:
            await self._deployment.limiter.leave("sessions", *held)


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
        # A store that does not answer leaves the replica in service (all replicas share that fate; taking
        # them out would stop the calls that still work too): "degraded", with what is refused.
        ok, why = deployment.ready()
        store = await deployment.store_state()
        if ok and not store["ok"]:
            why = "degraded"
        return JSONResponse({"status": why, "calls_in_flight": deployment.gate.calls, "store": store},
                            status_code=200 if ok else 503)

    routes: list[Any] = [Route("/healthz", healthz), Route("/readyz", readyz)]
    oauth = deployment.oauth

    if oauth is not None:
        routes += oauth.routes()
    running: Any = contextlib.nullcontext
    if web.transport == "http":
        # No process-wide session limit: the per-principal caps bound sessions without one principal's
        # sessions locking the others out.
        manager = _Sessions(deployment, app=server, stateless=web.stateless, security_settings=security,
                            max_request_body_size=web.max_body, session_idle_timeout=web.caps.session_idle,
                            max_sessions=None, json_response=deployment.json_answers)
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
            async with anyio.create_task_group() as tg:
                tg.start_soon(deployment.limiter.refresh_forever)
                try:
                    async with running():
                        yield
                finally:
                    tg.cancel_scope.cancel()
        finally:
            await deployment.close()  # after the transports stopped: no record can come after this

    return AccessLayer(Starlette(routes=routes, lifespan=lifespan), deployment, web)


# ---------------------------------------------------------------------------------------------
# Serving


class DrainingServer(uvicorn.Server):
    """uvicorn, except that the first SIGTERM/SIGINT drains tool calls before the usual shutdown."""

    def __init__(self, config: uvicorn.Config, deployment: Deployment, drain_timeout: float):
        super().__init__(config)
        self.deployment = deployment
        self.gate = deployment.gate
        self.drain_timeout = drain_timeout
        self.drain_deadline: float | None = None
        self._announced = False
        self.in_flight_at_signal = 0

    def handle_exit(self, sig: int, frame: Any) -> None:
        if self.drain_deadline is not None:  # a second signal: stop waiting
            super().handle_exit(sig, frame)
            return
        # Runs in a signal handler: only set flags here; on_tick does the rest.
        self._captured_signals.append(sig)  # uvicorn raises it again once stopped, for the exit status
        self.gate.closing = True
        self.in_flight_at_signal = self.gate.calls  # announced on the next tick, when some may have finished
        self.drain_deadline = time.monotonic() + self.drain_timeout

    async def startup(self, sockets: Any = None) -> None:
        await super().startup(sockets)
        import asyncio

        with contextlib.suppress(NotImplementedError, AttributeError, RuntimeError):  # no SIGHUP on Windows
            asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, self.deployment.reload)

    async def on_tick(self, counter: int) -> bool:
        if self.drain_deadline is not None and not self.should_exit:
            if not self._announced:
                self._announced = True
                log.info("stopping: %d tool call(s) in flight, waiting up to %g s; new calls are refused",
                         self.in_flight_at_signal, self.drain_timeout)
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
    store = getattr(deployment.store, "where", deployment.store.name)
    return (f"clientary-mcp: serving MCP over {what} for {who}{limit}; state store: {store}; "
            f"audit log: {options.audit_log}")


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
    # Our access log replaces uvicorn's (which would print query strings). Websocket upgrades are not
    # served at all (ws="none"); the access layer refuses such scopes too.
    # loop "auto": uvloop where it is installed (a dependency on the platforms that have it).
    config = uvicorn.Config(app, host=web.host, port=web.port, log_level="info", lifespan="on", loop="auto",
                            server_header=False, timeout_graceful_shutdown=2, access_log=False, ws="none",
                            http=protocol_with(web.header_timeout), limit_concurrency=web.max_connections,
                            timeout_keep_alive=web.keep_alive)  # type: ignore[arg-type]
    server = DrainingServer(config, deployment, web.shutdown_timeout)
    server.run()
    return 0


__all__ = ["WebOptions", "build_app", "build_deployment", "load_web_options", "serve_http"]
