"""Clientary answers that are not what its documentation says, behind a real MCP session.

A fake Clientary (httpx.MockTransport behind ClientaryClient) sends extra or missing fields, numbers as
strings, HTML error pages, empty bodies, wrong content types, bare arrays for envelopes, garbage counts,
absurdly nested JSON, redirects, and error bodies that echo the API token. Tools pass through what they
can — successful results still validate against the declared outputSchema (the MCP client checks) — or
fail with a tool error that says what happened; never a traceback, never an "internal error", never a
protocol error, never the token.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import anyio
import httpx
import pytest

pytest.register_assert_rewrite("hardening")
from hardening import EVIDENCE, FAKE_API_TOKEN, FAKE_BASIC, fake_session, fake_settings  # noqa: E402
from support import tool_error  # noqa: E402

pytest_plugins = ["hardening"]
pytestmark = pytest.mark.usefixtures("secrets_guard")

JSON = {"content-type": "application/json; charset=utf-8"}
HTML_500 = ("<!DOCTYPE html><html><head><title>We're sorry, but something went wrong (500)</title>"
            "<style>body{color:red}</style><script>var x = '<b>';</script></head>"
            "<body><h1>Something went wrong</h1><p>If you are the application owner check the logs.</p></body></html>")


def reply(status: int = 200, body: Any = None, *, raw: bytes | None = None, headers: dict[str, str] | None = None,
          ) -> Callable[[httpx.Request], httpx.Response]:
    content = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
    hdrs = headers if headers is not None else (JSON if raw is None else {})
    return lambda request: httpx.Response(status, content=content, headers=hdrs)


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


CLIENTS = [{"id": 1, "name": "Acme"}, {"id": 2, "name": "Globex"}]

# (id, tool, arguments, answer from "Clientary", expected): expected is a check of the structured result,
# or ("error", kind, [phrases the text must contain]).
CASES: list[tuple[str, str, dict[str, Any], Any, Any]] = [
    ("extra-fields", "get_client", {"id": 1},
     reply(body={"id": 1, "name": "Acme", "brand_new_field": {"nested": [1, 2]}, "x-internal": None}),
     lambda d: d["name"] == "Acme" and d["brand_new_field"] == {"nested": [1, 2]}),
    ("missing-fields", "get_client", {"id": 1}, reply(body={"id": 1}), lambda d: d["id"] == 1 and "name" not in d),
    ("empty-object", "get_client", {"id": 1}, reply(body={}), lambda d: d == {}),
    ("numbers-as-strings", "get_client", {"id": 1}, reply(body={"id": "1", "name": 123, "number": 101}),
     lambda d: d["id"] == 1 and d["name"] == "123" and d["number"] == "101"),
    ("unparseable-values", "get_invoice", {"id": 7},
     reply(body={"id": "7", "total_cost": "1,234.50", "balance": "12.5", "status": "4", "client_id": "abc",
                 "date": "2026/02/30", "invoice_items": "none"}),
     lambda d: (d["id"], d.get("total_cost"), d["balance"], d["status"], d.get("client_id")) == (7, None, 12.5, "paid", None)),
    ("bool-as-text", "get_task", {"id": 1}, reply(body={"id": 1.0, "title": "T", "complete": "yes"}),
     lambda d: d["id"] == 1 and "complete" not in d),
    ("question-keys", "get_hour_entry", {"id": 1}, reply(body={"id": 1, "billed?": "1", "hours": "1.5"}),
     lambda d: d["billed"] is True and d["hours"] == 1.5),
    ("embedded-client-not-object", "get_project", {"id": 1}, reply(body={"id": 1, "client": "Acme", "rate": "n/a"}),
     lambda d: d["client"] == "Acme" and "rate" not in d),
    ("bare-array-for-envelope", "list_clients", {}, reply(body=CLIENTS),
     lambda d: [x["id"] for x in d["items"]] == [1, 2] and d["returned"] == 2),
    ("bare-array-for-record", "get_client", {"id": 1}, reply(body=CLIENTS), lambda d: d["value"][0]["id"] == 1),
    ("json-null", "get_client", {"id": 1}, reply(raw=b"null", headers=JSON), lambda d: d == {}),
    ("json-scalar", "get_client", {"id": 1}, reply(body="hello"), lambda d: d == {"value": "hello"}),
    ("counts-as-strings", "list_clients", {},
     reply(body={"clients": CLIENTS, "page_count": "3", "total_count": "25", "page_size": "10"}),
     lambda d: (d["page_count"], d["total_count"], d["next_page"]) == (3, 25, 2)),
    ("counts-garbage", "list_clients", {},
     reply(body={"clients": CLIENTS, "page_count": "many", "total_count": -5, "page_size": True}),
     lambda d: "page_count" not in d and "total_count" not in d and d["returned"] == 2),
    ("null-list", "list_clients", {}, reply(body={"clients": None, "total_count": 0}), lambda d: d["items"] == []),
    ("vendor-json-type", "get_client", {"id": 1},
     reply(raw=b'{"id": 1, "name": "Acme"}', headers={"content-type": "application/vnd.api+json"}),
     lambda d: d["name"] == "Acme"),
    ("no-content-type", "get_client", {"id": 1}, reply(raw=b'{"id": 1, "name": "Acme"}', headers={}),
     lambda d: d["name"] == "Acme"),
    ("deep-but-readable", "get_client", {"id": 1},
     reply(raw=b'{"id": 1, "name": "Acme", "deep": ' + nested(600).encode() + b"}", headers=JSON),
     lambda d: d["name"] == "Acme" and "nested too deeply" in json.dumps(d["deep"])),
    ("deep-bare-array", "get_client", {"id": 1}, reply(raw=nested(400).encode(), headers=JSON),
     lambda d: "nested too deeply" in json.dumps(d)),
    ("deep-list-item", "list_clients", {},
     reply(raw=b'{"clients": [{"id": 1, "x": ' + nested(400).encode() + b"}]}", headers=JSON),
     lambda d: d["items"][0]["id"] == 1),
    # Unusable answers to reads: a tool error saying so.
    ("html-200", "get_client", {"id": 1}, reply(raw=b"<html><body>Maintenance</body></html>",
                                               headers={"content-type": "text/html"}),
     ("error", "bad_response", ["unusable response", "text/html", "CLIENTARY_BASE_URL"])),
    ("empty-200", "get_client", {"id": 1}, reply(raw=b"", headers=JSON),
     ("error", "bad_response", ["body was empty"])),
    ("json-as-text-plain", "get_client", {"id": 1},
     reply(raw=b'{"id": 1}', headers={"content-type": "text/plain"}), ("error", "bad_response", ["text/plain"])),
    ("broken-json", "get_client", {"id": 1}, reply(raw=b'{"id": 1, "name": ', headers=JSON),
     ("error", "bad_response", ["not valid JSON"])),
    ("not-utf8", "get_client", {"id": 1}, reply(raw=b'{"name": "\xff\xfe"}', headers=JSON),
     ("error", "bad_response", ["not valid JSON"])),
    ("too-deep-to-read", "get_client", {"id": 1}, reply(raw=nested(50_000).encode(), headers=JSON),
     ("error", "bad_response", ["nested too deeply"])),
    ("wrong-envelope-key", "list_clients", {}, reply(body={"data": CLIENTS}),
     ("error", "bad_response", ["'clients' list", "found keys: data"])),
    ("envelope-list-is-object", "list_clients", {}, reply(body={"clients": {"1": CLIENTS[0]}}),
     ("error", "bad_response", ["list of records"])),
    ("envelope-items-not-records", "list_clients", {}, reply(body={"clients": [1, "two"]}),
     ("error", "bad_response", ["list of records"])),
    ("envelope-is-string", "list_clients", {}, reply(body="clients"), ("error", "bad_response", ["got str"])),
    # Error statuses in unexpected shapes.
    ("html-500", "get_client", {"id": 1}, reply(500, raw=HTML_500.encode(), headers={"content-type": "text/html"}),
     ("error", "server", ["HTTP 500", "Something went wrong", "try again"])),
    ("html-404", "get_client", {"id": 1}, reply(404, raw=b"<h1>Not Found</h1>", headers={"content-type": "text/html"}),
     ("error", "not_found", ["Client 1 was not found", "list_clients"])),
    ("empty-503", "get_client", {"id": 1}, reply(503, raw=b""), ("error", "server", ["HTTP 503"])),
    ("422-string", "create_task", {"title": "x"}, reply(422, body={"errors": "Title can't be blank"}),
     ("error", "validation", ["Title can't be blank"])),
    ("422-list", "create_task", {"title": "x"}, reply(422, body={"errors": ["first problem", "second problem"]}),
     ("error", "validation", ["first problem", "second problem"])),
    ("422-nested", "create_task", {"title": "x"},
     reply(422, body={"error": {"task": {"title": ["is taken"]}}}), ("error", "validation", ["task.title: is taken"])),
    ("422-html", "create_task", {"title": "x"}, reply(422, raw=b"<p>Unprocessable</p>", headers={}),
     ("error", "validation", ["Unprocessable"])),
    ("422-empty", "create_task", {"title": "x"}, reply(422, raw=b""), ("error", "validation", ["without saying why"])),
    ("422-deep", "create_task", {"title": "x"}, reply(422, raw=b'{"errors": ' + nested(50_000).encode() + b"}",
                                                     headers=JSON), ("error", "validation", ["HTTP 422"])),
    ("401-echoing-token", "get_client", {"id": 1},
     reply(401, body={"error": f"token {FAKE_API_TOKEN} (Basic {FAKE_BASIC}) is not valid"}),
     ("error", "auth", ["CLIENTARY_API_TOKEN"])),
    ("500-echoing-token", "get_client", {"id": 1}, reply(500, raw=f"<title>Error</title> {FAKE_API_TOKEN}".encode()),
     ("error", "server", ["HTTP 500"])),
    ("422-echoing-token", "create_task", {"title": "x"},
     reply(422, body={"errors": {FAKE_API_TOKEN: [f"Authorization: Basic {FAKE_BASIC}"]}}),
     ("error", "validation", ["HTTP 422"])),
    ("redirect", "get_client", {"id": 1}, reply(302, raw=b"", headers={"location": "https://login.example/?next=x"}),
     ("error", "bad_response", ["redirected", "https://login.example/"])),
    ("429-garbage-retry-after", "get_client", {"id": 1},
     reply(429, body={"error": "slow down"}, headers={**JSON, "retry-after": "soon"}),
     ("error", "rate_limited", ["Wait a minute"])),
    ("429-past-date", "get_client", {"id": 1},
     reply(429, raw=b"", headers={"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}), ("error", "rate_limited", ["429"])),
    # Writes: an unreadable answer to a write that went through, and a 5xx page after sending.
    ("write-html-201", "create_task", {"title": "x"}, reply(201, raw=b"<html>Created!</html>",
                                                          headers={"content-type": "text/html"}),
     ("error", "bad_response", ["probably applied", "list_tasks", "not created twice"])),
    ("write-empty-201", "create_task", {"title": "x"}, reply(201, raw=b""), lambda d: isinstance(d, dict)),
    ("write-deep-201", "create_task", {"title": "x"},
     reply(201, raw=b'{"id": 9, "title": "x", "x": ' + nested(500).encode() + b"}", headers=JSON),
     lambda d: d["id"] == 9 and d["title"] == "x"),
    ("write-html-502", "create_task", {"title": "x"}, reply(502, raw=HTML_500.encode()),
     ("error", "unknown_outcome", ["may or may not have been applied", "list_tasks"])),
]


@pytest.mark.anyio
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
async def test_off_spec_answers_degrade_to_data_or_a_clear_tool_error(case, tmp_path):
    _, tool, args, handler, expected = case
    sent: list[httpx.Request] = []

    def recording(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return handler(request)

    async def no_wait(seconds: float) -> None:
        await anyio.sleep(0)

    async with fake_session(tmp_path, transport=httpx.MockTransport(recording),
                            settings=fake_settings("https://acme.clientary.com", max_retries=1), sleep=no_wait) as h:
        with anyio.fail_after(20):
            result = EVIDENCE.result(await h.call(tool, args))  # a protocol error would raise here
        records = h.calls()
    text = result.content[0].text
    assert "Traceback" not in text and "Internal error" not in text and len(text) < 20_000, text[:500]
    assert FAKE_API_TOKEN not in text and FAKE_BASIC not in text
    assert FAKE_API_TOKEN not in json.dumps(result.structured_content)
    if callable(expected):
        assert not result.is_error, text
        assert expected(result.structured_content), result.structured_content
    else:
        _, kind, phrases = expected
        assert result.is_error, text
        assert tool_error(result)["kind"] == kind, text
        for phrase in phrases:
            assert phrase in text, f"{phrase!r} not in: {text}"
    assert len(records) == 1 and records[0]["outcome"] in ("ok", "api_error")
    if result.is_error and tool_error(result)["kind"] == "unknown_outcome":
        assert len(sent) == 1, "a write of unknown outcome was repeated"


@pytest.mark.anyio
async def test_a_preview_with_garbage_counts_is_an_error_and_deletes_nothing(tmp_path):
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/v2/clients/1":
            return httpx.Response(200, json={"id": 1, "name": "Acme"})
        return httpx.Response(200, json={"projects": "lots"})

    sent: list[str] = []
    transport = httpx.MockTransport(lambda r: (sent.append(r.method), handler(r))[1])
    async with fake_session(tmp_path, transport=transport, settings=fake_settings(max_retries=0)) as h:
        result = EVIDENCE.result(await h.call("delete_client", {"id": 1}))
    assert result.is_error and tool_error(result)["kind"] == "bad_response"
    assert set(sent) == {"GET"}


@pytest.mark.anyio
async def test_a_confirmed_delete_answered_with_an_empty_204_is_done(tmp_path):
    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "DELETE":
            return httpx.Response(204)
        return httpx.Response(200, json={"id": 1, "amount": "12.50", "description": "Taxi"})

    async with fake_session(tmp_path, transport=httpx.MockTransport(handler), settings=fake_settings()) as h:
        preview = EVIDENCE.result(await h.call("delete_expense", {"id": 1}))
        assert preview.structured_content["record"]["amount"] == 12.5
        token = preview.structured_content["confirm_token"]
        done = EVIDENCE.result(await h.call("delete_expense", {"id": 1, "confirm": token}))
    assert not done.is_error and done.structured_content["status"] == "done"
