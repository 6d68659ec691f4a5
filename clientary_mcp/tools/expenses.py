"""Expenses: money spent for the account, a client or a project; listed by date window."""

from .base import Field
from .common import FROM_DATE, TO_DATE, create_tool, delete_tool, get_tool, list_tool, path_id, update_tool

EXPENSE_FIELDS = (
    Field("amount", "number", "Amount", required=True),
    Field("description", "text", "What it was for"),
    Field("incurred_on", "date", "Date spent"),
    Field("client_id", "id", "Client id"),
    Field("project_id", "id", "Project id"),
)
WINDOW = (FROM_DATE, TO_DATE)

TOOLS = [
    list_tool("list_expenses", "List expenses", "expenses",
              "List all expenses in a date window (default: this fiscal year); not paged.",
              "/api/v2/expenses", "expenses", "expense", filters=WINDOW, paging="window"),
    list_tool("list_client_expenses", "List client expenses", "expenses",
              "List one client's expenses in a date window; not paged.",
              "/api/v2/clients/{client_id}/expenses", "expenses", "expense",
              scope=(path_id("client_id", "Client"),), filters=WINDOW, paging="window"),
    list_tool("list_project_expenses", "List project expenses", "expenses",
              "List one project's expenses in a date window; not paged.",
              "/api/v2/projects/{project_id}/expenses", "expenses", "expense",
              scope=(path_id("project_id", "Project"),), filters=WINDOW, paging="window"),
    get_tool("get_expense", "Get expense", "expenses", "Get one expense by id.",
             "/api/v2/expenses/{id}", "expense", "Expense"),
    create_tool("create_expense", "Create expense", "expenses",
                "Record an expense, optionally on a client or project.",
                "/api/v2/expenses", "expense", "expense", EXPENSE_FIELDS),
    update_tool("update_expense", "Update expense", "expenses", "Change an expense's fields.",
                "/api/v2/expenses/{id}", "expense", "expense", EXPENSE_FIELDS, "Expense"),
    delete_tool("delete_expense", "Delete expense", "expenses", "Permanently delete an expense.",
                "/api/v2/expenses/{id}", "expense", (path_id("id", "Expense"),)),
]
