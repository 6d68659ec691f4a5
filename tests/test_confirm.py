"""Gated tools: previews read from the account, tokens that confirm exactly what was previewed, once."""

from __future__ import annotations

import time

import mcp_types as types
import pytest

from support import data, error_text, session
from test_tools_e2e import GATED

OTHER_TOOL = {"delete_client": "delete_contact"}


@pytest.mark.anyio
async def test_delete_client_preview_counts_what_cascades(tmp_path):
    async with session(tmp_path) as h:
        s = h.store
        p = data(await h.call("delete_client", {"id": 1}))
        projects = [r["id"] for r in s.where("projects", client_id=1)]
        expected = {
            "client": 1,
            "projects": len(projects),
            "invoices": len(s.where("invoices", client_id=1)),
            "estimates": len(s.where("estimates", client_id=1)),
            "contacts": len(s.where("contacts", client_id=1)),
            # and what goes with its projects
            "tasks": sum(len(s.where("tasks", project_id=p)) for p in projects),
            "hour_entries": sum(len(s.where("hours", project_id=p)) for p in projects),
            "expenses": sum(len(s.where("expenses", project_id=p)) for p in projects),
        }
        assert p["effects"]["deletes"] == {k: v for k, v in expected.items() if v}
        assert p["record"]["name"] == s.get("clients", 1)["name"]
        assert "Acme Corporation" in p["summary"] and "cannot be undone" in p["summary"]


@pytest.mark.anyio
async def test_delete_project_preview_counts_what_cascades(tmp_path):
    async with session(tmp_path) as h:
        s = h.store
        deletes = data(await h.call("delete_project", {"id": 1}))["effects"]["deletes"]
        invoices = [r["id"] for r in s.where("invoices", project_id=1)]
        expected = {
            "project": 1,
            "tasks": len(s.where("tasks", project_id=1)),
            "hour_entries": len(s.where("hours", project_id=1)),
            "expenses": len(s.where("expenses", project_id=1)),
            "invoices": len(invoices),
            "estimates": len(s.where("estimates", project_id=1)),
            "payments": sum(len(s.where("payments", invoice_id=i)) for i in invoices),
        }
        assert deletes == {k: v for k, v in expected.items() if v}
        assert deletes["hour_entries"] > 0 and deletes["tasks"] > 0


@pytest.mark.anyio
async def test_invoice_email_preview_shows_recipients_subject_number_and_balance(tmp_path):
    async with session(tmp_path) as h:
        inv = h.store.get("invoices", 2)
        p = data(await h.call("send_invoice_message", {"id": 2, "recipients": ["a@x.example", "b@x.example"]}))
        assert p["effects"]["emails"]["recipients"] == ["a@x.example", "b@x.example"]
        assert p["effects"]["emails"]["subject"]
        assert p["effects"]["invoice"]["number"] == inv["number"]
        assert p["effects"]["invoice"]["balance"] is not None
        assert not h.store.table("messages")


async def _refused(h, tool, args, token, needle):
    before = h.store.counts()
    text = error_text(await h.call(tool, {**args, "confirm": token}))
    assert needle in text, text
    assert h.store.counts() == before and not h.store.table("messages")
    return text


def _altered(tool: str, args: dict) -> dict:
    if tool in ("send_invoice_message", "send_estimate_message"):
        return {**args, "recipients": ["someone.else@example.com"]}
    key = {"delete_payment": "invoice_id", "delete_payment_profile": "client_id",
           "charge_payment_profile": "invoice_id"}.get(tool, "id")
    return {**args, key: args[key] + 1}


@pytest.mark.anyio
@pytest.mark.parametrize("tool", sorted(GATED))
async def test_tokens_are_bound_single_use_and_expiring(tool, tmp_path):
    args, done = GATED[tool]
    async with session(tmp_path) as h:
        token = data(await h.call(tool, args))["confirm_token"]
        await _refused(h, tool, _altered(tool, args), token, "arguments differ")
        body, sig = token.split(".")
        await _refused(h, tool, args, body + "." + sig[::-1], "was altered")
        await _refused(h, tool, args, "garbage", "malformed")
        other = "delete_contact" if tool != "delete_contact" else "delete_expense"
        await _refused(h, other, GATED[other][0], token, f"issued for {tool}")
        real_clock = h.service.sealer.clock
        h.service.sealer.clock = lambda: real_clock() + 301
        await _refused(h, tool, args, token, "expired")
        h.service.sealer.clock = real_clock
        assert not done(h.store)
        data(await h.call(tool, {**args, "confirm": token}))
        assert done(h.store)
        text = error_text(await h.call(tool, {**args, "confirm": token}))
        assert "already used" in text


@pytest.mark.anyio
async def test_token_of_another_caller_is_refused(tmp_path):
    async with session(tmp_path / "a", principal="alice") as alice:
        token = data(await alice.call("delete_expense", {"id": 1}))["confirm_token"]
    async with session(tmp_path / "b", principal="bob") as bob:
        text = error_text(await bob.call("delete_expense", {"id": 1, "confirm": token}))
        assert "another caller" in text and bob.store.get("expenses", 1) is not None


@pytest.mark.anyio
async def test_a_change_in_the_account_after_the_preview_voids_the_token(tmp_path):
    async with session(tmp_path) as h:
        token = data(await h.call("delete_client", {"id": 1}))["confirm_token"]
        data(await h.call("create_contact", {"client_id": 1, "name": "New", "email": "new@acme.example"}))
        text = error_text(await h.call("delete_client", {"id": 1, "confirm": token}))
        assert "changed since the preview" in text and h.store.get("clients", 1) is not None


@pytest.mark.anyio
async def test_tokens_survive_a_restart_with_a_configured_secret(tmp_path):
    async with session(tmp_path / "a") as first:
        token = data(await first.call("delete_expense", {"id": 1}))["confirm_token"]
    async with session(tmp_path / "b") as second:  # a new process: same secret, same account state
        assert data(await second.call("delete_expense", {"id": 1, "confirm": token}))["status"] == "done"


def _answering(action: str, confirm: bool = True):
    async def callback(context, params):
        callback.asked.append(params.message)
        return types.ElicitResult(action=action, content={"confirm": confirm} if action == "accept" else None)

    callback.asked = []
    return callback


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["legacy", "auto"])  # 2025-11-25 request, 2026-07-28 input-required
@pytest.mark.parametrize("action,confirm,deleted", [("accept", True, True), ("accept", False, False),
                                                    ("decline", True, False), ("cancel", True, False)])
async def test_elicitation_asks_the_human(mode, action, confirm, deleted, tmp_path):
    callback = _answering(action, confirm)
    async with session(tmp_path, mode=mode, env={"CLIENTARY_MCP_CONFIRM_MODE": "elicit"},
                       elicitation_callback=callback) as h:
        result = data(await h.call("delete_client", {"id": 2}))
        assert callback.asked and "Globex Industries" in callback.asked[0]
        assert (h.store.get("clients", 2) is None) is deleted
        assert result["status"] == ("done" if deleted else "declined")
        outcome = h.audit()[-1]
        assert outcome["outcome"] == ("confirmed" if deleted else "declined")
        if deleted:
            assert outcome["confirm"]["via"] == "elicit"


@pytest.mark.anyio
async def test_elicit_mode_falls_back_to_tokens_when_the_client_cannot_be_asked(tmp_path):
    async with session(tmp_path, env={"CLIENTARY_MCP_CONFIRM_MODE": "elicit"}) as h:
        assert data(await h.call("delete_client", {"id": 2}))["status"] == "preview"


@pytest.mark.anyio
async def test_no_confirm_list_lets_unattended_runs_act(tmp_path):
    async with session(tmp_path, env={"CLIENTARY_MCP_NO_CONFIRM": "delete_expense"}) as h:
        assert data(await h.call("delete_expense", {"id": 1}))["status"] == "done"
        assert h.store.get("expenses", 1) is None
        assert data(await h.call("delete_hour_entry", {"id": 1}))["status"] == "preview"
        assert h.audit()[0]["confirm"] == {"via": "not_required"}


def test_token_expiry_default_is_five_minutes(tmp_path):
    from support import make_service

    service, _, _ = make_service(tmp_path)
    token, expires = service.sealer.mint("delete_client", {"id": 1}, "local", "d")
    assert 299 <= expires - time.time() <= 301


@pytest.mark.anyio
async def test_a_client_whose_elicitation_fails_gets_the_token_flow(tmp_path):
    async def broken(context, params):
        return types.ErrorData(code=-32603, message="no UI available")

    async with session(tmp_path, env={"CLIENTARY_MCP_CONFIRM_MODE": "elicit"}, elicitation_callback=broken) as h:
        result = data(await h.call("delete_client", {"id": 2}))
        assert result["status"] == "preview" and result["confirm_token"]
        assert h.store.get("clients", 2) is not None


def test_no_secret_or_key_in_any_repr(tmp_path):
    from support import make_service

    from clientary_mcp.state.secrets import persisted_secret

    service, _, _ = make_service(tmp_path)
    secret = persisted_secret("k", "UNSET_VAR_Y", {}, tmp_path)
    shown = " ".join(repr(x) for x in (service.sealer, service.audit, service.store, secret))
    for value in (service.sealer.secret, service.audit.key, secret.value):
        assert value.decode("latin-1") not in shown, shown
    assert "key_id" in repr(service.sealer)
    from clientary_mcp.options import load_options

    options = load_options(None, env={"CLIENTARY_MCP_STATE_DIR": str(tmp_path / "s")})
    assert options.confirm_secret.decode() not in repr(options) and options.audit_key.decode() not in repr(options)
    assert options.secret_source == str(tmp_path / "s" / "confirm.key")
