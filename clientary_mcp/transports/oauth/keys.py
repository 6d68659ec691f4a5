"""The issuer's metadata (RFC 8414 / OpenID discovery) and its signing keys (JWKS), fetched and cached.

Keys are refreshed when their set is an hour old, and early when a token names a key id the set lacks
(a rotation at the issuer) — but at most once per cooldown, so a flood of tokens with made-up key ids
cannot make this server hammer the issuer. A failed refresh keeps the keys already known.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import anyio
import httpx
from jwt import PyJWK
from jwt.exceptions import PyJWKError

from .config import OAuthConfig

log = logging.getLogger("clientary_mcp.transports.oauth")

MAX_AGE = 3600.0  # seconds a fetched key set is used before it is fetched again
_MAX_DOCUMENT = 512 * 1024
_PUBLIC_KEY_TYPES = ("RSA", "EC", "OKP")


class Unavailable(Exception):
    """The issuer could not be asked (network, 5xx, bad document); the request may be retried."""


def discovery_urls(issuer: str) -> list[str]:
    """RFC 8414 (path inserted), then OpenID Connect Discovery (path inserted, then appended)."""
    parts = urlsplit(issuer)
    path = parts.path.rstrip("/")

    def at(p: str) -> str:
        return urlunsplit((parts.scheme, parts.netloc, p, "", ""))

    urls = [at("/.well-known/oauth-authorization-server" + path)]
    if path:
        urls.append(at("/.well-known/openid-configuration" + path))
    urls.append(at(path + "/.well-known/openid-configuration"))
    return urls


def _usable(jwk: Any) -> tuple[PyJWK, str | None] | None:
    """A signing key and the algorithm it is declared for (None: any its type allows)."""
    if not isinstance(jwk, dict) or jwk.get("use", "sig") != "sig" or jwk.get("kty") not in _PUBLIC_KEY_TYPES:
        return None  # an encryption key, or a shared secret ("oct"), never verifies an access token here
    try:
        return PyJWK(jwk), jwk.get("alg") if isinstance(jwk.get("alg"), str) else None
    except (PyJWKError, ValueError, TypeError, KeyError):
        return None  # a key type this library does not handle, or a malformed entry: skip it


class IssuerKeys:
    def __init__(self, config: OAuthConfig, http: httpx.AsyncClient, clock: Callable[[], float] = time.monotonic):
        self.config = config
        self.http = http
        self.clock = clock
        self._metadata: dict[str, Any] | None = None
        self._discovery_failed_at: float | None = None
        self._keys: list[tuple[PyJWK, str | None]] = []
        self._tried_at: float | None = None  # last JWKS fetch attempt
        self._loaded_at: float | None = None  # last successful one
        self._lock = anyio.Lock()  # one key fetch at a time
        self._discovery_lock = anyio.Lock()

    async def _get_json(self, url: str) -> Any:
        try:
            answer = await self.http.get(url, headers={"Accept": "application/json"})
        except httpx.HTTPError as exc:
            raise Unavailable(f"cannot reach {url} ({type(exc).__name__})") from None
        if answer.status_code != 200:
            raise Unavailable(f"{url} answered HTTP {answer.status_code}")
        if len(answer.content) > _MAX_DOCUMENT:
            raise Unavailable(f"{url} answered a document larger than {_MAX_DOCUMENT} bytes")
        try:
            return answer.json()
        except ValueError:
            raise Unavailable(f"{url} did not answer JSON") from None

    async def metadata(self) -> dict[str, Any]:
        if self._metadata is not None:
            return self._metadata
        async with self._discovery_lock:
            if self._metadata is None:
                failed = self._discovery_failed_at
                if failed is not None and self.clock() - failed < self.config.jwks_cooldown:
                    raise Unavailable("the issuer's metadata could not be fetched a moment ago")
                try:
                    self._metadata = await self._discover()
                except Unavailable:
                    self._discovery_failed_at = self.clock()
                    raise
        return self._metadata

    async def _discover(self) -> dict[str, Any]:
        failures = []
        for url in discovery_urls(self.config.issuer):
            try:
                document = await self._get_json(url)
            except Unavailable as exc:
                failures.append(str(exc))
                continue
            if not isinstance(document, dict):
                failures.append(f"{url} is not a JSON object")
                continue
            if document.get("issuer") != self.config.issuer:
                # RFC 8414 §3.3: a document for another issuer must not be used.
                raise Unavailable(f"{url} names the issuer {str(document.get('issuer'))[:100]!r}, not "
                                  f"{self.config.issuer!r}: set CLIENTARY_MCP_OAUTH_ISSUER to exactly the issuer")
            if not isinstance(document.get("jwks_uri"), str) and not document.get("introspection_endpoint"):
                raise Unavailable(f"{url} gives neither a jwks_uri nor an introspection_endpoint")
            log.info("OAuth issuer metadata from %s", url)
            return document
        raise Unavailable("no discovery document for the issuer: " + "; ".join(failures))

    async def _fetch_keys(self) -> None:
        self._tried_at = self.clock()
        metadata = await self.metadata()
        uri = metadata.get("jwks_uri")
        if not isinstance(uri, str):
            raise Unavailable("the issuer publishes no jwks_uri, so JWT access tokens cannot be checked")
        document = await self._get_json(uri)
        entries = document.get("keys") if isinstance(document, dict) else None
        if not isinstance(entries, list):
            raise Unavailable(f"{uri} is not a JWK set")
        self._keys = [key for key in map(_usable, entries) if key is not None]
        self._loaded_at = self.clock()
        log.info("OAuth signing keys: %d from %s", len(self._keys), uri)

    def _pick(self, kid: str | None, alg: str) -> PyJWK | None:
        if self._loaded_at is None or self.clock() - self._loaded_at >= MAX_AGE:
            return None
        # A key declared for one algorithm is never used with another (RFC 7517 §4.4).
        keys = [key for key, declared in self._keys if declared in (None, alg)]
        if kid is None:  # allowed only when there is no choice to make
            return keys[0] if len(keys) == 1 else None
        return next((key for key in keys if key.key_id == kid), None)

    async def key(self, kid: str | None, alg: str) -> PyJWK | None:
        """The key for `alg` under `kid`, or None when the issuer does not publish it (even after a refresh)."""
        found = self._pick(kid, alg)
        if found is not None:
            return found
        async with self._lock:  # one fetch at a time; who waited for it looks again first
            found = self._pick(kid, alg)
            if found is not None:
                return found
            if self._tried_at is not None and self.clock() - self._tried_at < self.config.jwks_cooldown:
                if self._loaded_at is None:
                    raise Unavailable("the issuer's signing keys could not be fetched a moment ago")
                return None  # fetched moments ago: the issuer does not publish this key
            try:
                await self._fetch_keys()
            except Unavailable:
                if self._loaded_at is None:
                    raise
                log.warning("OAuth signing keys could not be refreshed; keeping the %d known", len(self._keys))
                self._loaded_at = self.clock() - MAX_AGE + self.config.jwks_cooldown  # try again after the cooldown
            return self._pick(kid, alg)
