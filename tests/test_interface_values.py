"""What crosses the interface: enumeration names (not Clientary's codes), and error results any client accepts."""

from __future__ import annotations

import re

import jsonschema
import pytest

from clientary_mcp.server import ERROR_META, output_schema
from clientary_mcp.tools import BY_NAME, REGISTRY
from clientary_mcp.tools.base import ITEM_FIELDS
from clientary_mcp.tools.codes import ENUMERATIONS, INVOICE_STATUS
from clientary_mcp.tools.shapes import ENTITY_PROPS, ITEM_PROPS, Codes, shape_record

from support import data, missing_record_args, session, tool_error


@pytest.mark.parametrize("codes", ENUMERATIONS, ids=lambda c: c.what)
def test_each_enumeration_maps_distinct_names_to_distinct_codes(codes):
    names = [name for name, _ in codes.pairs]
    numbers = [code for _, code in codes.pairs]
    assert len(set(names)) == len(names) and len(set(numbers)) == len(numbers)
    assert all(re.fullmatch(r"[a-z][a-z0-9_]*", name) for name in names)
    assert all(codes.name(codes.code(name)) == name for name in names)


def test_every_enumeration_in_use_is_in_the_one_table():
    used = [f.codes for spec in REGISTRY for f in spec.fields if f.codes] + [f.codes for f in ITEM_FIELDS if f.codes]
    used += [t for props in (*ENTITY_PROPS.values(), ITEM_PROPS) for t in props.values() if isinstance(t, Codes)]
    assert used and all(any(c is known for known in ENUMERATIONS) for c in used)


@pytest.mark.parametrize("spec", REGISTRY, ids=lambda s: s.name)
def test_no_input_schema_has_an_integer_enum(spec):
    def walk(node):
        if isinstance(node, dict):
            if "enum" in node:
                assert node.get("type") == "string" and all(isinstance(v, str) for v in node["enum"]), node
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(spec.input_schema())


@pytest.mark.anyio
async def test_statuses_are_names_in_arguments_results_and_previews(tmp_path):
    async with session(tmp_path) as h:
        made = data(await h.call("create_invoice", {
            "date": "2026-11-01", "due_date": "2026-12-01", "currency_code": "USD", "client_id": 1,
            "items": [{"title": "Intro", "item_type": "header", "quantity": 0, "price": 0},
                      {"title": "Design", "quantity": 2, "price": 100}]}))
        assert made["status"] == "draft"
        assert [item["item_type"] for item in made["invoice_items"]] == ["header", "line"]
        preview = data(await h.call("send_invoice_message", {"id": made["id"], "recipients": ["a@b.co"]}))
        assert preview["effects"]["invoice"]["status"] == "draft" and preview["record"]["status"] == "draft"
        assert '"status":"draft"' in (await h.call("get_invoice", {"id": made["id"]})).content[0].text

        data(await h.call("update_invoice", {"id": made["id"], "status": "cancelled"}))
        assert h.store.get("invoices", made["id"])["status"] == 3  # Clientary's code on the wire
        listed = data(await h.call("list_client_invoices", {"client_id": 1, "all_pages": True}))
        mine = [item for item in listed["items"] if item["id"] == made["id"]]
        assert mine[0]["status"] == "cancelled"
        stored = {row["id"]: row["status"] for row in h.store.table("invoices") if row["client_id"] == 1}
        assert {item["id"]: item["status"] for item in listed["items"]} == {
            i: INVOICE_STATUS.name(code) for i, code in stored.items()}


def test_a_code_without_a_name_is_shown_as_sent_and_still_matches_the_output_schema():
    record = shape_record("invoice", {"id": 1, "status": 9, "invoice_items": [{"id": 2, "item_type": 1}]})
    assert record["status"] == 9 and record["invoice_items"][0]["item_type"] == 1
    jsonschema.validate(record, output_schema(BY_NAME["get_invoice"]))
    assert shape_record("invoice", {"status": "4"})["status"] == "paid"  # codes sent as text too


# -- error results ---------------------------------------------------------------------------------

@pytest.mark.anyio
async def test_error_results_carry_no_structured_content_but_say_what_happened(tmp_path):
    async with session(tmp_path) as h:
        for spec in REGISTRY:
            bad = await h.call(spec.name, {"no_such_argument": 1})
            err = tool_error(bad)
            assert err["kind"] == "invalid_arguments" and "`no_such_argument`" in bad.content[0].text
            if any(f.loc == "path" for f in spec.fields):  # a record that does not exist: the 404, in words
                missing = await h.call(spec.name, missing_record_args(spec))
                assert tool_error(missing)["kind"] == "not_found", (spec.name, missing.content[0].text)
                assert "999999" in missing.content[0].text and "not found" in missing.content[0].text


def test_error_meta_key_is_namespaced():
    assert re.fullmatch(r"[a-z][a-z0-9-]*/[a-z]+", ERROR_META)
