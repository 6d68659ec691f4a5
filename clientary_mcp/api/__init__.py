"""Async client for the Clientary REST API (v2)."""

from . import trace
from .client import USER_AGENT, ClientaryClient
from .errors import (
    AuthError,
    BadResponseError,
    ClientaryConnectionError,
    ClientaryError,
    ClientaryTimeoutError,
    ForbiddenError,
    NotFoundError,
    PlanLimitError,
    RateLimitedError,
    ServerError,
    UnknownOutcomeError,
    ValidationError,
)
from .pagination import Page

ERROR_KINDS = (
    "auth",
    "forbidden",
    "not_found",
    "validation",
    "plan_limit",
    "rate_limited",
    "server",
    "timeout",
    "connection",
    "bad_response",
    "unknown_outcome",
)

__all__ = [
    "ClientaryClient",
    "Page",
    "USER_AGENT",
    "ERROR_KINDS",
    "trace",
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
]
