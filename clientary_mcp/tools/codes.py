"""Clientary's integer codes and the names agents use for them: the one mapping, in both directions.

Agents read and write names ("draft", "monthly"); Clientary stores small integers. Every enumeration of
the interface is one `Codes` here. Tool arguments declare it with `Field(name, "enum", text, codes=...)`,
and record shapes (tools/shapes.py) name it for the keys that carry it, so inputs, results and previews
all speak the same names.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Codes:
    """One enumeration: (name, Clientary code) pairs, in the order agents see them."""

    what: str  # e.g. "invoice status", for messages
    pairs: tuple[tuple[str, int], ...]

    @property
    def names(self) -> list[str]:
        return [name for name, _ in self.pairs]

    def code(self, name: str) -> int:
        """The Clientary code of a name (KeyError for an unknown one; arguments are validated first)."""
        return dict(self.pairs)[name]

    def name(self, code: Any) -> Any:
        """The name of a code Clientary sent; a code this table does not know is passed through unchanged."""
        if isinstance(code, bool):
            return code
        if isinstance(code, str) and code.strip().lstrip("-").isdigit():
            code = int(code)
        for name, known in self.pairs:
            if code == known:
                return name
        return code

    def listing(self) -> str:
        return ", ".join(self.names)


CLIENT_STATUS = Codes("client status", (("active", 1), ("archived", 2)))
PROJECT_STATUS = Codes("project status", (("active", 1), ("completed", 2), ("billable", 4)))
PROJECT_TYPE = Codes("project type", (("hourly", 0), ("fixed_amount", 2)))
BUDGET_TYPE = Codes("budget type", (("hours", 0), ("amount", 1)))
INVOICE_STATUS = Codes("invoice status", (("draft", 0), ("sent", 1), ("viewed", 2), ("cancelled", 3),
                                          ("paid", 4), ("pending", 5)))
ESTIMATE_STATUS = Codes("estimate status", (("draft", 0), ("sent", 1), ("viewed", 2), ("cancelled", 3),
                                            ("declined", 4), ("revised", 5), ("accepted", 6), ("archived", 7)))
ITEM_TYPE = Codes("item type", (("line", 3), ("header", 0)))
SCHEDULE_STATUS = Codes("schedule status", (("active", 0), ("paused", 1), ("stopped", 2)))
SCHEDULE_ACTION = Codes("schedule action", (("send", 0), ("draft", 1), ("autobill", 2)))
INTERVAL = Codes("interval", (("weekly", 1), ("every_2_weeks", 2), ("semimonthly", 3), ("every_4_weeks", 4),
                              ("monthly", 5), ("every_2_months", 6), ("quarterly", 7), ("every_4_months", 11),
                              ("every_6_months", 8), ("yearly", 9), ("every_2_years", 10)))

# Every enumeration above, for the generated table in docs/tools.md and the registry tests.
ENUMERATIONS: tuple[Codes, ...] = tuple(value for value in list(globals().values()) if isinstance(value, Codes))
