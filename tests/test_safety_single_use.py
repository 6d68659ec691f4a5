"""Single use of a confirmation, under real concurrency: one token, 20 calls at once, exactly one acts.

A Clientary (the sandbox, served on a free port in this process, 50 ms latency on every request) counts
every request it receives. Servers are real `clientary-mcp serve` processes, over stdio and over
Streamable HTTP; two processes sharing one state folder accept each other's tokens (the confirmation
secret is generated once into that folder) and still let each token act once. Replays of a token as a
2026-07-28 requestState, and of an accepted state, are refused before anything is sent.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import mcp_types as types
import pytest
import uvicorn
from mcp import Client, StdioServerParameters

from clientary_mcp.sandbox import DEMO_TOKEN, Faults, create_app
from support import data, error_text, session
from test_http_support import CLI, http_client, start_server

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

CALLS = 20
LATENCY = 0.05
# The two gated changes the race is run for: what each sends when it acts, and how to see that it did.
CASES = {
    "email": ("send_invoice_message", {"id": 1, "recipients": ["jane@acme.example"]}, "POST",
              lambda store: store.count("messages")),
    "delete": ("delete_contact", {"id": 1}, "DELETE", lambda store: int(store.get("contacts", 1) is None)),
}


@contextlib.contextmanager
def sandbox_on_a_port(latency: float = LATENCY) -> Iterator[tuple[str, Any]]:
    """The sandbox served by uvicorn in a thread of this process, so its request log is readable here."""
    app = create_app(faults=Faults(latency=latency))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the sandbox did not start"
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}", app
    finally:
        server.should_exit = True
        thread.join(10)


def account_env(tmp: Path, base: str, **extra: str) -> dict[str, str]:
    """A server process on the threaded sandbox; no confirmation secret set: it lives in the state folder."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLIENTARY")}
    env.update(CLIENTARY_BASE_URL=base, CLIENTARY_API_TOKEN=DEMO_TOKEN, CLIENTARY_MCP_STATE_DIR=str(tmp / "state"),
               CLIENTARY_MCP_AUDIT_LOG=str(tmp / "audit.jsonl"), HOME=str(tmp), PYTHONUNBUFFERED="1", **extra)
    return env


def stdio(env: dict[str, str]) -> Client:
    return Client(StdioServerParameters(command=CLI, args=["serve"], env=env), mode="legacy")


async def race(clients: list[Client], tool: str, args: dict[str, Any], token: str) -> list[types.CallToolResult]:
    results: list[Any] = [None] * CALLS

    async def one(i: int) -> None:
        results[i] = await clients[i % len(clients)].call_tool(tool, {**args, "confirm": token})

    with anyio.fail_after(60):
        async with anyio.create_task_group() as tg:
            for i in range(CALLS):
                tg.start_soon(one, i)
    return results


def tally(results: list[types.CallToolResult], app: Any, sent_before: int, method: str, preview_gets: int,
          label: str) -> dict[str, int]:
    acted = [r for r in results if not r.is_error]
    refused = [r for r in results if r.is_error]
    sent = app.state.store.requests[sent_before:]
    figures = {"calls": len(results), "acted": len(acted), "refused already used":
               sum("already used" in r.content[0].text for r in refused),
               "requests sent": len(sent), f"{method}s sent": sum(r.method == method for r in sent)}
    print(f"\nrace {label}: {figures}")
    assert len(acted) == 1 and acted[0].structured_content["status"] == "done"
    assert figures["refused already used"] == CALLS - 1, [r.content[0].text for r in refused][:3]
    # Only the winner reached Clientary: its re-read of the preview, then the one change.
    assert figures[f"{method}s sent"] == 1 and len(sent) == preview_gets + 1, sent
    return figures


async def preview(client: Client, app: Any, tool: str, args: dict[str, Any]) -> tuple[str, int]:
    before = len(app.state.store.requests)
    token = data(await client.call_tool(tool, args))["confirm_token"]
    return token, len(app.state.store.requests) - before


@pytest.mark.parametrize("case", sorted(CASES))
async def test_one_token_twenty_concurrent_calls_over_stdio_exactly_one_acts(case, tmp_path):
    tool, args, method, done = CASES[case]
    with sandbox_on_a_port() as (base, app):
        async with stdio(account_env(tmp_path, base)) as client:
            token, gets = await preview(client, app, tool, args)
            before = len(app.state.store.requests)
            results = await race([client], tool, args, token)
        tally(results, app, before, method, gets, f"stdio {tool}")
        assert done(app.state.store) == 1


@pytest.mark.parametrize("case", sorted(CASES))
async def test_one_token_twenty_concurrent_calls_over_http_exactly_one_acts(case, tmp_path):
    tool, args, method, done = CASES[case]
    with sandbox_on_a_port() as (base, app):
        proc, url = start_server(tmp_path, "http", ["--transport", "http"], account_env(tmp_path, base))
        try:
            async with contextlib.AsyncExitStack() as stack:  # several connections, as several agents would
                clients = [await stack.enter_async_context(http_client(url)) for _ in range(4)]
                token, gets = await preview(clients[0], app, tool, args)
                before = len(app.state.store.requests)
                results = await race(clients, tool, args, token)
        finally:
            proc.stop()
        tally(results, app, before, method, gets, f"http {tool}")
        assert done(app.state.store) == 1


@pytest.mark.parametrize("case", sorted(CASES))
async def test_two_processes_sharing_the_state_folder_accept_a_token_once(case, tmp_path):
    tool, args, method, done = CASES[case]
    with sandbox_on_a_port() as (base, app):
        env = account_env(tmp_path, base)
        async with stdio(env) as first, stdio(env) as second:
            token, gets = await preview(first, app, tool, args)  # minted by one process...
            before = len(app.state.store.requests)
            results = await race([first, second], tool, args, token)  # ...raced for by both
        tally(results, app, before, method, gets, f"two processes {tool}")
        assert done(app.state.store) == 1
    assert (tmp_path / "state" / "confirm.key").stat().st_mode & 0o777 == 0o600


async def test_a_token_from_a_server_with_another_secret_says_what_to_set(tmp_path):
    async with session(tmp_path / "a") as first:
        token = data(await first.call("delete_expense", {"id": 1}))["confirm_token"]
    other = {"CLIENTARY_MCP_CONFIRM_SECRET": "another-secret-another-secret-0123456789"}
    async with session(tmp_path / "b", env=other) as second:
        text = error_text(await second.call("delete_expense", {"id": 1, "confirm": token}))
        assert "different confirmation secret" in text and "CLIENTARY_MCP_CONFIRM_SECRET" in text
        assert "state folder" in text and "forged" not in text and "altered" not in text
        assert second.store.get("expenses", 1) is not None


# ---------------------------------------------------------------------------------------------
# Replays of the 2026-07-28 round trip


async def _never(context: Any, params: Any) -> types.ElicitResult:  # the client can be asked; tests answer
    raise AssertionError("answered by the test through input_responses")


def _accept() -> dict[str, Any]:
    return {"confirm": types.ElicitResult(action="accept", content={"confirm": True})}


async def _ask(h: Any, tool: str, args: dict[str, Any]) -> str:
    first = await h.client.session.call_tool(tool, args, allow_input_required=True)
    assert isinstance(first, types.InputRequiredResult), first
    return first.request_state


async def test_a_token_replayed_as_request_state_acts_nowhere(tmp_path):
    async with session(tmp_path, mode="auto", elicitation_callback=_never) as h:  # token mode: no input-required path at all
        token = data(await h.call("delete_expense", {"id": 1}))["confirm_token"]
        before = h.api_requests()
        result = await h.client.call_tool("delete_expense", {"id": 1}, input_responses=_accept(), request_state=token)
        assert "requestState" in error_text(result) and h.api_requests() == before
    async with session(tmp_path / "elicit", mode="auto", env={"CLIENTARY_MCP_CONFIRM_MODE": "elicit"},
                       elicitation_callback=_never) as h:
        token = h.service.sealer.mint("delete_expense", {"id": 1}, "local", "d")[0]
        before = h.api_requests()
        result = await h.client.call_tool("delete_expense", {"id": 1}, input_responses=_accept(), request_state=token)
        assert "not interchangeable" in error_text(result) and h.api_requests() == before
        assert h.store.get("expenses", 1) is not None
        assert all(r.get("outcome") != "confirmed" for r in h.audit())


async def test_an_accepted_state_acts_once(tmp_path):
    async with session(tmp_path, mode="auto", env={"CLIENTARY_MCP_CONFIRM_MODE": "elicit"},
                       elicitation_callback=_never) as h:
        state = await _ask(h, "delete_expense", {"id": 1})
        done = await h.client.call_tool("delete_expense", {"id": 1}, input_responses=_accept(), request_state=state)
        assert data(done)["status"] == "done" and h.store.get("expenses", 1) is None
        before = h.api_requests()
        again = await h.client.call_tool("delete_expense", {"id": 1}, input_responses=_accept(), request_state=state)
        assert "already used" in error_text(again) and h.api_requests() == before
        # A state is not a token either.
        as_token = await h.call("delete_expense", {"id": 1, "confirm": state})
        assert "not interchangeable" in error_text(as_token) and h.api_requests() == before
        confirmed = [r for r in h.calls() if r.get("outcome") == "confirmed"]
        assert len(confirmed) == 1 and confirmed[0]["confirm"]["via"] == "elicit"


async def test_when_the_state_store_cannot_answer_gated_tools_refuse(tmp_path):
    async with session(tmp_path) as h:
        token = data(await h.call("delete_expense", {"id": 1}))["confirm_token"]
        blocked = tmp_path / "blocked"
        blocked.write_text("a file where the state folder should be")
        from clientary_mcp.state import open_store

        h.service.store = open_store(folder=blocked / "state")
        before = h.api_requests()
        text = error_text(await h.call("delete_expense", {"id": 1, "confirm": token}))
        assert "state store" in text and "Nothing was sent" in text and h.api_requests() == before
        assert h.calls()[-1]["error_kind"] == "store_unavailable"
        assert h.store.get("expenses", 1) is not None
