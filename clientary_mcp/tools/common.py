"""Fields and builders shared by the resource modules, so each tool is declared in a few lines."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from .base import Field, ToolSpec

PAGE = Field("page", "int", "Page", loc="query", minimum=1)  # minimum says it starts at 1
PAGE_SIZE = Field("page_size", "int", "Per page (default 10)", loc="query", minimum=1, maximum=100)
ALL_PAGES = Field("all_pages", "bool", "All pages (capped)", loc="control")
FROM_DATE = Field("from_date", "date", "From (default: fiscal year)", loc="query")
TO_DATE = Field("to_date", "date", "To (default: fiscal year)", loc="query")
CONFIRM = Field(
    "confirm", "string", "Preview token; omit to preview", loc="control"
)

TAX_FIELDS: tuple[Field, ...] = (
    Field("tax", "number", "Tax %"),
    Field("tax_label", "string", "Tax name"),
    Field("tax2", "number", "Tax 2 %"),
    Field("tax2_label", "string", "Tax 2 name"),
    Field("tax3", "number", "Tax 3 %"),
    Field("tax3_label", "string", "Tax 3 name"),
    Field("compound_tax", "bool", "Tax 2 on top of tax 1"),
)
CURRENCY = Field("currency_code", "string", "Currency, e.g. USD")


def path_id(name: str, what: str) -> Field:
    return Field(name, "id", f"{what} id", required=True, loc="path")


def optional(fields: tuple[Field, ...]) -> tuple[Field, ...]:
    return tuple(replace(f, required=False) for f in fields)


def _tool(kind: str, method: str, name: str, title: str, toolset: str, description: str, path: str,
          **spec: Any) -> ToolSpec:
    return ToolSpec(name=name, title=title, kind=kind, toolset=toolset, description=description,  # type: ignore[arg-type]
                    method=method, path=path, **spec)


def list_tool(name: str, title: str, toolset: str, description: str, path: str, key: str, entity: str, *,
              scope: tuple[Field, ...] = (), filters: tuple[Field, ...] = (), paging: str = "pages") -> ToolSpec:
    paging_fields = (PAGE, ALL_PAGES) if paging == "pages" else ()
    return _tool("read", "GET", name, title, toolset, description, path,
                 fields=scope + filters + paging_fields, entity=entity, list_key=key, paging=paging)


def get_tool(name: str, title: str, toolset: str, description: str, path: str, entity: str, what: str) -> ToolSpec:
    return _tool("read", "GET", name, title, toolset, description, path, fields=(path_id("id", what),), entity=entity)


def create_tool(name: str, title: str, toolset: str, description: str, path: str, wrapper: str, entity: str,
                fields: tuple[Field, ...], *, scope: tuple[Field, ...] = ()) -> ToolSpec:
    return _tool("write", "POST", name, title, toolset, description, path,
                 fields=scope + fields, wrapper=wrapper, entity=entity)


def update_tool(name: str, title: str, toolset: str, description: str, path: str, wrapper: str, entity: str,
                fields: tuple[Field, ...], what: str) -> ToolSpec:
    # Partial update: everything optional but the id, and at least one change.
    return _tool("write", "PUT", name, title, toolset, description, path,
                 fields=(path_id("id", what),) + optional(fields), wrapper=wrapper, entity=entity, min_body_fields=1)


def delete_tool(name: str, title: str, toolset: str, description: str, path: str, entity: str,
                scope: tuple[Field, ...]) -> ToolSpec:
    return _tool("gated", "DELETE", name, title, toolset, description, path, fields=scope + (CONFIRM,), entity=entity)


def send_tool(name: str, title: str, toolset: str, description: str, path: str, what: str) -> ToolSpec:
    """Emailing a document: gated, because an email cannot be recalled."""
    return _tool("gated", "POST", name, title, toolset, description, path, entity="message", hook="send_message",
                 fields=(
                     path_id("id", what),
                     Field("recipients", "emails", "Email addresses", required=True),
                     Field("subject", "string", "Subject"),
                     Field("message", "text", "Body text"),
                     Field("send_copy", "bool", "Copy to yourself"),
                     Field("attach_pdf", "bool", "Attach the PDF"),
                     CONFIRM,
                 ))
