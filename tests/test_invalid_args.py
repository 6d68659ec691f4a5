"""Bad arguments: a tool error that names the field, and no request reaches Clientary."""

from __future__ import annotations

import pytest

from support import error_text, session, tool_error

CASES = [
    ("create_client", {}, "`name` is required"),
    ("get_client", {"id": "7"}, "`id` must be an integer"),
    ("get_client", {"id": -3}, "`id` must be a positive id"),
    ("get_client", {"id": 0}, "`id` must be a positive id"),
    ("get_client", {"id": 1, "verbose": True}, "unknown field(s) `verbose`"),
    ("create_invoice", {"date": "2026-02-30", "due_date": "2026-03-01", "currency_code": "USD"},
     "`date` is not a real calendar date"),
    ("create_invoice", {"date": "01/02/2026", "due_date": "2026-03-01", "currency_code": "USD"},
     "`date` must be a date as YYYY-MM-DD"),
    ("update_invoice", {"id": 1, "status": 9}, "`status` must be one of draft, sent, viewed, cancelled, paid"),
    ("update_invoice", {"id": 1, "status": 1}, "got 1, Clientary's code for 'sent': pass 'sent' instead"),
    ("update_invoice", {"id": 1, "status": "Paid"}, "`status` must be one of draft, sent"),
    ("update_invoice", {"id": 1, "items": [{"title": "x", "quantity": 1, "price": 1, "item_type": 0}]},
     "`items[0].item_type` must be one of line, header; got 0, Clientary's code for 'header'"),
    ("update_invoice", {"id": 1, "items": [{"title": "x"}]}, "`items[0]`: a new item needs quantity, price"),
    ("update_invoice", {"id": 1, "items": [{"destroy": True}]}, "destroy needs the id"),
    ("update_client", {"id": 1}, "nothing to change"),
    ("list_clients", {"page": 0}, "`page` must be at least 1"),
    ("list_clients", {"sort": "size"}, "`sort` must be one of name, date"),
    ("send_invoice_message", {"id": 1, "recipients": ["not-an-email"]}, "`recipients[0]` must be an email"),
    ("send_invoice_message", {"id": 1, "recipients": []}, "`recipients` must be a non-empty array"),
    ("create_project_hours", {"project_id": 1, "hours": "two", "title": "x"}, "`hours` must be a number"),
    ("create_task", {"title": "a\x00b"}, "`title` contains control characters"),
    ("create_client", {"name": "x" * 20_000}, "`name` is too long"),
    ("update_task", {"id": 1, "complete": "yes"}, "`complete` must be true or false"),
    ("create_expense", {"amount": None}, "`amount` is required and cannot be null"),
    ("get_client", {"id": None}, "`id` is required and cannot be null"),
    ("update_client", {"id": 1, "name": None, "status": None}, "nothing to change"),  # nulls are "not given"
]


@pytest.mark.anyio
@pytest.mark.parametrize("tool,args,expected", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
async def test_invalid_arguments_name_the_field_and_send_nothing(tool, args, expected, tmp_path):
    async with session(tmp_path) as h:
        result = await h.call(tool, args)
        text = error_text(result)
        assert expected in text, text
        assert "Traceback" not in text
        assert tool_error(result)["kind"] == "invalid_arguments"
        assert h.api_requests() == 0
        # the server is still fine
        assert not (await h.call("get_client", {"id": 1})).is_error


@pytest.mark.anyio
async def test_clientary_validation_errors_carry_field_messages(tmp_path):
    async with session(tmp_path) as h:
        result = await h.call("update_client", {"id": 1, "number": "102"})  # client 2 has number 102
        text = error_text(result)
        assert "number" in text
        assert tool_error(result)["kind"] == "validation"
        assert "number" in tool_error(result)["fields"]


@pytest.mark.anyio
async def test_unknown_record_is_a_tool_error_naming_the_record(tmp_path):
    async with session(tmp_path) as h:
        text = error_text(await h.call("get_project", {"id": 999}))
        assert "project 999" in text.lower()
