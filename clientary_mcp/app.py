"""Assembles a ToolService for a real account or the built-in sandbox.

Nothing here touches the network: the API client (and the sandbox) are created on the first tool call,
so start-up costs only what the chosen transport imports.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .safety.audit import AuditLog
from .safety.confirm import Sealer
from .options import ServerOptions
from .service import ToolService
from .state import StateStore, open_store

if TYPE_CHECKING:
    from .api import ClientaryClient
    from .config import Settings

SANDBOX_URL = "http://sandbox.invalid"  # never resolved: requests go to the in-process app
SANDBOX_TOKEN = "sandbox-demo-token"  # the sandbox's documented demo token; importing the sandbox waits for a call


def sandbox_settings(token: str | None = None) -> Settings:
    from .config import Settings

    return Settings.for_base_url(SANDBOX_URL, token or SANDBOX_TOKEN)


def account_settings(sandbox: bool, env: Mapping[str, str] | None = None) -> tuple[Settings, bool]:
    """Settings for the sandbox or the configured account; raises ConfigError naming the variable."""
    if sandbox:
        return sandbox_settings(), True
    from .config import load_settings

    return load_settings(env), False


class LazyClient:
    """Creates the ClientaryClient (and the in-process sandbox) on first use."""

    def __init__(self, settings: Settings, *, sandbox: bool = False, sandbox_app: Any = None):
        self.settings = settings
        self.sandbox = sandbox
        self.sandbox_app = sandbox_app
        self._client: ClientaryClient | None = None

    def __call__(self) -> ClientaryClient:
        if self._client is None:
            from .api import ClientaryClient

            transport = None
            if self.sandbox:
                from .sandbox import SandboxTransport, create_app

                if self.sandbox_app is None:
                    self.sandbox_app = create_app(token=self.settings.api_token)
                transport = SandboxTransport(self.sandbox_app)
            self._client = ClientaryClient(self.settings, transport=transport)
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()


def build_service(options: ServerOptions, settings: Settings, *, sandbox: bool = False,
                  sandbox_app: Any = None, audit: AuditLog | None = None,
                  store: StateStore | None = None) -> ToolService:
    """`store`: the deployment's shared state store (the HTTP service passes its one store to every
    principal's service); by default the one `open_store` picks for the state folder."""
    api = LazyClient(settings, sandbox=sandbox, sandbox_app=sandbox_app)
    if audit is None:
        audit = AuditLog.from_options(options)
    # Whoever built the log, and whenever this account arrived (a principals reload, an OAuth mapping),
    # its token is blanked from the records.
    audit.scrub_also(settings.api_token)
    service = ToolService(
        api,
        policy=options.policy,
        sealer=Sealer(options.confirm_secret, ttl=options.confirm_ttl),
        audit=audit,
        confirm_mode=options.confirm_mode,  # type: ignore[arg-type]
        unconfirmed=options.unconfirmed,
        store=store if store is not None else open_store(folder=Path(options.state_dir)) if options.state_dir else None,
    )
    return service
