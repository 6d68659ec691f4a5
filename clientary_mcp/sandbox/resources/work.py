"""Projects, hours (time entries), tasks and expenses."""

from __future__ import annotations

from typing import Any

from .. import cascade, render
from ..documents import check_number
from ..http import Call
from ..values import BOOL, DATE, NUMBER, TEXT, Field, Schema, choice, ref, to_number
from .common import DELETED, Result, RouteSpec, by_name, created, edited, updated

NON_NEGATIVE = Field(to_number, minimum=0)
ACTIVE, COMPLETED, BILLABLE = 1, 2, 4
HOURLY, FIXED = 0, 2

PROJECT = Schema(
    {
        "number": TEXT,
        "name": TEXT,
        "description": TEXT,
        "status": choice(ACTIVE, COMPLETED, BILLABLE),
        "budget_type": choice(0, 1),
        "project_type": choice(HOURLY, FIXED),
        "budget": NON_NEGATIVE,
        "rate": NON_NEGATIVE,
        "currency_code": TEXT,
        "start_date": DATE,
        "end_date": DATE,
        "client_id": ref("clients"),
    },
    required=("name", "rate"),
)

HOURS = Schema(
    {"title": TEXT, "description": TEXT, "date": DATE, "hours": NON_NEGATIVE, "rate": NON_NEGATIVE, "billed": BOOL},
    required=("hours", "title"),
    aliases={"billed?": "billed"},
)

TASK = Schema(
    {
        "title": TEXT,
        "description": TEXT,
        "due_date": DATE,
        "project_id": ref("projects"),
        "assignee_id": ref("staff"),
        "client_id": ref("clients"),
        "complete": BOOL,
    },
    required=("title",),
    aliases={"completed": "complete"},  # the doc's update example says `completed`, its object `complete`
)

EXPENSE = Schema(
    {
        "amount": NUMBER,
        "description": TEXT,
        "incurred_on": DATE,
        "client_id": ref("clients"),
        "project_id": ref("projects"),
        "invoice_id": ref("invoices"),
    },
    required=("amount",),
)


def _client_of_project(call: Call, record: dict[str, Any]) -> None:
    """An expense or task attached to a project belongs to that project's client too."""
    project = call.store.get("projects", record.get("project_id"))
    if project and not record.get("client_id"):
        record["client_id"] = project.get("client_id")


# --- projects ------------------------------------------------------------------
def list_projects(call: Call) -> Result:
    rows = call.store.table("projects")
    if call.query.get("filter") != "all":
        rows = [row for row in rows if row["status"] in (ACTIVE, BILLABLE)]
    return 200, call.page("projects", by_name(rows), render.project, size=20)


def list_client_projects(call: Call) -> Result:
    client = call.record("clients", "client_id")
    rows = by_name(call.store.where("projects", client_id=client["id"]))
    return 200, call.page("projects", rows, render.project, size=10)


def get_project(call: Call) -> Result:
    return 200, render.project(call.store, call.record("projects"))


def _save_project(call: Call, base: dict[str, Any]) -> Result:
    record, errors = edited(call, PROJECT, base, call.wrapped("project"))
    check_number(call.store.table("projects"), record, errors)
    finish = updated if "id" in base else created
    return finish(call, "projects", record, errors, render.project)


def create_project(call: Call) -> Result:
    defaults = {"number": None, "status": ACTIVE, "budget_type": 0, "project_type": HOURLY, "budget": 0.0,
                "currency_code": "USD", "client_id": None}
    return _save_project(call, defaults)


def update_project(call: Call) -> Result:
    return _save_project(call, call.record("projects"))


def delete_project(call: Call) -> Result:
    cascade.delete_project(call.store, call.record("projects")["id"])
    return DELETED


# --- hours ---------------------------------------------------------------------
def list_project_hours(call: Call) -> Result:
    project = call.record("projects", "project_id")
    rows = call.store.where("hours", project_id=project["id"])
    wanted = call.query.get("filter")
    if wanted in ("billed", "unbilled"):
        rows = [row for row in rows if row["billed"] == (wanted == "billed")]
    rows.sort(key=lambda row: (row["date"], row["id"]))
    return 200, {"hours": [render.hour(call.store, row) for row in rows]}


def get_hour(call: Call) -> Result:
    return 200, render.hour(call.store, call.record("hours"))


def create_hour(call: Call) -> Result:
    project = call.record("projects", "project_id")
    attrs = call.wrapped("project_item")
    rate = project.get("rate") if project["project_type"] == HOURLY else 0.0
    base = {"project_id": project["id"], "user_id": call.store.settings.token_user_id, "billed": False,
            "description": None, "rate": rate}
    record, errors = edited(call, HOURS, base, attrs)
    record["date"] = record.get("date") or call.store.today()
    return created(call, "hours", record, errors, render.hour)


def update_hour(call: Call) -> Result:
    record, errors = edited(call, HOURS, call.record("hours"), call.wrapped("project_item"))
    record["date"] = record.get("date") or call.store.today()
    return updated(call, "hours", record, errors, render.hour)


def delete_hour(call: Call) -> Result:
    cascade.delete_plain(call.store, "hours", call.record("hours")["id"])
    return DELETED


# --- tasks ---------------------------------------------------------------------
def list_tasks(call: Call) -> Result:
    return 200, call.page("tasks", call.store.table("tasks"), render.task, size=50)


def list_project_tasks(call: Call) -> Result:
    project = call.record("projects", "project_id")
    return 200, call.page("tasks", call.store.where("tasks", project_id=project["id"]), render.task, size=50)


def get_task(call: Call) -> Result:
    return 200, render.task(call.store, call.record("tasks"))


def _completion(call: Call, before: bool, record: dict[str, Any]) -> None:
    if record["complete"] and not before:
        record["completed_at"] = call.store.now()
    elif not record["complete"]:
        record["completed_at"] = None


def create_task(call: Call) -> Result:
    base = {"description": None, "due_date": None, "project_id": None, "assignee_id": None, "client_id": None,
            "complete": False, "completed_at": None, "user_id": call.store.settings.token_user_id}
    record, errors = edited(call, TASK, base, call.wrapped("task"))
    _client_of_project(call, record)
    _completion(call, False, record)
    return created(call, "tasks", record, errors, render.task)


def update_task(call: Call) -> Result:
    current = call.record("tasks")
    record, errors = edited(call, TASK, current, call.wrapped("task"))
    _completion(call, current["complete"], record)
    return updated(call, "tasks", record, errors, render.task)


def delete_task(call: Call) -> Result:
    cascade.delete_plain(call.store, "tasks", call.record("tasks")["id"])
    return DELETED


# --- expenses ------------------------------------------------------------------
def _expense_window(call: Call, rows: list[dict[str, Any]]) -> Result:
    """Not paginated: a date window, by default the account's current fiscal year."""
    year_start, year_end = call.store.fiscal_year()
    start = call.query_date("from_date") or year_start
    end = call.query_date("to_date") or year_end
    rows = [row for row in rows if start <= row["incurred_on"] <= end]
    rows.sort(key=lambda row: (row["incurred_on"], row["id"]))
    return 200, {
        "total_count": len(rows),
        "from_date": render.slash(start),
        "to_date": render.slash(end),
        "expenses": [render.expense(call.store, row) for row in rows],
    }


def list_expenses(call: Call) -> Result:
    return _expense_window(call, call.store.table("expenses"))


def list_client_expenses(call: Call) -> Result:
    client = call.record("clients", "client_id")
    return _expense_window(call, call.store.where("expenses", client_id=client["id"]))


def list_project_expenses(call: Call) -> Result:
    project = call.record("projects", "project_id")
    return _expense_window(call, call.store.where("expenses", project_id=project["id"]))


def get_expense(call: Call) -> Result:
    return 200, render.expense(call.store, call.record("expenses"))


def create_expense(call: Call) -> Result:
    base = {"description": None, "client_id": None, "project_id": None, "invoice_id": None, "invoice_item_id": None,
            "user_id": call.store.settings.token_user_id}
    record, errors = edited(call, EXPENSE, base, call.wrapped("expense"))
    record["incurred_on"] = record.get("incurred_on") or call.store.today()
    _client_of_project(call, record)
    return created(call, "expenses", record, errors, render.expense)


def update_expense(call: Call) -> Result:
    record, errors = edited(call, EXPENSE, call.record("expenses"), call.wrapped("expense"))
    record["incurred_on"] = record.get("incurred_on") or call.store.today()
    _client_of_project(call, record)
    return updated(call, "expenses", record, errors, render.expense)


def delete_expense(call: Call) -> Result:
    cascade.delete_plain(call.store, "expenses", call.record("expenses")["id"])
    return DELETED


ROUTES: list[RouteSpec] = [
    ("GET", "/projects", list_projects),
    ("POST", "/projects", create_project),
    ("GET", "/clients/{client_id:int}/projects", list_client_projects),
    ("GET", "/projects/{id:int}", get_project),
    ("PUT", "/projects/{id:int}", update_project),
    ("DELETE", "/projects/{id:int}", delete_project),
    ("GET", "/projects/{project_id:int}/hours", list_project_hours),
    ("POST", "/projects/{project_id:int}/hours", create_hour),
    ("GET", "/hours/{id:int}", get_hour),
    ("PUT", "/hours/{id:int}", update_hour),
    ("DELETE", "/hours/{id:int}", delete_hour),
    ("GET", "/tasks", list_tasks),
    ("POST", "/tasks", create_task),
    ("POST", "/task", create_task),  # the doc prints the singular path
    ("GET", "/projects/{project_id:int}/tasks", list_project_tasks),
    ("GET", "/tasks/{id:int}", get_task),
    ("PUT", "/tasks/{id:int}", update_task),
    ("DELETE", "/tasks/{id:int}", delete_task),
    ("GET", "/expenses", list_expenses),
    ("POST", "/expenses", create_expense),
    ("GET", "/clients/{client_id:int}/expenses", list_client_expenses),
    ("GET", "/projects/{project_id:int}/expenses", list_project_expenses),
    ("GET", "/expenses/{id:int}", get_expense),
    ("PUT", "/expenses/{id:int}", update_expense),
    ("DELETE", "/expenses/{id:int}", delete_expense),
]
