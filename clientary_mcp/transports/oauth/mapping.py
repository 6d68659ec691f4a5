"""The mapping file: which Clientary account (and narrower policy) a token's subject, email or groups get.

JSON, validated when the server starts::

    {"claims": {"email": "email", "groups": "groups"},
     "accounts": [
       {"name": "finance", "match": {"groups": ["finance"]}, "domain": "acme", "api_token_env": "ACME_TOKEN"},
       {"name": "demo", "match": {"email": ["bob@example.com"], "sub": ["248289761001"]}, "sandbox": true,
        "read_only": true},
       {"name": "everyone", "match": "*", "toolsets": ["clients"]}
     ]}

The first entry whose `match` holds wins (a listed subject, a listed email — compared without case — or
one of the listed groups; `"*"` matches every token); a token no entry matches is refused. The other keys
are those of a principals-file entry (account: `domain` + `api_token_env`, `base_url`, `sandbox`, or none
for the server's own account; policy: `read_only`, `toolsets`, `include`, `exclude`; `rate_limit`).
`claims` renames the email and groups claims for providers that namespace them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...config import ConfigError
from ..principals import _KEYS as PRINCIPAL_KEYS
from ..principals import PrincipalSpec, parse_entry

MAPPING_KEYS = (PRINCIPAL_KEYS - {"token_sha256"}) | {"match"}
_MATCH_KEYS = ("sub", "email", "groups")
_PLACEHOLDER_HASH = "0" * 64  # entries here have no bearer token of their own


@dataclass(frozen=True)
class AccountRule:
    spec: PrincipalSpec  # account, policy and rate limit, parsed exactly like a principals-file entry
    everyone: bool = False
    subjects: frozenset[str] = frozenset()
    emails: frozenset[str] = frozenset()
    groups: frozenset[str] = frozenset()

    @property
    def name(self) -> str:
        return self.spec.name

    def matches(self, sub: str, email: str | None, groups: frozenset[str]) -> bool:
        return (self.everyone or sub in self.subjects or (email or "").lower() in self.emails
                or bool(groups & self.groups))


@dataclass(frozen=True)
class AccountMapping:
    rules: tuple[AccountRule, ...]
    email_claim: str = "email"
    groups_claim: str = "groups"

    def identity(self, claims: Mapping[str, Any]) -> tuple[str, str | None, frozenset[str]]:
        return identity(claims, self.email_claim, self.groups_claim)

    def match(self, claims: Mapping[str, Any]) -> AccountRule | None:
        sub, email, groups = self.identity(claims)
        return next((rule for rule in self.rules if rule.matches(sub, email, groups)), None)


def identity(claims: Mapping[str, Any], email_claim: str = "email",
             groups_claim: str = "groups") -> tuple[str, str | None, frozenset[str]]:
    email = claims.get(email_claim)
    groups = claims.get(groups_claim)
    if isinstance(groups, str):
        groups = groups.split()
    group_set = frozenset(g for g in groups if isinstance(g, str)) if isinstance(groups, list) else frozenset()
    return str(claims.get("sub", "")), email if isinstance(email, str) and email else None, group_set


def _values(value: Any, where: str) -> frozenset[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(f"{where} must be a non-empty list of strings")
    return frozenset(value)


def _rule(entry: Any, index: int) -> AccountRule:
    if not isinstance(entry, dict):
        raise ConfigError(f"account {index + 1} must be an object")
    label = f"account {index + 1}" + (f" ({entry['name']})" if isinstance(entry.get("name"), str) else "")
    unknown = sorted(set(entry) - MAPPING_KEYS)
    if unknown:
        raise ConfigError(f"{label}: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(MAPPING_KEYS))}")
    match = entry.get("match")
    if match is None:
        raise ConfigError(f"{label}: match is missing; give {{\"sub\"|\"email\"|\"groups\": [...]}} or \"*\"")
    spec = parse_entry({k: v for k, v in entry.items() if k != "match"} | {"token_sha256": _PLACEHOLDER_HASH}, index)
    if match == "*":
        return AccountRule(spec, everyone=True)
    if not isinstance(match, dict) or not match or set(match) - set(_MATCH_KEYS):
        raise ConfigError(f"{label}: match must be \"*\" or an object with sub, email and/or groups lists")
    found = {key: _values(match[key], f"{label}: match.{key}") for key in _MATCH_KEYS if key in match}
    emails = frozenset(e.lower() for e in found.get("email", ()))
    return AccountRule(spec, subjects=found.get("sub", frozenset()), emails=emails,
                       groups=found.get("groups", frozenset()))


def load_mapping(path: str | Path, label: str = "CLIENTARY_MCP_OAUTH_MAPPING") -> AccountMapping:
    """Parse and validate; ConfigError (one line, naming the file) on any problem."""
    path = Path(path).expanduser()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{label}: {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{label}: cannot read {path} ({type(exc).__name__})") from None
    except ValueError as exc:
        raise ConfigError(f"mapping file {path} is not valid JSON ({exc})") from None
    try:
        if not isinstance(data, dict) or not isinstance(data.get("accounts"), list) or not data["accounts"]:
            raise ConfigError("it must be an object with a non-empty \"accounts\" list")
        unknown = sorted(set(data) - {"accounts", "claims"})
        if unknown:
            raise ConfigError(f"unknown top-level key(s) {', '.join(unknown)}; known: accounts, claims")
        claims = data.get("claims", {})
        if not isinstance(claims, dict) or set(claims) - {"email", "groups"} or not all(
                isinstance(v, str) and v for v in claims.values()):
            raise ConfigError("claims must be an object naming the email and/or groups claim, e.g. "
                              "{\"groups\": \"https://example.com/groups\"}")
        rules = tuple(_rule(entry, i) for i, entry in enumerate(data["accounts"]))
        names = [r.name for r in rules]
        twice = next((n for n in names if names.count(n) > 1), None)
        if twice:
            raise ConfigError(f"account name '{twice}' appears twice")
    except ConfigError as exc:
        raise ConfigError(f"mapping file {path}: {exc}") from None
    return AccountMapping(rules, claims.get("email", "email"), claims.get("groups", "groups"))
