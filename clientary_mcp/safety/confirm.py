"""Confirmation tokens and 2026-07-28 input-required states for gated tools: sealed, bound, expiring.

Both are `payload.signature`, base64url; the signature is HMAC-SHA256 over the payload with a key derived
from the server's secret *for that purpose* (one key for tokens, another for states), and the payload
names its purpose too, so a token never opens as a state nor a state as a token. The payload binds the
tool, a digest of the arguments (without `confirm`), the caller, an expiry, a nonce, the digest of the
preview the caller saw, and a short id of the secret (so a token from a server with another secret is
told apart from an altered one). Single use is not decided here: the caller claims the nonce in the
state store before anything is sent (see `ToolService`).
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


TOKEN, STATE = "token", "state"
SECRET_FILE = "confirm.key"  # in the state folder, when CLIENTARY_MCP_CONFIRM_SECRET is not set
SECRET_HINT = ("give every process and replica the same CLIENTARY_MCP_CONFIRM_SECRET (or, on one machine, "
               "the same state folder, CLIENTARY_MCP_STATE_DIR)")


@dataclass
class Sealer:
    secret: bytes = field(repr=False)
    ttl: float = 300.0
    clock: Any = time.time
    _keys: dict[str, bytes] = field(init=False, repr=False, default_factory=dict)
    key_id: str = field(init=False, default="")

    def __post_init__(self) -> None:
        for purpose in (TOKEN, STATE):
            self._keys[purpose] = hmac.new(self.secret, f"clientary-mcp {purpose} v2".encode(), hashlib.sha256).digest()
        self.key_id = hmac.new(self.secret, b"clientary-mcp key id", hashlib.sha256).hexdigest()[:8]

    def __repr__(self) -> str:
        return f"Sealer(ttl={self.ttl!r}, key_id={self.key_id!r})"

    def _seal(self, purpose: str, payload: dict[str, Any]) -> str:
        body = _b64(canonical({**payload, "u": purpose, "k": self.key_id}))
        return f"{body}.{self._sign(purpose, body)}"

    def _sign(self, purpose: str, body: str) -> str:
        return _b64(hmac.new(self._keys[purpose], body.encode(), hashlib.sha256).digest())

    def mint(self, tool: str, arguments: dict[str, Any], principal: str, preview_digest: str) -> tuple[str, float]:
        expires = self.clock() + self.ttl
        payload = {"t": tool, "a": args_digest(arguments), "p": principal, "e": round(expires, 3),
                   "n": secrets.token_hex(12), "d": preview_digest}
        return self._seal(TOKEN, payload), expires

    def _unseal(self, purpose: str, token: Any, again: str) -> dict[str, Any]:
        what = "confirmation token" if purpose == TOKEN else "confirmation state"
        # Sealed values are base64url: anything else is malformed (and hmac cannot compare non-ASCII text).
        if not isinstance(token, str) or not token.isascii() or token.count(".") != 1 or len(token) > 2048:
            raise ConfirmationError(f"The {what} is malformed. {again}")
        body, signature = token.split(".")
        try:
            payload = json.loads(_unb64(body))
        except ValueError:
            payload = None
        if not isinstance(payload, dict):
            raise ConfirmationError(f"The {what} is malformed. {again}")
        if payload.get("u") not in (TOKEN, STATE):
            raise ConfirmationError(f"The {what} is not one this server issues (malformed, or from an older "
                                    f"version). {again}")
        if payload.get("u") != purpose:
            other = "a confirmation state" if purpose == TOKEN else "a confirmation token"
            raise ConfirmationError(f"This is {other}, not a {what}; the two are not interchangeable. {again}")
        if payload.get("k") != self.key_id:
            raise ConfirmationError(f"This {what} was sealed by a server with a different confirmation secret, "
                                    f"so this one cannot check it: {SECRET_HINT}. {again}")
        if not hmac.compare_digest(signature, self._sign(purpose, body)):
            raise ConfirmationError(f"The {what} was altered (its seal does not match). {again}")
        return payload

    def open(self, token: Any, tool: str, arguments: dict[str, Any], principal: str) -> dict[str, Any]:
        """Check a token against this call; return its payload or raise ConfirmationError."""
        again = f"Call {tool} without `confirm` to get a fresh preview and token."
        payload = self._unseal(TOKEN, token, again)
        self._check(payload, tool, arguments, principal, "token", again)
        return payload

    def _check(self, payload: dict[str, Any], tool: str, arguments: dict[str, Any], principal: str, what: str,
               again: str) -> None:
        if payload.get("t") != tool:
            raise ConfirmationError(f"This {what} was issued for {payload.get('t')}, not {tool}. {again}")
        if payload.get("p") != principal:
            raise ConfirmationError(f"This {what} was issued to another caller. {again}")
        if payload.get("a") != args_digest(arguments):
            raise ConfirmationError(f"The arguments differ from the previewed ones; a {what} confirms exactly "
                                    f"what was previewed. {again}")
        if self.clock() > payload.get("e", 0):
            raise ConfirmationError(f"The confirmation {what} expired. {again}")
        if not isinstance(payload.get("n"), str):
            raise ConfirmationError(f"The confirmation {what} is malformed. {again}")

    def seal_state(self, tool: str, arguments: dict[str, Any], principal: str, preview_digest: str) -> str:
        """Opaque sealed state for the 2026-07-28 input-required round trip (single use, like a token)."""
        payload = {"t": tool, "a": args_digest(arguments), "p": principal, "d": preview_digest,
                   "e": round(self.clock() + self.ttl, 3), "n": secrets.token_hex(12)}
        return self._seal(STATE, payload)

    def open_state(self, state: Any, tool: str, arguments: dict[str, Any], principal: str) -> dict[str, Any]:
        again = f"Call {tool} again to be asked afresh."
        payload = self._unseal(STATE, state, again)
        self._check(payload, tool, arguments, principal, "state", again)
        return payload

    def claim_ttl(self, payload: dict[str, Any]) -> float:
        """How long the store must remember a spent nonce: until the token expires, plus clock slack."""
        return max(1.0, float(payload.get("e", 0)) - self.clock()) + 60.0
