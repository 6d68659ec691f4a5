"""Composite tools (toolset `workflows`): one call for a job that takes many Clientary requests.

Each is a ToolSpec like any other (validated, policed, audited with every request it made) whose `runner`
does the job through the same API client.
"""

from __future__ import annotations

from ..base import ToolSpec
from . import billing, finding, leads, reports


def _within_limit(runner):
    """All of a job's requests share the page concurrency, however many reads it runs at once."""
    async def run(api, args):
        with api.one_job():
            return await runner(api, args)

    return run


def _workflow(name: str, title: str, kind: str, description: str, requests: str, fields, runner, out,
              idempotent: bool | None = None) -> ToolSpec:
    return ToolSpec(name=name, title=title, kind=kind, toolset="workflows", description=description,  # type: ignore[arg-type]
                    method="MULTI", path=requests, fields=fields, runner=_within_limit(runner), output=out,
                    idempotent=idempotent)


TOOLS = [
    _workflow("invoice_unbilled_hours", "Invoice unbilled hours", "write",
              "Turn a project's unbilled hours into a draft invoice and mark exactly those billed; a rerun finishes.",
              "GET project, hours, invoices; POST /invoices; PUT /hours/:id each", billing.TOOL_FIELDS,
              billing.invoice_unbilled_hours, billing.OUTPUT, idempotent=True),
    _workflow("find_overdue_invoices", "Find overdue invoices", "read",
              "Invoices past due with a balance, all clients: client name, days late, oldest first, totals.",
              "GET /invoices, /clients (all pages)", finding.OVERDUE_FIELDS, finding.find_overdue_invoices,
              finding.LIST_OUTPUT),
    _workflow("find_contacts", "Find contacts", "read",
              "Contacts of all clients and leads whose email or name matches; check before create_contact.",
              "GET /contacts (all pages), the matches' clients", finding.CONTACT_FIELDS, finding.find_contacts,
              finding.LIST_OUTPUT),
    _workflow("convert_lead", "Convert lead", "write",
              "Make a lead a client with its fields and contacts (and a first project); the lead stays.",
              "GET lead, contacts; POST /clients, /clients/:id/contacts, /projects", leads.TOOL_FIELDS,
              leads.convert_lead, leads.OUTPUT, idempotent=False),
    _workflow("project_profitability", "Project profitability", "read",
              "A project's hours (billed, unbilled, value), expenses of all dates, invoiced, paid, budget, margin.",
              "GET project, hours, expenses, invoices", reports.PROFIT_FIELDS, reports.project_profitability,
              reports.PROFIT_OUTPUT),
    _workflow("time_audit", "Time audit", "read",
              "Hour entries in a date range lacking a description, unbilled too long or over budget, per staff.",
              "GET /projects, /staff, each project's hours", reports.AUDIT_FIELDS, reports.time_audit,
              reports.AUDIT_OUTPUT),
]
