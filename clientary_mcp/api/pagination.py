"""List envelopes: `{"page_count", "page_size", "total_count", "<key>": [...]}` and its older variants."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

_COUNTS = ("page_count", "page_size", "total_count")


@dataclass
class Page:
    items: list[dict]
    page: int | None
    page_count: int | None
    page_size: int | None
    total_count: int | None
    truncated: bool = False  # list_all stopped at max_records while records remained
    pages_fetched: int = 1
    extra: dict = field(default_factory=dict)  # other envelope keys, e.g. from_date/to_date


class EnvelopeError(ValueError):
    """The body is not the list envelope expected; the message says what was wrong."""


def _count(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    if isinstance(value, float) and value.is_integer() and value >= 0:
        return int(value)
    return None


def _items(data: Any, key: str) -> tuple[list[dict], dict]:
    if isinstance(data, list):
        envelope: dict = {}
        items = data  # the Ronin-era bare array
    elif isinstance(data, dict):
        if key not in data:
            found = ", ".join(sorted(map(str, data))[:8]) or "none"
            raise EnvelopeError(f"expected a '{key}' list in the response but found keys: {found}")
        envelope, items = data, data[key]
        if items is None:
            items = []
    else:
        raise EnvelopeError(f"expected a JSON object with a '{key}' list, got {type(data).__name__}")
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise EnvelopeError(f"expected '{key}' to be a list of records")
    return items, envelope


def parse_page(data: Any, key: str, page: int) -> Page:
    items, envelope = _items(data, key)
    page_count, page_size, total_count = (_count(envelope.get(k)) for k in _COUNTS)
    if page_count is None and total_count is not None and page_size:
        page_count = max(1, math.ceil(total_count / page_size))
    extra = {k: v for k, v in envelope.items() if k != key and k not in _COUNTS}
    return Page(items, page, page_count, page_size, total_count, extra=extra)


def parse_unpaginated(data: Any, key: str) -> Page:
    items, envelope = _items(data, key)
    total = _count(envelope.get("total_count"))
    extra = {k: v for k, v in envelope.items() if k != key and k not in _COUNTS}
    return Page(items, None, None, None, len(items) if total is None else total, extra=extra)


def pages_needed(first: Page, cap: int) -> int:
    """Last page to fetch so that at least `cap` records arrive (never beyond the known page count).

    `page_count` comes from the server, so it is trusted only as far as the record cap can need: pages of
    `page_size` (or, without it, of the first page's length) records each. An empty first page means
    there is nothing to fetch, whatever `page_count` claims.
    """
    known = first.page_count or 1
    per_page = max(first.page_size or 0, len(first.items))
    if not first.items or per_page <= 0:
        return 1
    return max(1, min(known, math.ceil(cap / per_page)))


def merge(pages: list[Page], cap: int) -> tuple[list[dict], bool]:
    """Records of pages in order, each `id` once (first wins), at most `cap`; and whether any were cut."""
    seen: set = set()
    out: list[dict] = []
    for page in pages:
        for item in page.items:
            ident = item.get("id")
            if ident is not None:
                marker = ident if isinstance(ident, (int, str)) else repr(ident)
                if marker in seen:
                    continue
                seen.add(marker)
            out.append(item)
    return out[:cap], len(out) > cap


__all__ = ["Page", "EnvelopeError", "parse_page", "parse_unpaginated", "pages_needed", "merge"]
