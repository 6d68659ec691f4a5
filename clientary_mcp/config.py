"""Settings from the environment, validated once and immutable afterwards."""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field, replace
from typing import Any, Iterable, Mapping
from urllib.parse import urlsplit

_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$", re.IGNORECASE)
_BAD_TOKEN_CHAR = re.compile(r"[\s\x00-\x1f\x7f]")
_HOSTED_SUFFIX = ".clientary.com"


def redact(text: str, secrets: Iterable[str]) -> str:
    """Blank out secrets; very short ones only as whole words, so ordinary text stays readable."""
    for secret in secrets:
        if len(secret) >= 8:
            text = text.replace(secret, "***")
        elif secret:
            text = re.sub(rf"(?<![A-Za-z0-9]){re.escape(secret)}(?![A-Za-z0-9])", "***", text)
    return text


class ConfigError(Exception):
    """A setting is missing or invalid; str() is one line naming the variable and the fix."""


# field name -> (environment variable, type, minimum, maximum, minimum is exclusive)
_NUMERIC: dict[str, tuple[str, type, float, float, bool]] = {
    "timeout": ("CLIENTARY_TIMEOUT", float, 0.0, math.inf, True),
    "connect_timeout": ("CLIENTARY_CONNECT_TIMEOUT", float, 0.0, math.inf, True),
    "max_retries": ("CLIENTARY_MAX_RETRIES", int, 0, 10, False),
    "retry_budget": ("CLIENTARY_RETRY_BUDGET", float, 0.0, math.inf, False),
    "page_concurrency": ("CLIENTARY_PAGE_CONCURRENCY", int, 1, 16, False),
    "max_records": ("CLIENTARY_MAX_RECORDS", int, 1, 100_000, False),
}


def _allowed(name: str) -> str:
    var, kind, low, high, exclusive = _NUMERIC[name]
    if kind is int:
        return f"{var} must be a whole number from {int(low)} to {int(high)}"
    if exclusive:
        return f"{var} must be a number of seconds greater than {low:g}"
    return f"{var} must be a number of seconds, {low:g} or more"


@dataclass(frozen=True)
class Settings:
    api_token: str = field(repr=False)
    base_url: str
    domain: str | None = None
    timeout: float = 30.0
    connect_timeout: float = 10.0
    max_retries: int = 4
    retry_budget: float = 60.0
    page_concurrency: int = 8
    max_records: int = 1000

    def __post_init__(self) -> None:
        for name, (_, kind, low, high, exclusive) in _NUMERIC.items():
            value = getattr(self, name)
            number = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
            if kind is int:
                number = number and float(value).is_integer()
            if not number or not low <= value <= high or (exclusive and value == low):
                raise ConfigError(f"{_allowed(name)} (got {value!r}).")
            object.__setattr__(self, name, kind(value))

    @classmethod
    def for_base_url(cls, base_url: str, token: str, **overrides: Any) -> "Settings":
        """Settings for an explicit server (sandbox, tests); same validation as the environment path."""
        settings = load_settings({"CLIENTARY_BASE_URL": base_url, "CLIENTARY_API_TOKEN": token})
        return replace(settings, **overrides) if overrides else settings


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    raw_token = _get(env, "CLIENTARY_API_TOKEN")
    try:
        token = _token(raw_token)
        base_url_raw = _get(env, "CLIENTARY_BASE_URL")
        domain_raw = _get(env, "CLIENTARY_DOMAIN")
        domain = _domain(domain_raw) if domain_raw is not None else None
        if base_url_raw is not None:
            base_url = _base_url(base_url_raw)
        elif domain is not None:
            base_url = f"https://{domain}{_HOSTED_SUFFIX}"
        else:
            raise ConfigError(
                "Set CLIENTARY_DOMAIN to your Clientary account subdomain (e.g. 'acme' for "
                "https://acme.clientary.com), or CLIENTARY_BASE_URL to the server's full URL."
            )
        numbers = {name: _number(env, name) for name in _NUMERIC}
        return Settings(
            api_token=token,
            base_url=base_url,
            domain=domain,
            **{k: v for k, v in numbers.items() if v is not None},
        )
    except ConfigError as exc:
        # A token pasted into the wrong variable must not be echoed back.
        raise ConfigError(redact(str(exc), [(raw_token or "").strip()])) from None


def _get(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name)
    if value is None or not value.strip():
        return None  # empty counts as unset (common with compose files and .env templates)
    return value


def _show(value: str) -> str:
    # Not truncated: load_settings blanks the token out of the whole message afterwards.
    return "'" + "".join(c if c.isprintable() else "?" for c in value.strip()) + "'"


def _token(raw: str | None) -> str:
    if raw is None:
        raise ConfigError(
            "CLIENTARY_API_TOKEN is not set: generate a token on your Clientary profile page "
            "('Generate API Token') and set CLIENTARY_API_TOKEN to it."
        )
    token = raw.strip()
    if _BAD_TOKEN_CHAR.search(token):
        raise ConfigError(
            "CLIENTARY_API_TOKEN contains spaces or control characters: set it to the token exactly "
            "as shown on your Clientary profile page."
        )
    return token


def _domain(raw: str) -> str:
    text = raw.strip()
    hint = (
        "CLIENTARY_DOMAIN must be your account subdomain, e.g. 'acme' for https://acme.clientary.com "
        "(for any other server set CLIENTARY_BASE_URL instead)"
    )
    try:
        parts = urlsplit(text if "://" in text else "//" + text)
        host = (parts.hostname or "").rstrip(".")
        port = parts.port
    except ValueError:
        raise ConfigError(f"{hint}.") from None
    if host.endswith(_HOSTED_SUFFIX):
        host = host[: -len(_HOSTED_SUFFIX)]
    bad_url = parts.scheme not in ("", "http", "https") or parts.username or port or parts.query or parts.fragment
    if bad_url or parts.path.strip("/") not in ("", "api/v2") or not _LABEL.match(host):
        got = "" if "@" in text else f"; got {_show(text)}"  # never echo credentials
        raise ConfigError(f"{hint}{got}.")
    return host.lower()


def _base_url(raw: str) -> str:
    text = raw.strip()
    problem = None
    try:
        parts = urlsplit(text)
        parts.port  # raises ValueError on a malformed port
    except ValueError:
        parts, problem = None, "is not a valid URL"
    if parts is not None:
        if parts.scheme not in ("http", "https") or not parts.hostname:
            problem = "must start with http:// or https:// and name a host"
        elif parts.username or parts.password:
            problem = "must not contain credentials (use CLIENTARY_API_TOKEN)"
        elif parts.query or parts.fragment:
            problem = "must not contain a query string or fragment"
    if problem:
        got = "" if "@" in text else f"; got {_show(text)}"  # never echo credentials
        raise ConfigError(f"CLIENTARY_BASE_URL {problem}, e.g. https://acme.clientary.com{got}.")
    url = text.rstrip("/")
    # People paste the documented API root; request paths already carry /api/v2.
    if url.endswith("/api/v2"):
        url = url[: -len("/api/v2")]
    return url


def _number(env: Mapping[str, str], name: str) -> float | int | None:
    var, kind, *_ = _NUMERIC[name]
    raw = _get(env, var)
    if raw is None:
        return None
    try:
        value = kind(raw.strip())
    except ValueError:
        raise ConfigError(f"{_allowed(name)} (got {_show(raw)}).") from None
    return value  # range and finiteness are checked by Settings


__all__ = ["ConfigError", "Settings", "load_settings", "redact"]
