"""Typed Clientary errors whose messages tell an agent what happened and what to do next."""

from __future__ import annotations

import html
import json
import re
from typing import Any, Iterable

import httpx

from ..config import redact
from . import paths


class ClientaryError(Exception):
    kind = "unknown"

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        method: str | None = None,
        path: str | None = None,
        fields: dict[str, list[str]] | None = None,
        retry_after: float | None = None,
        attempts: int = 1,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.method = method
        self.path = path
        self.fields = fields or {}
        self.retry_after = retry_after
        self.attempts = attempts

    def __str__(self) -> str:
        return self.message

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "status": self.status,
            "message": self.message,
            "method": self.method,
            "path": self.path,
            "fields": self.fields,
            "retry_after": self.retry_after,
        }

    def redact(self, secrets: Iterable[str]) -> "ClientaryError":
        """Blank out secrets wherever server-supplied text could have echoed them."""
        secrets = list(secrets)

        def clean(text: str) -> str:
            return redact(text, secrets)

        self.message = clean(self.message)
        self.args = (self.message,)
        self.path = clean(self.path) if self.path else self.path
        self.fields = {clean(k): [clean(m) for m in v] for k, v in self.fields.items()}
        return self


class AuthError(ClientaryError):
    kind = "auth"


class ForbiddenError(ClientaryError):
    kind = "forbidden"


class NotFoundError(ClientaryError):
    kind = "not_found"


class ValidationError(ClientaryError):
    kind = "validation"


class PlanLimitError(ClientaryError):
    kind = "plan_limit"


class RateLimitedError(ClientaryError):
    kind = "rate_limited"


class ServerError(ClientaryError):
    kind = "server"


class ClientaryTimeoutError(ClientaryError):
    kind = "timeout"


class ClientaryConnectionError(ClientaryError):
    kind = "connection"


class BadResponseError(ClientaryError):
    kind = "bad_response"


class UnknownOutcomeError(ClientaryError):
    kind = "unknown_outcome"


# ---- response bodies -------------------------------------------------------------------------

_HIDDEN = ("script", "style", "head")  # elements whose content is not text a person reads
_SPACE = re.compile(r"\s+")
_SCAN_LIMIT = 256 * 1024  # characters of a body looked at: an excerpt is a few hundred


def _tag_name(tag: str) -> str:
    name = tag.lstrip("/").split(None, 1)[0] if tag.strip("/ ") else ""
    return name.rstrip("/").lower()


def _strip_tags(text: str) -> tuple[str, str]:
    """(title, text without tags or hidden elements), in one left-to-right pass.

    Every search starts where the previous one ended, and a search that finds nothing ends the pass, so
    the work is linear in the length of the text whatever it holds (`<script ` repeated, say).
    """
    lower = text.lower()
    title = ""
    start = lower.find("<title")
    if start >= 0:
        open_end = lower.find(">", start)
        close = lower.find("</title", open_end) if open_end >= 0 else -1
        if close >= 0:
            title = text[open_end + 1:close]
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        lt = text.find("<", i)
        if lt < 0:
            out.append(text[i:])
            break
        out.append(text[i:lt])
        gt = text.find(">", lt)
        if gt < 0:
            break  # an unclosed tag runs to the end
        name = _tag_name(text[lt + 1:gt])
        out.append(" ")
        i = gt + 1
        if name in _HIDDEN and not text.startswith("/", lt + 1):
            close = lower.find("</" + name, i)
            if close < 0:
                break  # hidden to the end
            gt = text.find(">", close)
            if gt < 0:
                break
            i = gt + 1
    title = title.replace("<", " ").replace(">", " ")
    return title, "".join(out)


def snippet(text: str, limit: int = 200) -> str:
    """Short, single-line, tag-free excerpt of a body; HTML pages are reduced to title and text.

    Linear time in the body's length (and only its start is looked at): a hostile error page must not
    cost the server more than reading it.
    """
    text = text[:_SCAN_LIMIT]
    if "<" in text and ">" in text:
        title, text = _strip_tags(text)
        text = f"{title} — {text}" if title.strip() else text
        text = html.unescape(text)
    text = _SPACE.sub(" ", "".join(c if c.isprintable() else " " for c in text)).strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def error_body(response: httpx.Response) -> Any:
    """Parsed JSON when the body is JSON (whatever the content type claims), else cleaned text."""
    text = response.text
    if not text.strip():
        return None
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return snippet(text)


def _message_text(value: Any) -> str:
    if isinstance(value, str):
        return snippet(value, 300)
    return snippet(json.dumps(value, ensure_ascii=False, default=str), 300)


def _collect(value: Any, prefix: str, out: dict[str, list[str]]) -> None:
    if isinstance(value, dict):
        for key, inner in value.items():
            _collect(inner, f"{prefix}.{key}" if prefix != "base" else str(key), out)
        return
    items = value if isinstance(value, list) else [value]
    messages = [_message_text(item) for item in items if item not in (None, "", [], {})]
    if messages:
        out.setdefault(prefix, []).extend(messages)


def validation_fields(body: Any) -> dict[str, list[str]]:
    """Field messages from any of the shapes Rails-style APIs send; free text lands under "base"."""
    out: dict[str, list[str]] = {}
    if isinstance(body, dict):
        for key in ("errors", "error", "message", "messages", "detail"):
            if body.get(key) not in (None, "", [], {}):
                _collect(body[key], "base", out)
                break
    elif body not in (None, ""):
        _collect(body, "base", out)
    return out


def _fix_hint(fields: dict[str, list[str]]) -> str:
    """What to do about each field, from what Clientary said about it (Rails' standard messages)."""
    hints: list[str] = []
    for name, messages in fields.items():
        if name == "base":
            continue
        said = " ".join(messages).lower()
        if "taken" in said or "unique" in said:
            hints.append(f"'{name}' must be unique, so choose another")
        elif "blank" in said or "missing" in said or "required" in said:
            hints.append(f"give '{name}'")
        elif "invalid" in said or "not a valid" in said or "not a number" in said or "format" in said:
            hints.append(f"correct the format of '{name}'")
    return "; ".join(dict.fromkeys(hints)) if hints else "correct the listed fields"


def _details(fields: dict[str, list[str]]) -> str:
    parts = []
    for name, messages in fields.items():
        for message in messages:
            parts.append(message if name == "base" else f"{name}: {message}")
    return "; ".join(parts)


# ---- building errors -----------------------------------------------------------------------------


def _attempts(n: int) -> str:
    return "1 attempt" if n == 1 else f"{n} attempts"


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _find_hint(path: str) -> str:
    target, parent = paths.focus(paths.parse(path))
    tool = (target.list_tool if target else None) or (parent.list_tool if parent else None)
    if tool:
        return f"Use {tool} to find valid ids."
    return "Check the id (it may have been deleted)."


def from_status(
    response: httpx.Response, method: str, path: str, *, attempts: int = 1, retry_after: float | None = None
) -> ClientaryError:
    """Error for a non-success status on a request whose outcome is known (reads, or writes refused)."""
    status = response.status_code
    where = f"{method} {path}"
    common = {"status": status, "method": method, "path": path, "attempts": attempts}
    body = error_body(response)
    detail = _details(validation_fields(body)) if body is not None else ""
    said = f" Clientary said: {detail}." if detail else ""

    if status == 401:
        return AuthError(
            f"Clientary rejected the API credentials (HTTP 401 on {where}). Check CLIENTARY_API_TOKEN "
            "(generate a new token on your Clientary profile page if it was revoked) and that it belongs "
            "to the account in CLIENTARY_DOMAIN. Retrying will not help.",
            **common,
        )
    if status == 403:
        return ForbiddenError(
            f"The API token's user lacks permission for {where} (HTTP 403).{said} Ask a Clientary account "
            "administrator to grant access, or use a token of a user who has it. Retrying will not help.",
            **common,
        )
    if status == 404:
        target, _ = paths.focus(paths.parse(path))
        if target is None or target.id is None:
            return NotFoundError(
                f"Clientary answered 404 for {where}: the account was not found. Check that "
                "CLIENTARY_DOMAIN is your account subdomain (or CLIENTARY_BASE_URL the right server).",
                **common,
            )
        what = paths.describe(path)
        return NotFoundError(
            f"{_cap(what)} was not found (HTTP 404 on {where}); it may have been deleted or the id is "
            f"wrong. {_find_hint(path)}",
            **common,
        )
    if status == 426:
        target, _ = paths.focus(paths.parse(path))
        noun = f"{target.noun} records" if target else "records"
        return PlanLimitError(
            f"The Clientary plan's limit on {noun} has been reached (HTTP 426 on {where}).{said} Upgrade "
            f"the account's plan or delete {noun} that are no longer needed, then try again. Nothing was "
            "created.",
            **common,
        )
    if status == 429:
        wait = f"Wait {retry_after:g} seconds" if retry_after is not None else "Wait a minute"
        return RateLimitedError(
            f"Clientary is rate limiting requests (HTTP 429 on {where}); gave up after "
            f"{_attempts(attempts)}. {wait} before trying again"
            + ("; the change was not applied." if method != "GET" else "."),
            retry_after=retry_after,
            **common,
        )
    if status >= 500:
        return ServerError(
            f"Clientary had a server error (HTTP {status} on {where}) after {_attempts(attempts)}.{said} "
            "This is usually temporary; try again in a minute.",
            retry_after=retry_after,
            **common,
        )
    if 300 <= status < 400:
        location = response.headers.get("location", "").split("?", 1)[0]
        return BadResponseError(
            f"Clientary redirected {where} (HTTP {status}) to {snippet(location, 120) or 'another address'}. "
            "Check CLIENTARY_DOMAIN / CLIENTARY_BASE_URL (the API is served over https).",
            **common,
        )
    fields = validation_fields(body)
    reason = "validation failed" if status == 422 else "request rejected"
    explained = f": {_details(fields)}" if fields else " without saying why"
    return ValidationError(
        f"Clientary rejected {where} (HTTP {status}, {reason}){explained}. Nothing was changed; "
        f"{_fix_hint(fields)} and try again.",
        fields=fields,
        **common,
    )


def bad_response(
    method: str, path: str, problem: str, *, status: int | None = None, body: str = "", write: bool = False
) -> BadResponseError:
    excerpt = snippet(body) if body else ""
    seen = f' Start of the body: "{excerpt}".' if excerpt else ""
    if write:
        # A 2xx to a write means the change was probably made; only the answer is unreadable.
        advice = f"The change was probably applied. {_check_hint(method, path)}"
    else:
        advice = (
            "Check that CLIENTARY_DOMAIN / CLIENTARY_BASE_URL points at the Clientary API; if it does, "
            "Clientary may be having trouble, so try again later."
        )
    return BadResponseError(
        f"Clientary sent an unusable response to {method} {path} (HTTP {status}): {problem}.{seen} {advice}",
        status=status,
        method=method,
        path=path,
    )


def _check_hint(method: str, path: str) -> str:
    refs = paths.parse(path)
    target, parent = paths.focus(refs)
    if target is None:
        return "Check the current state before retrying."
    if method == "POST" and refs[-1].collection == "messages":
        return (
            f"The email for {target} may already have been sent; do not send it again unless you have "
            f"confirmed it was not (e.g. with {target.get_tool or 'the matching get tool'} or by asking "
            "the recipient)."
        )
    if method == "POST":
        new = refs[-1]
        scope = f" of {target}" if target is not new else ""
        lister = new.list_tool or target.list_tool or "the matching list tool"
        return (
            f"Before retrying, check whether the new {new.noun}{scope} exists (e.g. with {lister}) "
            "so it is not created twice."
        )
    checker = target.get_tool or target.list_tool or (parent.list_tool if parent else None)
    how = f" with {checker}" if checker else ""
    if method == "DELETE":
        return f"Check whether {paths.describe(path)} still exists{how} before retrying."
    return f"Check the current state of {paths.describe(path)}{how} before retrying."


def unknown_outcome(
    method: str, path: str, cause: str, *, status: int | None = None, attempts: int = 1
) -> UnknownOutcomeError:
    return UnknownOutcomeError(
        f"{method} {path} may or may not have been applied: {cause}. It was not repeated automatically "
        f"because the change may already have taken effect. {_check_hint(method, path)}",
        status=status,
        method=method,
        path=path,
        attempts=attempts,
    )


def from_transport(
    exc: httpx.TransportError, method: str, path: str, *, attempts: int = 1, server: str = "Clientary"
) -> ClientaryError:
    """Error for a request that got no answer and certainly had no effect (or was a read)."""
    write = method != "GET"
    unchanged = " Nothing was changed." if write else ""
    common = {"method": method, "path": path, "attempts": attempts}
    if isinstance(exc, httpx.TimeoutException):
        return ClientaryTimeoutError(
            f"{method} {path} timed out ({type(exc).__name__}) after {_attempts(attempts)}.{unchanged} "
            "Clientary may be slow or unreachable; try again shortly"
            + (", or fetch a single page instead of every page." if not write else "."),
            **common,
        )
    return ClientaryConnectionError(
        f"Could not reach {server} for {method} {path} ({type(exc).__name__}) after "
        f"{_attempts(attempts)}.{unchanged} Check the network connection and CLIENTARY_DOMAIN / "
        "CLIENTARY_BASE_URL, then try again.",
        **common,
    )


__all__ = [
    "ClientaryError",
    "AuthError",
    "ForbiddenError",
    "NotFoundError",
    "ValidationError",
    "PlanLimitError",
    "RateLimitedError",
    "ServerError",
    "ClientaryTimeoutError",
    "ClientaryConnectionError",
    "BadResponseError",
    "UnknownOutcomeError",
    "from_status",
    "from_transport",
    "bad_response",
    "unknown_outcome",
    "validation_fields",
    "snippet",
]
