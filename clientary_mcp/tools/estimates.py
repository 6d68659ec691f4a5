"""Estimates: quotes for clients or leads. Read-only here."""

from .common import get_tool, list_tool, path_id

TOOLS = [
    list_tool("list_estimates", "List estimates", "estimates", "List all estimates, 30 per page.",
              "/api/v2/estimates", "estimates", "estimate"),
    list_tool("list_client_estimates", "List client estimates", "estimates",
              "List one client's estimates, 30 per page.",
              "/api/v2/clients/{client_id}/estimates", "estimates", "estimate",
              scope=(path_id("client_id", "Client"),)),
    list_tool("list_project_estimates", "List project estimates", "estimates",
              "List one project's estimates, 30 per page.",
              "/api/v2/projects/{project_id}/estimates", "estimates", "estimate",
              scope=(path_id("project_id", "Project"),)),
    get_tool("get_estimate", "Get estimate", "estimates", "Get one estimate with its items and totals.",
             "/api/v2/estimates/{id}", "estimate", "Estimate"),
]
