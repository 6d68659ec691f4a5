"""Protocol abuse: raw JSON-RPC at the real server process, over stdio and over Streamable HTTP.

Each bad message gets the proper JSON-RPC error (a well-formed notification, or anything shaped like a
response, gets no answer at all, as JSON-RPC requires), never a crash or a hang: every wait is bounded,
and after all of it the same process still answers a valid request and exits cleanly.
"""

from __future__ import annotations

import json
import queue
import signal
import subprocess
import threading
import time
from typing import Any

import httpx
import mcp_types as types
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clientary_mcp.transports.stdio import screen

pytest.register_assert_rewrite("hardening")
from hardening import BIN, EVIDENCE, FAKE_BEARER, WAIT, running_http_server, server_env  # noqa: E402

pytest_plugins = ["hardening"]
pytestmark = pytest.mark.usefixtures("secrets_guard")

PARSE_ERROR, INVALID_REQUEST, METHOD_NOT_FOUND, INVALID_PARAMS = -32700, -32600, -32601, -32602
INIT = {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "abuser", "version": "1"}}


class StdioPeer:
    """`clientary-mcp serve --sandbox` with raw lines on its stdin; answers read with a time limit."""

    def __init__(self, env: dict[str, str]):
        self.proc = subprocess.Popen([str(BIN), "serve", "--sandbox"], env=env, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.lines: queue.Queue[bytes] = queue.Queue()
        self.stderr: list[bytes] = []
        threading.Thread(target=self._pump, args=(self.proc.stdout, self.lines.put), daemon=True).start()
        threading.Thread(target=self._pump, args=(self.proc.stderr, self.stderr.append), daemon=True).start()
        self.next_id = 1000

    @staticmethod
    def _pump(stream: Any, put: Any) -> None:
        for line in iter(stream.readline, b""):
            put(line)

    def send(self, message: dict[str, Any] | bytes) -> None:
        raw = message if isinstance(message, bytes) else json.dumps(message).encode()
        written = threading.Event()

        def write() -> None:  # in a thread, so a server that stops reading cannot block the test
            self.proc.stdin.write(raw + b"\n")
            self.proc.stdin.flush()
            written.set()

        threading.Thread(target=write, daemon=True).start()
        assert written.wait(WAIT), "the server stopped reading its input"

    def answer(self, timeout: float = WAIT) -> dict[str, Any]:
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no answer within {timeout} s (server alive: {self.proc.poll() is None})") from None
        EVIDENCE.text(line)
        message = json.loads(line)
        assert message.get("jsonrpc") == "2.0" and ("result" in message) != ("error" in message), message
        return message

    def request(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        self.next_id += 1
        self.send({"jsonrpc": "2.0", "id": self.next_id, "method": method, **({"params": params} if params else {})})
        message = self.answer()
        assert message["id"] == self.next_id, f"answer to another message first: {message}"
        return message

    def close(self) -> tuple[int, str]:
        self.proc.stdin.close()
        code = self.proc.wait(timeout=WAIT)
        time.sleep(0.05)
        err = b"".join(self.stderr).decode(errors="replace")
        EVIDENCE.text(err)
        return code, err

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=WAIT)


def error_of(message: dict[str, Any], code: int | tuple[int, ...], msg_id: Any, longest: int = 2000) -> str:
    assert "error" in message, f"expected an error, got {str(message)[:300]}"
    codes = code if isinstance(code, tuple) else (code,)
    assert message["error"]["code"] in codes and message["id"] == msg_id, message
    text = message["error"]["message"]
    assert isinstance(text, str) and "Traceback" not in text and len(text) < longest, text[:300]
    return text


def call(name: str, arguments: Any, msg_id: Any) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": msg_id, "method": "tools/call", "params": {"name": name, "arguments": arguments}}


BIG = 5 * 1024 * 1024

# Lines that are not messages at all: (raw line, expected code). Always answered with id null.
NOT_MESSAGES = [
    (b"{not json", PARSE_ERROR),
    (b'{"jsonrpc": "2.0", "id": 1, "method": "ping"', PARSE_ERROR),  # cut short
    (b"\xff\xfe\x00garbage", PARSE_ERROR),
    (b"NaN", PARSE_ERROR),
    (b"[" * 100_000 + b"]" * 100_000, PARSE_ERROR),  # deeper than any JSON decoder goes
    (b"{" + b"x" * BIG + b"}", PARSE_ERROR),  # 5 MB of garbage
    (b"[1, 2, 3]", INVALID_REQUEST),
    (b"[]", INVALID_REQUEST),
    (b'[{"jsonrpc": "2.0", "id": 7, "method": "ping"}]', INVALID_REQUEST),  # batches ended with 2025-06-18
    (b"42", INVALID_REQUEST),
    (b'"tools/list"', INVALID_REQUEST),
    (b"null", INVALID_REQUEST),
    (b"true", INVALID_REQUEST),
    (b"{}", INVALID_REQUEST),
    (b'{"hello": "world"}', INVALID_REQUEST),
    (b'{"jsonrpc": "2.0", "id": true, "method": "ping"}', INVALID_REQUEST),  # ids are strings or integers
    (b'{"jsonrpc": "2.0", "id": 1.5, "method": "ping"}', INVALID_REQUEST),
    (b'{"jsonrpc": "2.0", "id": {"a": 1}, "method": "ping"}', INVALID_REQUEST),
    (b'{"jsonrpc": "2.0", "method": 1, "params": "bar"}', INVALID_REQUEST),  # the JSON-RPC 2.0 spec's example
    (b'{"jsonrpc": "2.0", "method": "notifications/initialized", "params": "not an object"}', INVALID_REQUEST),
]

# Requests with a readable id but a broken envelope: answered with that id.
BROKEN_REQUESTS = [
    {"jsonrpc": "2.0", "id": "p1", "method": "tools/call", "params": "not an object"},
    {"jsonrpc": "1.0", "id": "p2", "method": "tools/list"},
    {"id": "p3", "method": "tools/list"},
    {"jsonrpc": "2.0", "id": "p4", "method": 12},
    {"jsonrpc": "2.0", "id": "p5"},
    {"jsonrpc": "2.0", "id": "p6", "method": "tools/call",
     "params": {"name": "create_task", "arguments": {"title": "x"}, "_meta": json.loads("[" * 300 + "]" * 300)}},
]

# Messages that must not be answered: notifications (known, unknown, malformed) and stray responses.
SILENT = [
    {"jsonrpc": "2.0", "method": "notifications/no_such_thing"},
    {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 424242}},
    {"jsonrpc": "2.0", "id": 99999, "result": {}},
    {"jsonrpc": "2.0", "id": 99998, "error": {"code": 1, "message": "stray"}},
    {"jsonrpc": "2.0", "id": None, "method": "ping"},
]


def test_stdio_answers_every_bad_message_and_keeps_serving(tmp_path):
    peer = StdioPeer(server_env(tmp_path))
    try:
        # Before the handshake (required in the 2025-11-25 era): refused with an error, not served.
        for method, params in (("tools/call", {"name": "get_client", "arguments": {"id": 1}}), ("tools/list", None)):
            error_of(peer.request(method, params), (INVALID_REQUEST, INVALID_PARAMS), peer.next_id)
        assert "result" in peer.request("ping")
        init = peer.request("initialize", INIT)
        assert init["result"]["protocolVersion"] == "2025-11-25"
        peer.send({"jsonrpc": "2.0", "method": "notifications/initialized"})

        for raw, code in NOT_MESSAGES:
            peer.send(raw)
            error_of(peer.answer(), code, None)
        for message in BROKEN_REQUESTS:
            peer.send(message)
            error_of(peer.answer(), INVALID_REQUEST, message["id"])
        for message in SILENT:
            peer.send(message)
        assert "result" in peer.request("ping"), "a silent message was answered"  # the very next line is ours

        error_of(peer.request("no/such/method"), METHOD_NOT_FOUND, peer.next_id)
        text = error_of(peer.request("resources/read", {"uri": "file:///etc/passwd"}), INVALID_PARAMS, peer.next_id)
        assert "skill://" in text and "root:" not in text  # only the skill files are served
        text = error_of(peer.request("tools/call", {"name": "no_such_tool", "arguments": {}}), INVALID_PARAMS,
                        peer.next_id)
        assert "no_such_tool" in text and "tools/list" in text
        text = error_of(peer.request("tools/call", {"name": "n" * BIG, "arguments": {}}), INVALID_PARAMS, peer.next_id)
        assert len(text) < 300, "the unknown name was echoed back in full"
        for arguments in ([1, 2], "x", 5):
            error_of(peer.request("tools/call", {"name": "get_client", "arguments": arguments}), INVALID_PARAMS,
                     peer.next_id)

        # A very large but well-formed call: a tool error naming the field; nothing created.
        big = peer.request("tools/call", {"name": "create_task", "arguments": {"title": "t" * BIG}})
        assert big["result"]["isError"] and "`title` is too long" in big["result"]["content"][0]["text"]
        assert len(json.dumps(big)) < 4000
        deep = peer.request("tools/call", {"name": "create_task",
                                           "arguments": {"title": json.loads("[" * 150 + "]" * 150)}})
        assert deep["result"]["isError"] and "`title` must be a string" in deep["result"]["content"][0]["text"]

        # Still serving: a valid call, with the right answer.
        ok = peer.request("tools/call", {"name": "get_client", "arguments": {"id": 1}})
        assert not ok["result"].get("isError") and ok["result"]["structuredContent"]["name"] == "Acme Corporation"
        code, err = peer.close()
    finally:
        peer.kill()
    assert code == 0 and "Traceback" not in err, err[-2000:]
    records = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    # Only calls that reached the service are audited: not the one before initialize, nor those whose
    # envelope was refused (arguments not an object, broken requests).
    assert [r["outcome"] for r in records] == ["unknown_tool", "unknown_tool", "validation_error",
                                               "validation_error", "ok"]
    assert all(len(line) < 5000 for line in (tmp_path / "audit.jsonl").read_text().splitlines())


@settings(max_examples=300, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
@given(st.one_of(
    st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
                 lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
                 max_leaves=10).map(json.dumps),
    st.fixed_dictionaries({"jsonrpc": st.sampled_from(["2.0", "1.0", 2]),
                           "method": st.sampled_from(["ping", "tools/call", 3, None])},
                          optional={"id": st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
                                    "params": st.none() | st.integers() | st.dictionaries(st.text(max_size=3),
                                                                                          st.integers(), max_size=2),
                                    "result": st.just({})}).map(json.dumps),
    st.text(max_size=40),
))
def test_stdio_screen_answers_exactly_the_lines_the_sdk_would_drop(line):
    """Every line: either the SDK decodes it (and answers it itself), or the screen answers or drops it."""
    verdict = screen(line)
    try:
        message = types.jsonrpc_message_adapter.validate_json(line, by_name=False)
    except Exception:
        message = None
    if verdict is None:
        assert message is not None, "the screen let through a line the SDK would drop silently"
        return
    if isinstance(verdict, types.JSONRPCError):
        assert verdict.error.code in (PARSE_ERROR, INVALID_REQUEST)
        try:
            data = json.loads(line)
        except Exception:
            return
        if isinstance(data, dict) and verdict.id is not None:
            assert verdict.id == data.get("id")
        return
    # Dropped without an answer: only ever blank lines and responses.
    data = json.loads(line) if line.strip() else {"result": "blank"}
    assert isinstance(data, dict) and data.get("id") is None and "method" not in data and (
        "result" in data or "error" in data), line


# ---------------------------------------------------------------------------------------------
# Streamable HTTP


def rpc(response: httpx.Response) -> dict[str, Any]:
    """The one JSON-RPC message in a JSON or SSE response."""
    EVIDENCE.text(response.text)
    if response.headers.get("content-type", "").startswith("text/event-stream"):
        data = [line[5:].strip() for line in response.text.splitlines() if line.startswith("data:")]
        assert len(data) == 1, response.text[:500]
        return json.loads(data[0])
    return response.json()


@pytest.fixture
def http_server(tmp_path):
    with running_http_server(tmp_path) as (base, proc):
        yield base, proc


def test_http_answers_every_bad_message_and_keeps_serving(http_server, tmp_path):
    base, proc = http_server
    headers = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json",
               "Authorization": f"Bearer {FAKE_BEARER}"}
    with httpx.Client(base_url=base, headers=headers, timeout=WAIT) as http:
        def post(body: bytes | dict[str, Any], **extra: str) -> httpx.Response:
            content = body if isinstance(body, bytes) else json.dumps(body).encode()
            return http.post("/mcp", content=content, headers=extra)

        # No token, a wrong token: 401 before anything else, the token never echoed.
        for auth in ("", "Bearer not-the-token", f"Basic {FAKE_BEARER}"):
            refused = http.post("/mcp", content=b"{}", headers={"Authorization": auth})
            assert refused.status_code == 401 and FAKE_BEARER not in refused.text
        # A request without a session (no handshake): refused with a JSON-RPC error.
        early = post(call("get_client", {"id": 1}, 1))
        assert early.status_code in (400, 404)
        error_of(rpc(early), INVALID_REQUEST, None)

        opened = post({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": INIT})
        assert opened.status_code == 200, opened.text
        session = {"mcp-session-id": opened.headers["mcp-session-id"], "mcp-protocol-version": "2025-11-25"}
        assert post({"jsonrpc": "2.0", "method": "notifications/initialized"}, **session).status_code == 202

        for body in (b"{not json", b"", b"\xff\xfe", b"[" * 5000 + b"]" * 5000):
            bad = post(body, **session)
            assert bad.status_code == 400
            error_of(rpc(bad), PARSE_ERROR, None)
        # Not a message at all. JSON-RPC says -32600; the SDK's HTTP transport answers -32602 with pydantic's
        # multi-line validation report as the message (stdio answers these with -32600 and one sentence).
        for body in (b"[1, 2]", b"42", b"null", b'{"hello": 1}', b'{"jsonrpc": "2.0", "id": 3, "params": "x"}'):
            bad = post(body, **session)
            assert bad.status_code == 400
            error_of(rpc(bad), (INVALID_REQUEST, INVALID_PARAMS), None, longest=10_000)

        error_of(rpc(post({"jsonrpc": "2.0", "id": 5, "method": "no/such"}, **session)), METHOD_NOT_FOUND, 5)
        text = error_of(rpc(post(call("no_such_tool", {}, 6), **session)), INVALID_PARAMS, 6)
        assert "no_such_tool" in text
        for notification in SILENT[:3]:  # two notifications and a stray response
            assert post(notification, **session).status_code == 202

        # Too large for the server's --max-body (1 MiB by default): refused before it is read in full.
        too_big = post(json.dumps(call("create_task", {"title": "t" * BIG}, 7)).encode(), **session)
        assert too_big.status_code == 413
        assert post(b"x" * BIG, **session).status_code == 413
        assert post(b"{}", **{**session, "Content-Type": "text/plain"}).status_code in (400, 415)
        assert post(call("get_client", {"id": 1}, 8), **{"mcp-session-id": "no-such-session"}).status_code == 404

        # Large but allowed: a tool error naming the field.
        big = rpc(post(call("create_task", {"title": "t" * 900_000}, 9), **session))
        assert big["result"]["isError"] and "`title` is too long" in big["result"]["content"][0]["text"]

        ok = rpc(post(call("get_client", {"id": 1}, 10), **session))
        assert ok["id"] == 10 and ok["result"]["structuredContent"]["name"] == "Acme Corporation"
    assert proc.poll() is None, "the server died"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=WAIT) == 0
    out = proc.stdout.read().decode(errors="replace")
    EVIDENCE.text(out)
    assert "Traceback" not in out, out[-3000:]
    records = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert [r["outcome"] for r in records] == ["unknown_tool", "validation_error", "ok"]
    assert all(r["principal"] == "hardening" for r in records)
