"""Turn an API path into words an agent can act on ("payment 7 of invoice 3", which tool lists them)."""

from __future__ import annotations

from dataclasses import dataclass

# collection segment -> (singular noun, tool that lists them, tool that fetches one)
_RESOURCES: dict[str, tuple[str, str | None, str | None]] = {
    "clients": ("client", "list_clients", "get_client"),
    "contacts": ("contact", "list_client_contacts", "get_contact"),
    "leads": ("lead", "list_leads", "get_lead"),
    "projects": ("project", "list_projects", "get_project"),
    "hours": ("hour entry", "list_project_hours", "get_hour_entry"),
    "expenses": ("expense", "list_expenses", "get_expense"),
    "estimates": ("estimate", "list_estimates", "get_estimate"),
    "invoices": ("invoice", "list_client_invoices", "get_invoice"),
    "payments": ("payment", "list_payments", None),
    "payment_profiles": ("payment profile", "list_client_payment_profiles", None),
    "recurring": ("recurring schedule", None, None),
    "tasks": ("task", "list_tasks", "get_task"),
    "staff": ("staff member", "list_staff", "get_staff"),
    "messages": ("message", None, None),
}


@dataclass(frozen=True)
class Ref:
    collection: str
    id: str | None = None

    @property
    def noun(self) -> str:
        known = _RESOURCES.get(self.collection)
        return known[0] if known else self.collection.removesuffix("s").replace("_", " ")

    @property
    def list_tool(self) -> str | None:
        known = _RESOURCES.get(self.collection)
        return known[1] if known else None

    @property
    def get_tool(self) -> str | None:
        known = _RESOURCES.get(self.collection)
        return known[2] if known else None

    def __str__(self) -> str:
        return f"{self.noun} {self.id}" if self.id is not None else self.noun


def parse(path: str) -> list[Ref]:
    """`/api/v2/invoices/3/payments/7` -> [Ref(invoices, 3), Ref(payments, 7)]."""
    path = path.split("?", 1)[0]
    if path.endswith(".json"):
        path = path[: -len(".json")]
    segments = [s for s in path.split("/") if s]
    if segments[:2] == ["api", "v2"]:
        segments = segments[2:]
    refs = []
    for i in range(0, len(segments), 2):
        refs.append(Ref(segments[i], segments[i + 1] if i + 1 < len(segments) else None))
    return refs


def focus(refs: list[Ref]) -> tuple[Ref | None, Ref | None]:
    """The record a path is about and its parent record, if any."""
    if not refs:
        return None, None
    target, parents = refs[-1], refs[:-1]
    if target.id is None and parents:
        # A collection below a record (`/projects/5/hours`): the record is what matters.
        target, parents = parents[-1], parents[:-1]
    parent = parents[-1] if parents and parents[-1].id is not None else None
    return target, parent


def describe(path: str) -> str:
    """Words for the record a path names: "payment 7 of invoice 3", "client 99", "the client list"."""
    target, parent = focus(parse(path))
    if target is None:
        return "the requested resource"
    if target.id is None:
        return f"the {target.noun} list"
    return f"{target} of {parent}" if parent else str(target)


__all__ = ["Ref", "parse", "focus", "describe"]
