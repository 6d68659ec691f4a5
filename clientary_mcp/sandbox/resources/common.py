"""Helpers every resource module uses."""

from __future__ import annotations

import copy
from typing import Any, Callable

from ..documents import ItemKind, apply_items, check_number, next_number
from ..http import Call, Renderer, raise_if
from ..values import Errors, Schema, is_blank

Result = tuple[int, dict[str, Any]]
Handler = Callable[[Call], Result]
# (HTTP method, path under /api/v2, handler)
RouteSpec = tuple[str, str, Handler]

DELETED: Result = (200, {})


def edited(call: Call, schema: Schema, base: dict[str, Any], attrs: dict[str, Any]) -> tuple[dict[str, Any], Errors]:
    """A changed copy of `base`; the stored record is only replaced once it validates."""
    candidate = copy.deepcopy(base)
    errors = Errors()
    schema.apply(call.store, attrs, candidate, errors)
    return candidate, errors


def created(call: Call, table: str, record: dict[str, Any], errors: Errors, render: Renderer) -> Result:
    raise_if(errors)
    return 201, render(call.store, call.store.insert(table, record))


def updated(call: Call, table: str, record: dict[str, Any], errors: Errors, render: Renderer) -> Result:
    raise_if(errors)
    return 200, render(call.store, call.store.save(table, record))


def by_name(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(rows, key=lambda row: ((row.get("name") or "").casefold(), row["id"]))


def newest_first(rows: list[dict[str, Any]], key: str = "created_at") -> list[dict[str, Any]]:
    return sorted(rows, key=lambda row: (row[key], row["id"]), reverse=True)


def save_document(
    call: Call,
    *,
    table: str,
    wrapper: str,
    schema: Schema,
    kind: ItemKind,
    base: dict[str, Any],
    first_number: int,
    render: Renderer,
    check: Callable[[dict[str, Any], Errors], None] | None = None,
) -> Result:
    """Create or update an invoice, estimate or recurring schedule with its nested items."""
    attrs = call.wrapped(wrapper)
    record, errors = edited(call, schema, base, attrs)
    if kind.attribute in attrs:
        record["items"] = apply_items(call.store, kind, record["items"], attrs[kind.attribute], errors)
    rows = call.store.table(table)
    creating = "id" not in base
    if creating and is_blank(record.get("number")):
        record["number"] = next_number(rows, first_number)
    check_number(rows, record, errors)
    project = call.store.get("projects", record.get("project_id"))
    if project and not record.get("client_id"):
        record["client_id"] = project.get("client_id")
    if check is not None:
        check(record, errors)
    return (created if creating else updated)(call, table, record, errors, render)


def by_date_newest(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(rows, key=lambda row: (row["date"], row["id"]), reverse=True)
