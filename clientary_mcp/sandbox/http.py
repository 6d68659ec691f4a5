"""Request context, error responses and list envelopes shared by all handlers."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Callable

from starlette.datastructures import QueryParams

from .values import Errors, Invalid, parse_date, parse_since

if TYPE_CHECKING:
    from .faults import Faults
    from .store import Store

Renderer = Callable[["Store", dict[str, Any]], dict[str, Any]]
MAX_PAGE_SIZE = 100


class ApiError(Exception):
    def __init__(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        super().__init__(status, body)
        self.status = status
        self.body = body
        self.headers = headers or {}


def not_found() -> ApiError:
    return ApiError(404, {"error": "Not Found"})


def invalid(errors: Errors | dict[str, list[str]]) -> ApiError:
    by_field = errors.by_field if isinstance(errors, Errors) else errors
    return ApiError(422, {"errors": by_field})


def raise_if(errors: Errors) -> None:
    if errors:
        raise invalid(errors)


def parse_body(raw: bytes) -> dict[str, Any]:
    if not raw.strip():
        return {}
    try:
        payload = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ApiError(400, {"error": "Malformed JSON in request body"}) from None
    if not isinstance(payload, dict):
        raise ApiError(400, {"error": "Request body must be a JSON object"})
    return payload


@dataclass
class Call:
    """Everything a handler may look at. Handlers are synchronous on purpose: a handler's
    reads and writes of the store then run without interleaving with other requests."""

    store: Store
    faults: Faults
    params: dict[str, Any]
    query: QueryParams
    body: dict[str, Any]

    def wrapped(self, key: str) -> dict[str, Any]:
        """The attributes inside the resource's wrapper key (422 naming the key when absent)."""
        attrs = self.body.get(key)
        if not isinstance(attrs, dict) or not attrs:  # Rails `params.require` rejects an empty hash too
            message = f"param is missing or the value is empty: {key}"
            raise ApiError(422, {"error": message, "errors": {key: ["is missing"]}})
        return attrs

    def record(self, table: str, key: str = "id") -> dict[str, Any]:
        row = self.store.get(table, self.params[key])
        if row is None:
            raise not_found()
        return row

    def query_date(self, name: str) -> date | None:
        text = self.query.get(name)
        if text is None or not text.strip():
            return None
        try:
            return parse_date(text)
        except Invalid as problem:
            raise invalid({name: [str(problem)]}) from None

    def query_since(self, name: str) -> datetime | None:
        text = self.query.get(name)
        if text is None or not text.strip():
            return None
        try:
            return parse_since(text)
        except Invalid as problem:
            raise invalid({name: [str(problem)]}) from None

    def _positive(self, name: str) -> int | None:
        text = self.query.get(name)
        if text is None or not text.strip():
            return None
        if not text.strip().isdigit() or int(text) < 1:
            raise invalid({name: ["must be a positive integer"]})
        return int(text)

    def page(
        self, key: str, rows: list[dict[str, Any]], render: Renderer, size: int, sizable: bool = False
    ) -> dict[str, Any]:
        """The paginated envelope; a page past the end is empty but keeps the counts."""
        number = self._positive("page") or 1
        if sizable:
            size = min(self._positive("page_size") or size, MAX_PAGE_SIZE)
        window = rows[(number - 1) * size : number * size]
        return {
            "page_count": math.ceil(len(rows) / size),
            "page_size": size,
            "total_count": len(rows),
            key: [render(self.store, row) for row in window],
        }

    def check_plan_limit(self, table: str) -> None:
        limit = self.faults.plan_limit_after
        if limit is not None and self.store.count(table) >= limit:
            raise ApiError(426, {"error": f"Your plan's limit for {table} has been reached. Please upgrade your plan."})
