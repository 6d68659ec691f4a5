"""The registry as a whole: names, annotations, schemas — what every host and model relies on."""

from __future__ import annotations

import re
from pathlib import Path

import jsonschema
import pytest

from clientary_mcp import catalog
from clientary_mcp.server import mcp_tool, output_schema
from clientary_mcp.tools import REGISTRY, TOOLSETS

# The public interface: these names are referenced by hosts, prompts and audit records.
EXPECTED = {
    "read": """get_client get_contact get_estimate get_expense get_hour_entry get_invoice get_lead get_project
        get_staff get_task list_client_contacts list_client_estimates list_client_expenses list_client_invoices
        list_client_payment_profiles list_client_projects list_clients list_estimates list_expenses list_leads
        list_payments list_project_estimates list_project_expenses list_project_hours list_project_invoices
        list_projects list_project_tasks list_recurring_schedule_invoices list_staff list_tasks
        list_contacts list_invoices list_recurring_schedules get_recurring_schedule
        find_overdue_invoices find_contacts project_profitability time_audit""",
    "write": """create_client create_contact create_expense create_invoice create_lead create_project
        create_project_hours create_recurring_schedule create_task update_client update_contact update_lead
        update_expense update_hour_entry update_invoice update_project update_task
        create_payment create_payment_profile create_estimate update_estimate update_recurring_schedule
        invoice_unbilled_hours convert_lead""",
    "gated": """delete_client delete_contact delete_expense delete_project delete_hour_entry delete_lead
        delete_payment delete_payment_profile delete_recurring_schedule send_invoice_message
        delete_invoice charge_payment_profile delete_estimate send_estimate_message delete_task""",
}
EXPECTED_KIND = {name: kind for kind, names in EXPECTED.items() for name in names.split()}
ROOT = Path(__file__).resolve().parent.parent


def test_exactly_the_public_names_with_their_kinds():
    names = [spec.name for spec in REGISTRY]
    # 57 actions of the seed integrations, 14 further documented endpoints, 6 workflows.
    assert len(names) == len(set(names)) == 77
    assert sum(spec.toolset == "workflows" for spec in REGISTRY) == 6
    assert {spec.name: spec.kind for spec in REGISTRY} == EXPECTED_KIND


def test_order_is_grouped_by_toolset_and_deterministic():
    order = [TOOLSETS.index(spec.toolset) for spec in REGISTRY]
    assert order == sorted(order)


@pytest.mark.parametrize("spec", REGISTRY, ids=lambda s: s.name)
def test_name_title_and_description(spec):
    assert re.fullmatch(r"[a-z0-9_]{1,64}", spec.name)
    assert spec.title and spec.description.endswith(".")
    assert len(spec.description) <= 120  # every word is paid for in every conversation


@pytest.mark.parametrize("spec", REGISTRY, ids=lambda s: s.name)
def test_annotations_follow_the_kind(spec):
    a = spec.annotations
    assert set(a) == {"title", "readOnlyHint", "destructiveHint", "idempotentHint", "openWorldHint"}
    assert all(isinstance(a[k], bool) for k in a if k != "title") and a["openWorldHint"] is True
    if spec.kind == "read":
        assert (a["readOnlyHint"], a["destructiveHint"], a["idempotentHint"]) == (True, False, True)
    elif spec.kind == "write":
        assert (a["readOnlyHint"], a["destructiveHint"]) == (False, False)
        # A rerun of invoice_unbilled_hours finishes the job instead of repeating it.
        assert a["idempotentHint"] is (spec.name.startswith("update_") or spec.name == "invoice_unbilled_hours")
    elif spec.name in ("send_invoice_message", "send_estimate_message", "charge_payment_profile"):
        assert (a["readOnlyHint"], a["destructiveHint"], a["idempotentHint"]) == (False, False, False)
    else:
        assert (a["readOnlyHint"], a["destructiveHint"], a["idempotentHint"]) == (False, True, True)
    tool = mcp_tool(spec).annotations
    assert (tool.read_only_hint, tool.destructive_hint, tool.idempotent_hint, tool.open_world_hint) == (
        a["readOnlyHint"], a["destructiveHint"], a["idempotentHint"], a["openWorldHint"])


def _walk(schema: dict, path: str):
    yield path, schema
    for name, prop in schema.get("properties", {}).items():
        yield from _walk(prop, f"{path}.{name}")
    if isinstance(schema.get("items"), dict):
        yield from _walk(schema["items"], f"{path}[]")


def _name_says_it_all(spec, path: str) -> bool:
    from clientary_mcp.tools.base import ITEM_FIELDS, says_nothing

    parts = path.split(".")[1:]
    fields = spec.fields if len(parts) == 1 else ITEM_FIELDS
    field = next(f for f in fields if f.name == parts[-1].rstrip("[]"))
    known = frozenset(spec.name.split("_")) if len(parts) == 1 else frozenset()
    return says_nothing(field, known)


def test_descriptions_that_repeat_the_name_are_left_out_and_informative_ones_kept():
    from clientary_mcp.tools import BY_NAME

    props = BY_NAME["create_invoice"].input_schema()["properties"]
    assert "description" not in props["title"] and "description" not in props["client_id"]
    assert props["tax"]["description"] == "Tax %" and "description" in props["currency_code"]
    assert "description" not in BY_NAME["get_project"].input_schema()["properties"]["id"]
    assert "description" in BY_NAME["list_project_hours"].input_schema()["properties"]["filter"]


@pytest.mark.parametrize("spec", REGISTRY, ids=lambda s: s.name)
def test_input_schema_is_flat_typed_described_and_valid(spec):
    schema = spec.input_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["type"] == "object" and schema["additionalProperties"] is False
    assert not {"anyOf", "oneOf", "allOf"} & set(schema)
    for path, prop in list(_walk(schema, spec.name))[1:]:
        assert "type" in prop, f"{path} has no type"
        if not path.endswith("[]"):  # described, unless the description would only repeat the name
            assert prop.get("description") or _name_says_it_all(spec, path), f"{path} has no description"
        if "enum" in prop:  # enumerations are names that carry their meaning, not codes (Gemini needs strings)
            assert prop["type"] == "string" and all(re.fullmatch(r"[a-z][a-z0-9_]*", v) for v in prop["enum"]), path
    for name in schema.get("required", []):
        assert name in schema["properties"]
    for field in spec.fields:
        if field.type == "id":
            assert schema["properties"][field.name]["minimum"] == 1
        if field.type == "date":
            assert schema["properties"][field.name]["format"] == "date"


@pytest.mark.parametrize("spec", REGISTRY, ids=lambda s: s.name)
def test_tool_shape_by_kind(spec):
    props = spec.input_schema()["properties"]
    if spec.kind == "gated":
        assert "confirm" in props and "confirm" not in spec.input_schema().get("required", [])
    if spec.paging == "pages":
        assert {"page", "all_pages"} <= set(props)
    if spec.name.startswith("update_"):
        assert spec.input_schema()["required"] == ["id"] and spec.min_body_fields == 1
    jsonschema.Draft202012Validator.check_schema(output_schema(spec))


def test_line_items_support_add_edit_and_destroy():
    for name in ("create_invoice", "update_invoice", "create_recurring_schedule"):
        items = next(s for s in REGISTRY if s.name == name).input_schema()["properties"]["items"]
        assert {"id", "title", "quantity", "price", "destroy"} <= set(items["items"]["properties"])


def test_committed_schemas_and_readme_table_match_the_registry():
    assert catalog.check(ROOT) == [], "run `clientary-mcp schemas --write`"


def test_catalog_check_notices_drift(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "tools.md").write_text((ROOT / "docs" / "tools.md").read_text())
    catalog.write(tmp_path)
    assert catalog.check(tmp_path) == []
    path = tmp_path / "schemas" / "get_client.json"
    path.write_text(path.read_text().replace("Get one client", "Fetch a client"))
    (tmp_path / "schemas" / "old_tool.json").write_text("{}")
    readme = tmp_path / "docs" / "tools.md"
    readme.write_text(readme.read_text().replace("| `list_staff` |", "| `list_people` |"))
    problems = catalog.check(tmp_path)
    assert "schemas/get_client.json differs from the registry" in problems
    assert "schemas/old_tool.json belongs to no tool" in problems
    assert "docs/tools.md tool table differs from the registry" in problems
