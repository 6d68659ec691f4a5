"""What the composite tools share: bounded concurrent reads, whole-list reads that respect the record cap."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

import anyio

from ..base import Incomplete
from ..shapes import shape_record

if TYPE_CHECKING:
    from ...api import ClientaryClient, Page

T = TypeVar("T")
ALL_TIME = {"from_date": "1970-01-01", "to_date": "2100-12-31"}  # expense lists default to the fiscal year


def today() -> _dt.date:
    return _dt.date.today()


def day(value: Any) -> _dt.date | None:
    """An ISO date from a shaped record, or None."""
    if isinstance(value, str) and len(value) >= 10:
        try:
            return _dt.date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


def cents(value: float) -> float:
    return round(value + 0.0, 2)


def number(value: Any) -> float:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0.0


async def gather(api: ClientaryClient, jobs: list[Callable[[], Awaitable[T]]]) -> list[T | BaseException]:
    """Run the jobs with at most `page_concurrency` in flight; each result or its ClientaryError, in order."""
    from ...api import ClientaryError

    results: list[Any] = [None] * len(jobs)
    queue = iter(range(len(jobs)))

    async def worker() -> None:
        for i in queue:
            try:
                results[i] = await jobs[i]()
            except ClientaryError as exc:
                results[i] = exc

    async with anyio.create_task_group() as tg:
        for _ in range(max(1, min(api.settings.page_concurrency, len(jobs)))):
            tg.start_soon(worker)
    return results


async def both(*jobs: Callable[[], Awaitable[Any]]) -> list[Any]:
    """Independent reads at once; the first failure is raised (nothing was changed yet)."""
    results: list[Any] = [None] * len(jobs)

    async def run(i: int) -> None:
        try:
            results[i] = await jobs[i]()
        except Exception as exc:  # kept, so the caller sees the API error itself, not an exception group
            results[i] = exc

    async with anyio.create_task_group() as tg:
        for i in range(len(jobs)):
            tg.start_soon(run, i)
    first_error(results)
    return results


def first_error(results: list[Any]) -> None:
    for result in results:
        if isinstance(result, BaseException):
            raise result


async def read_all(api: ClientaryClient, path: str, key: str, entity: str,
                   params: dict[str, Any] | None = None) -> tuple[list[dict[str, Any]], Page]:
    page = await api.list_all(path, key, params=params)
    return [shape_record(entity, item) for item in page.items], page


def cap_note(what: str, page: Page) -> str:
    return (f"Stopped at the record cap: read {len(page.items)} of {page.total_count} {what} "
            "(CLIENTARY_MAX_RECORDS); the figures cover only those.")


def output(**props: Any) -> dict[str, Any]:
    return {"type": "object", "properties": {"status": {"type": "string"}, "summary": {"type": "string"}, **props}}


__all__ = ["Incomplete", "ALL_TIME", "gather", "both", "read_all", "cap_note", "day", "today", "cents", "number",
           "first_error", "output"]
