"""In-memory records of the sandbox account.

Records are plain dicts keyed by id inside one dict per table. Values keep Python
types (dates, datetimes, floats); `render.py` turns them into API JSON.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any, Iterable, NamedTuple

TABLES = (
    "staff",
    "clients",
    "leads",
    "contacts",
    "projects",
    "hours",
    "tasks",
    "expenses",
    "estimates",
    "invoices",
    "payments",
    "payment_profiles",
    "recurring",
    "messages",
)

# Leads mirror clients and a contact's or estimate's `client_id` may point at either,
# so both draw ids from one sequence and an id names exactly one of them.
ID_SEQUENCES = {"leads": "clients"}


class RequestRecord(NamedTuple):
    method: str
    path: str
    status: int


@dataclass
class AccountSettings:
    name: str = "Sandbox Studio"
    fiscal_year_start_month: int = 1
    stripe_enabled: bool = True
    token_user_id: int = 1  # the staff user the API token belongs to


class Store:
    def __init__(self, today: date | None = None, settings: AccountSettings | None = None) -> None:
        self._fixed_today = today
        self.settings = settings or AccountSettings()
        self.requests: list[RequestRecord] = []
        self._tables: dict[str, dict[int, dict[str, Any]]] = {name: {} for name in TABLES}
        self._last_ids: dict[str, int] = {}
        self._children: dict[tuple[str, str], dict[Any, list[dict[str, Any]]]] = {}

    # --- time -----------------------------------------------------------------
    def today(self) -> date:
        return self._fixed_today or date.today()

    def now(self) -> datetime:
        clock = datetime.now(timezone.utc).replace(microsecond=0)
        if self._fixed_today is None:
            return clock
        return datetime.combine(self._fixed_today, clock.timetz())

    def fiscal_year(self) -> tuple[date, date]:
        today, month = self.today(), self.settings.fiscal_year_start_month
        start_year = today.year if today.month >= month else today.year - 1
        start = date(start_year, month, 1)
        end = date(start_year + 1, month, 1) - timedelta(days=1)
        return start, end

    # --- ids ------------------------------------------------------------------
    def next_id(self, sequence: str) -> int:
        """Ids only grow, per resource, and are never reused after a delete."""
        sequence = ID_SEQUENCES.get(sequence, sequence)
        self._last_ids[sequence] = self._last_ids.get(sequence, 0) + 1
        return self._last_ids[sequence]

    # --- reading --------------------------------------------------------------
    def table(self, name: str) -> list[dict[str, Any]]:
        """The live records of one table in id order (treat them as read-only)."""
        return [self._tables[name][key] for key in sorted(self._tables[name])]

    def get(self, name: str, record_id: Any) -> dict[str, Any] | None:
        if not isinstance(record_id, int) or isinstance(record_id, bool):
            return None
        return self._tables[name].get(record_id)

    def where(self, table: str, /, **criteria: Any) -> list[dict[str, Any]]:
        """Records whose fields equal the given values, e.g. `where("contacts", client_id=2)`."""
        return [row for row in self.table(table) if all(row.get(k) == v for k, v in criteria.items())]

    def children(self, table: str, key: str, value: Any) -> list[dict[str, Any]]:
        """`where(table, key=value)` through an index, for the hot paths of rendering (an invoice's payments, a
        project's hours). The index is dropped by any insert, save or remove in the table, so a row changed in
        place must be saved before it is looked up this way."""
        index = self._children.get((table, key))
        if index is None:
            index = {}
            for row in self.table(table):
                index.setdefault(row.get(key), []).append(row)
            self._children[(table, key)] = index
        return list(index.get(value, ()))

    def _changed(self, table: str) -> None:
        for known in [k for k in self._children if k[0] == table]:
            del self._children[known]

    def count(self, name: str) -> int:
        return len(self._tables[name])

    def counts(self) -> dict[str, int]:
        return {name: len(rows) for name, rows in self._tables.items()}

    def snapshot(self, name: str) -> list[dict[str, Any]]:
        return copy.deepcopy(self.table(name))

    # --- saving (see saved.py) -------------------------------------------------
    def export(self) -> dict[str, Any]:
        """Everything that makes up the account, for saving it between processes."""
        return {"tables": {name: list(rows.values()) for name, rows in self._tables.items()},
                "last_ids": dict(self._last_ids)}

    def restore(self, state: dict[str, Any]) -> None:
        """Replace the account with one `export()` returned (tables it lacks stay empty)."""
        self._tables = {name: {} for name in TABLES}
        for name, rows in state.get("tables", {}).items():
            if name in self._tables:
                self._tables[name] = {int(row["id"]): row for row in rows}
        self._last_ids = {str(k): int(v) for k, v in state.get("last_ids", {}).items()}

    # --- writing --------------------------------------------------------------
    def insert(self, name: str, record: dict[str, Any]) -> dict[str, Any]:
        if "id" not in record:
            record["id"] = self.next_id(name)
        stamp = self.now()
        record.setdefault("created_at", stamp)
        record.setdefault("updated_at", stamp)
        self._tables[name][record["id"]] = record
        self._changed(name)
        return record

    def save(self, name: str, record: dict[str, Any]) -> dict[str, Any]:
        record["updated_at"] = self.now()
        self._tables[name][record["id"]] = record
        self._changed(name)
        return record

    def touch(self, name: str, record_id: int) -> None:
        record = self.get(name, record_id)
        if record is not None:
            record["updated_at"] = self.now()

    def remove(self, name: str, record_ids: Iterable[int]) -> int:
        removed = 0
        for record_id in list(record_ids):
            removed += self._tables[name].pop(record_id, None) is not None
        self._changed(name)
        return removed
