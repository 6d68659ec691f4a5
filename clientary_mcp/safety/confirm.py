"""Confirmation tokens for gated tools: sealed, bound, expiring, single-use.

A token is `payload.signature`, both base64url; the signature is HMAC-SHA256 over the payload with the
server's secret. The payload binds the tool, a digest of the arguments (without `confirm`), the caller,
an expiry, a nonce and the digest of the preview the caller saw. Nothing is stored server-side to mint
or check a token, so any process holding the same secret accepts it; the nonce list only remembers which
tokens this process has already used.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any


class ConfirmationError(ValueError):
    """A token that must not authorise anything; the message says what to do instead."""


def canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def digest(value: Any) -> str:
    return hashlib.sha256(canonical(value)).hexdigest()[:32]


def args_digest(arguments: dict[str, Any]) -> str:
    return digest({k: v for k, v in arguments.items() if k != "confirm"})


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Sealer:
    secret: bytes
    ttl: float = 300.0
    clock: Any = time.time
    _used: dict[str, float] = field(default_factory=dict)

    def mint(self, tool: str, arguments: dict[str, Any], principal: str, preview_digest: str) -> tuple[str, float]:
        expires = self.clock() + self.ttl
        payload = {"t": tool, "a": args_digest(arguments), "p": principal, "e": round(expires, 3),
                   "n": secrets.token_hex(8), "d": preview_digest}
        body = _b64(canonical(payload))
        return f"{body}.{self._sign(body)}", expires

    def _sign(self, body: str) -> str:
        return _b64(hmac.new(self.secret, body.encode(), hashlib.sha256).digest())

    def open(self, token: Any, tool: str, arguments: dict[str, Any], principal: str) -> dict[str, Any]:
        """Check a token against this call; return its payload or raise ConfirmationError."""
        again = f"Call {tool} without `confirm` to get a fresh preview and token."
        # Tokens are base64url: anything else is malformed (and hmac cannot compare non-ASCII text).
        if not isinstance(token, str) or not token.isascii() or token.count(".") != 1 or len(token) > 2048:
            raise ConfirmationError(f"The confirmation token is malformed. {again}")
        body, signature = token.split(".")
        if not hmac.compare_digest(signature, self._sign(body)):
            raise ConfirmationError(f"The confirmation token is not valid for this server (forged, altered, "
                                    f"or minted with another secret). {again}")
        try:
            payload = json.loads(_unb64(body))
        except ValueError:
            raise ConfirmationError(f"The confirmation token is malformed. {again}") from None
        if payload.get("t") != tool:
            raise ConfirmationError(f"This token was issued for {payload.get('t')}, not {tool}. {again}")
        if payload.get("p") != principal:
            raise ConfirmationError(f"This token was issued to another caller. {again}")
        if payload.get("a") != args_digest(arguments):
            raise ConfirmationError("The arguments differ from the previewed ones; a token confirms exactly "
                                    f"what was previewed. {again}")
        now = self.clock()
        if now > payload.get("e", 0):
            raise ConfirmationError(f"The confirmation token expired. {again}")
        self._forget_expired(now)
        if payload.get("n") in self._used:
            raise ConfirmationError(f"This confirmation token was already used. {again}")
        return payload

    def spend(self, payload: dict[str, Any]) -> None:
        self._used[payload["n"]] = payload["e"]

    def _forget_expired(self, now: float) -> None:
        if len(self._used) > 1000:
            for nonce, expiry in list(self._used.items()):
                if expiry < now:
                    del self._used[nonce]

    def seal_state(self, state: dict[str, Any]) -> str:
        """Opaque signed state for the 2026-07-28 input-required round trip."""
        body = _b64(canonical(state))
        return f"{body}.{self._sign(body)}"

    def open_state(self, token: str) -> dict[str, Any] | None:
        if not isinstance(token, str) or not token.isascii() or token.count(".") != 1:
            return None
        body, signature = token.split(".")
        if not hmac.compare_digest(signature, self._sign(body)):
            return None
        try:
            return json.loads(_unb64(body))
        except ValueError:
            return None
