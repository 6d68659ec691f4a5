"""Tasks: to-dos, optionally on a project and assigned to staff."""

from .base import Field
from .common import create_tool, delete_tool, get_tool, list_tool, path_id, update_tool

TASK_FIELDS = (
    Field("title", "string", "Task title", required=True),
    Field("description", "text", "Details"),
    Field("due_date", "date", "Due date"),
    Field("project_id", "id", "Project id"),
    Field("client_id", "id", "Client id (default: the project's)"),
    Field("assignee_id", "id", "Staff id (see list_staff)"),
)

TOOLS = [
    list_tool("list_tasks", "List tasks", "tasks", "List all tasks, 50 per page.",
              "/api/v2/tasks", "tasks", "task"),
    list_tool(
        "list_project_tasks", "List project tasks", "tasks", "List one project's tasks, 50 per page.",
        "/api/v2/projects/{project_id}/tasks", "tasks", "task",
        scope=(path_id("project_id", "Project"),),
    ),
    get_tool("get_task", "Get task", "tasks", "Get one task by id.", "/api/v2/tasks/{id}", "task", "Task"),
    create_tool("create_task", "Create task", "tasks", "Create a task; optionally on a project and assigned.",
                "/api/v2/tasks", "task", "task", TASK_FIELDS),
    update_tool("update_task", "Update task", "tasks", "Change a task; complete: true marks it done.",
                "/api/v2/tasks/{id}", "task", "task",
                TASK_FIELDS + (Field("complete", "bool", "Done"),), "Task"),
    delete_tool("delete_task", "Delete task", "tasks", "Permanently delete a task.",
                "/api/v2/tasks/{id}", "task", (path_id("id", "Task"),)),
]
