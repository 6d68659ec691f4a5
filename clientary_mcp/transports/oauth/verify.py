"""Checks an access token: a JWT against the issuer's keys, or an opaque token by introspection (RFC 7662).

`TokenChecker` is the SDK's `TokenVerifier` (`verify_token` → AccessToken or None); `check` says why a
token is refused. Reasons are short, contain nothing from the token, and go into the 401's
`error_description` and the log.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import OrderedDict
from typing import Any

import httpx
import jwt
from mcp.server.auth.provider import AccessToken

from .config import OAuthConfig
from .keys import IssuerKeys, Unavailable
from .scopes import parse_scopes

log = logging.getLogger("clientary_mcp.transports.oauth")

_TYPES = {"at+jwt", "application/at+jwt", "jwt"}  # RFC 9068 `typ`; plain JWT from providers that predate it
_CACHE_SIZE = 4096


class Rejected(Exception):
    """The token is not valid here; str() is the reason."""


def fingerprint(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def _audiences(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


class TokenChecker:
    def __init__(self, config: OAuthConfig, keys: IssuerKeys, http: httpx.AsyncClient):
        self.config = config
        self.keys = keys
        self.http = http
        base = config.audience.rstrip("/") or config.audience
        self.audiences = [base, base + "/"]  # with or without a trailing slash
        self._introspected: OrderedDict[str, tuple[float, AccessToken | str]] = OrderedDict()

    async def verify_token(self, token: str) -> AccessToken | None:
        try:
            return await self.check(token)
        except (Rejected, Unavailable):
            return None

    async def check(self, token: str) -> AccessToken:
        """The token's AccessToken; raises Rejected (refuse it) or Unavailable (the issuer cannot be asked)."""
        if token.count(".") != 2:
            return await self._introspect(token)
        return await self._check_jwt(token)

    def _elsewhere(self) -> str:
        return f"the access token was issued for another resource (its aud is not {self.config.audience})"

    def _access(self, token: str, claims: dict[str, Any]) -> AccessToken:
        client = claims.get("client_id") or claims.get("azp") or claims.get("appid") or ""
        return AccessToken(token=fingerprint(token), client_id=str(client), scopes=sorted(parse_scopes(claims)),
                           expires_at=int(claims["exp"]) if isinstance(claims.get("exp"), (int, float)) else None,
                           resource=self.config.resource, subject=str(claims["sub"]), claims=claims)

    async def _check_jwt(self, token: str) -> AccessToken:
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            raise Rejected("the access token is not a well-formed JWT") from None
        alg = header.get("alg")
        if alg not in self.config.algorithms:
            raise Rejected(f"the access token's algorithm {str(alg)[:20]!r} is not accepted "
                           f"(accepted: {', '.join(self.config.algorithms)})")
        if str(header.get("typ", "at+jwt")).lower() not in _TYPES:
            raise Rejected("the token is not an access token (its typ is not at+jwt)")
        # Another issuer's token is refused before any key lookup, so it cannot cause a JWKS refresh.
        if unverified.get("iss") != self.config.issuer:
            raise Rejected("the access token was issued by another issuer")
        kid = header.get("kid")
        key = await self.keys.key(kid if isinstance(kid, str) else None, alg)
        if key is None:
            raise Rejected("the access token is signed with a key the issuer does not publish")
        try:
            claims = jwt.decode(token, key.key, algorithms=[alg], audience=self.audiences, issuer=self.config.issuer,
                                leeway=self.config.clock_skew, options={"require": ["exp", "iss", "aud", "sub"]})
        except jwt.ExpiredSignatureError:
            raise Rejected("the access token has expired") from None
        except jwt.ImmatureSignatureError:
            raise Rejected("the access token is not valid yet") from None
        except jwt.InvalidAudienceError:
            raise Rejected(self._elsewhere()) from None
        except jwt.InvalidIssuerError:
            raise Rejected("the access token was issued by another issuer") from None
        except jwt.MissingRequiredClaimError as exc:
            raise Rejected(f"the access token lacks the {exc.claim} claim") from None
        except jwt.InvalidSignatureError:
            raise Rejected("the access token's signature does not verify") from None
        except jwt.PyJWTError as exc:
            raise Rejected(f"the access token is not valid ({type(exc).__name__})") from None
        return self._access(token, claims)

    async def _introspect(self, token: str) -> AccessToken:
        config = self.config
        if not config.client_id:
            raise Rejected("the access token is not a JWT, and token introspection is not configured")
        key = fingerprint(token)
        now = time.time()
        cached = self._introspected.get(key)
        if cached is not None and cached[0] > now:
            if isinstance(cached[1], str):
                raise Rejected(cached[1])
            return cached[1]
        endpoint = (await self.keys.metadata()).get("introspection_endpoint")
        if not isinstance(endpoint, str):
            raise Rejected("the access token is not a JWT, and the issuer offers no introspection endpoint")
        try:
            answer = await self.http.post(endpoint, data={"token": token, "token_type_hint": "access_token"},
                                          auth=(config.client_id, config.client_secret or ""),
                                          headers={"Accept": "application/json"})
        except httpx.HTTPError as exc:
            raise Unavailable(f"cannot reach the introspection endpoint ({type(exc).__name__})") from None
        if answer.status_code != 200:
            raise Unavailable(f"the introspection endpoint answered HTTP {answer.status_code}")
        try:
            claims = answer.json()
        except ValueError:
            raise Unavailable("the introspection endpoint did not answer JSON") from None
        try:
            result: AccessToken | str = self._introspected_access(token, claims if isinstance(claims, dict) else {})
        except Rejected as exc:
            result = str(exc)
        # Briefly remembered (a refusal for 10 s), and never beyond the token's own expiry.
        expires = min(now + 60, float(claims.get("exp", now + 60))) if isinstance(result, AccessToken) else now + 10
        self._introspected[key] = (expires, result)
        while len(self._introspected) > _CACHE_SIZE:
            self._introspected.popitem(last=False)
        if isinstance(result, str):
            raise Rejected(result)
        return result

    def _introspected_access(self, token: str, claims: dict[str, Any]) -> AccessToken:
        if claims.get("active") is not True:
            raise Rejected("the access token is not active (expired, revoked or unknown to the issuer)")
        if claims.get("iss", self.config.issuer) != self.config.issuer:
            raise Rejected("the access token was issued by another issuer")
        if not any(a in self.audiences for a in _audiences(claims.get("aud"))):
            raise Rejected(self._elsewhere())
        exp = claims.get("exp")
        if isinstance(exp, (int, float)) and exp + self.config.clock_skew < time.time():
            raise Rejected("the access token has expired")
        claims = {**claims, "iss": self.config.issuer, "sub": claims.get("sub") or claims.get("client_id") or ""}
        if not claims["sub"]:
            raise Rejected("the introspected token names no subject or client")
        return self._access(token, claims)
