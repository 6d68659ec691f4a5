"""The registry: every Clientary action as one declarative ToolSpec, grouped by resource."""

from __future__ import annotations

from . import (clients, contacts, estimates, expenses, hours, invoices, leads, payments, projects, recurring, staff, tasks,
               workflows)
from .base import ArgumentError, Field, ToolSpec, validate_arguments

_MODULES = (clients, contacts, leads, projects, hours, tasks, expenses, estimates, invoices, payments, recurring, staff,
            workflows)

TOOLSETS: tuple[str, ...] = (
    "clients", "contacts", "leads", "projects", "hours", "tasks",
    "expenses", "estimates", "invoices", "payments", "recurring", "staff", "workflows",
)

REGISTRY: tuple[ToolSpec, ...] = tuple(spec for module in _MODULES for spec in module.TOOLS)
BY_NAME: dict[str, ToolSpec] = {spec.name: spec for spec in REGISTRY}

__all__ = ["REGISTRY", "BY_NAME", "TOOLSETS", "ToolSpec", "Field", "ArgumentError", "validate_arguments"]
