"""Which OAuth scope each tool needs, and the policy a token's scopes leave."""

from __future__ import annotations

from dataclasses import dataclass

from ...safety.policy import Policy
from ...tools import ToolSpec

READ, WRITE, DELETE, SEND = "clientary:read", "clientary:write", "clientary:delete", "clientary:send"
ALL_SCOPES = (READ, WRITE, DELETE, SEND)


def scope_for(spec: ToolSpec) -> str:
    """Reads need read, changes write; gated tools split into deletes and sending email."""
    if spec.kind == "read":
        return READ
    if spec.kind == "write":
        return WRITE
    return DELETE if spec.method == "DELETE" else SEND


def parse_scopes(claims: dict) -> frozenset[str]:
    """`scope` (RFC 9068, space-separated) or `scp` (Entra, Okta: a list or a string)."""
    raw = claims.get("scope", claims.get("scp", ""))
    if isinstance(raw, str):
        return frozenset(raw.split())
    if isinstance(raw, list):
        return frozenset(s for s in raw if isinstance(s, str))
    return frozenset()


def scopes_used(policy: Policy) -> list[str]:
    """The scopes a policy's tools can use, in a fixed order: what the metadata and challenges advertise."""
    used = {scope_for(spec) for spec in policy.allowed()}
    return [s for s in ALL_SCOPES if s in used]


@dataclass(frozen=True)
class ScopedPolicy(Policy):
    """`inner` (the server's or the mapping's policy, a ceiling) narrowed to what the token was granted."""

    inner: Policy = Policy()
    granted: frozenset[str] = frozenset()

    def why_disabled(self, spec: ToolSpec) -> str | None:
        reason = self.inner.why_disabled(spec)
        if reason:
            return reason
        if self.lacks(spec):
            return (f"Tool {spec.name} is disabled: it needs the OAuth scope {scope_for(spec)}, which this access "
                    "token was not granted. Sign in again and grant that scope.")
        return None

    def lacks(self, spec: ToolSpec) -> bool:
        return scope_for(spec) not in self.granted

    def describe(self) -> str:
        granted = " ".join(s for s in ALL_SCOPES if s in self.granted) or "none"
        return f"{self.inner.describe()}; scopes {granted}"
