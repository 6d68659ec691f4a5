"""Faults: a bulk run through MCP against a misbehaving Clientary, with nothing lost and nothing done twice.

The sandbox answers 30% of requests with 429 (Retry-After 0.01 s), 10% of reads with a 5xx, 5% of writes
with a 502 *after* applying them, drops 4% of connections (half before the request reaches it, half after
it was handled), adds 2 ms to every request and 50 ms to 2% of them; the dice are seeded. Through one MCP
session, 500 create_task calls with unique titles and 2,000 reads with known answers run concurrently in
batches of 25. Then:

- every read that succeeded returned the right data;
- every task exists at most once; every reported success exactly once; a create reported as failed without
  doubt (rate limited, not reachable) not at all; a create of unknown outcome zero or one time;
- the sandbox applied each title's POST at most once, and after an attempt whose outcome was unknown the
  client never sent that title again (checked on a transport layer that sees every attempt);
- every failure the agent saw says what happened and what to check; the audit log has one intact record per
  call.

Retries sleep 1/20 of the real time (ClientaryClient's `sleep` hook), so the run takes seconds; which
attempts are retried and how often is unchanged.
"""

from __future__ import annotations

import json
import random
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

import anyio
import httpx
import pytest

from clientary_mcp.safety.audit import verify
from clientary_mcp.sandbox import Faults, create_app

pytest.register_assert_rewrite("hardening")
from hardening import AUDIT_KEY, EVIDENCE, FAKE_API_TOKEN, fake_session, fake_settings  # noqa: E402
from support import call_records, tool_error  # noqa: E402

pytest_plugins = ["hardening"]
pytestmark = pytest.mark.usefixtures("secrets_guard")

CREATES, READS, BATCH = 500, 2000, 25
SPIKE = 0.05
FAULTS = dict(rate_429=0.30, retry_after=0.01, rate_5xx_reads=0.10, rate_5xx_writes=0.05, drop_rate=0.04,
              latency=0.002, latency_spike_rate=0.02, latency_spike=SPIKE, seed=20261121)

# What the agent must be told for each way a call can fail (substrings of the error text).
GUIDANCE = {
    "unknown_outcome": ("may or may not have been applied", "not repeated automatically",
                        "check whether the new task exists", "list_tasks"),
    "rate_limited": ("rate limiting", "before trying again"),
    "server": ("server error", "try again"),
    "connection": ("Could not reach", "try again"),
    "timeout": ("timed out", "try again"),
}
NOTHING_DONE = {"rate_limited": "the change was not applied", "connection": "Nothing was changed",
                "timeout": "Nothing was changed"}


@dataclass
class Attempt:
    method: str
    path: str
    title: str | None
    outcome: str  # "connect" (never reached the sandbox), "read" (reached it, answer lost) or the status
    seconds: float


class Recorder(httpx.AsyncBaseTransport):
    """Sits between ClientaryClient and the sandbox's transport and notes the fate of every attempt."""

    def __init__(self, inner: httpx.AsyncBaseTransport):
        self.inner = inner
        self.attempts: list[Attempt] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        title = None
        if request.method == "POST":
            title = json.loads(request.content).get("task", {}).get("title")
        started = time.perf_counter()

        def note(outcome: str) -> None:
            self.attempts.append(Attempt(request.method, request.url.path, title, outcome,
                                         time.perf_counter() - started))

        try:
            response = await self.inner.handle_async_request(request)
        except httpx.ConnectError:
            note("connect")
            raise
        except httpx.ReadError:
            note("read")
            raise
        note(str(response.status_code))
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


def expected_reads(store: Any) -> list[tuple[str, dict[str, Any], Any]]:
    """(tool, arguments, check) for reads whose answers the seeded account fixes."""
    reads: list[tuple[str, dict[str, Any], Any]] = []

    def same(**want: Any):
        return lambda data: all(data.get(k) == v for k, v in want.items())

    for c in store.table("clients"):
        reads.append(("get_client", {"id": c["id"]}, same(id=c["id"], name=c["name"])))
    for p in store.table("projects"):
        reads.append(("get_project", {"id": p["id"]}, same(id=p["id"], name=p["name"])))
    for s in store.table("staff"):
        reads.append(("get_staff", {"id": s["id"]}, same(id=s["id"], name=s["name"])))
    for t in store.table("tasks"):
        reads.append(("get_task", {"id": t["id"]}, same(id=t["id"], title=t["title"])))
    for i in store.table("invoices")[:5]:
        reads.append(("get_invoice", {"id": i["id"]}, same(id=i["id"], number=i["number"])))
    by_name = [c["id"] for c in sorted(store.table("clients"), key=lambda c: c["name"])]
    reads.append(("list_clients", {}, lambda d: [x["id"] for x in d["items"]] == by_name[:10]
                  and d["total_count"] == len(by_name)))
    staff = [s["id"] for s in store.table("staff")]
    reads.append(("list_staff", {}, lambda d: [x["id"] for x in d["items"]] == staff))
    mine = [p["id"] for p in store.table("projects") if p["client_id"] == 1]
    reads.append(("list_client_projects", {"client_id": 1}, lambda d: [x["id"] for x in d["items"]] == mine))
    return reads


@pytest.mark.anyio
async def test_bulk_run_under_faults_loses_nothing_and_does_nothing_twice(tmp_path):
    app = create_app(token=FAKE_API_TOKEN, faults=Faults(**FAULTS))
    store = app.state.store
    seeded_tasks = store.count("tasks")
    pool = expected_reads(store)
    rng = random.Random(7)
    titles = [f"bulk-{i:04d}-{rng.randrange(16**6):06x}" for i in range(CREATES)]
    work: list[tuple[str, dict[str, Any], Any]] = [("create_task", {"title": t}, None) for t in titles]
    work += [rng.choice(pool) for _ in range(READS)]
    rng.shuffle(work)

    recorder: Recorder | None = None

    def wrap(inner: httpx.AsyncBaseTransport) -> httpx.AsyncBaseTransport:
        nonlocal recorder
        recorder = Recorder(inner)
        return recorder

    async def quick_sleep(seconds: float) -> None:
        await anyio.sleep(seconds / 20)

    results: list[tuple[str, dict[str, Any], Any, Any]] = []
    started = time.perf_counter()
    async with fake_session(tmp_path, app=app, wrap=wrap, settings=fake_settings(max_retries=4),
                            sleep=quick_sleep) as h:
        async def one(tool: str, args: dict[str, Any], check: Any) -> None:
            results.append((tool, args, check, EVIDENCE.result(await h.call(tool, args))))

        with anyio.fail_after(150):  # a hang fails the test instead of stalling the suite
            for start in range(0, len(work), BATCH):
                async with anyio.create_task_group() as tg:
                    for tool, args, check in work[start:start + BATCH]:
                        tg.start_soon(one, tool, args, check)
        audit = h.audit()
    elapsed = time.perf_counter() - started
    assert recorder is not None and len(results) == CREATES + READS

    counts: Counter[str] = Counter({"lost (reported done, not in the store)": 0})
    unknown_titles: set[str] = set()
    in_store = Counter(t["title"] for t in store.table("tasks"))
    for tool, args, check, result in results:
        text = result.content[0].text
        assert "Traceback" not in text
        if result.is_error:
            kind = tool_error(result)["kind"]
            assert kind in GUIDANCE, f"{tool}: unexpected failure {kind}: {text[:300]}"
            for phrase in GUIDANCE[kind]:
                assert phrase.lower() in text.lower(), f"{kind} without guidance ({phrase!r}): {text}"
        if tool == "create_task":
            counts["creates attempted"] += 1
            title = args["title"]
            if not result.is_error:
                counts["creates succeeded"] += 1
                assert result.structured_content["title"] == title
                counts["lost (reported done, not in the store)"] += in_store[title] == 0
            elif kind == "unknown_outcome":
                counts["creates unknown outcome"] += 1
                counts[f"creates unknown outcome, {'applied' if in_store[title] else 'not applied'}"] += 1
                unknown_titles.add(title)
                assert in_store[title] <= 1
            else:
                counts[f"creates failed ({kind})"] += 1
                assert NOTHING_DONE[kind] in text, text
                assert in_store[title] == 0, f"{title}: reported not done ({kind}) but it exists"
        else:
            counts["reads"] += 1
            if result.is_error:
                counts[f"reads failed ({kind})"] += 1
            else:
                assert check(result.structured_content), f"{tool} {args}: wrong answer {text[:300]}"
                counts["reads correct"] += 1

    # Exactly once, at the sandbox: no title twice in the store, no title applied twice.
    duplicates = sum(n - 1 for title, n in in_store.items() if n > 1)
    assert duplicates == 0
    assert store.count("tasks") - seeded_tasks == sum(in_store[t] for t in titles)
    by_title: dict[str, list[Attempt]] = defaultdict(list)
    for attempt in recorder.attempts:
        if attempt.title is not None:
            by_title[attempt.title].append(attempt)
    for title, attempts in by_title.items():
        # Attempts the handler may have run: all but those that never arrived and those answered 429 (a
        # dropped answer hides its status, so a "read" counts here even if it was a 429 underneath).
        maybe = [a for a in attempts if a.outcome not in ("connect", "429")]
        assert len(maybe) <= 1, f"{title} may have been applied {len(maybe)} times: {attempts}"
        if maybe and maybe[0].outcome != "read":
            assert in_store[title] == 1, f"{title}: answered {maybe[0].outcome}, yet not in the store"
        assert in_store[title] <= len(maybe), f"{title}: in the store without an attempt: {attempts}"
        doubtful = [i for i, a in enumerate(attempts) if a.outcome == "read" or a.outcome.startswith("5")]
        if doubtful:
            assert doubtful[0] == len(attempts) - 1, f"{title} was sent again after an unknown outcome: {attempts}"
            assert title in unknown_titles, f"{title}: unknown outcome not reported to the agent"
    # The sandbox's own log agrees: applied POSTs are its 201s and its 502s-after-apply.
    posts = [r for r in store.requests if r.method == "POST"]
    assert sum(r.status in (201, 502) for r in posts) == store.count("tasks") - seeded_tasks

    faults = Counter()
    for a in recorder.attempts:
        if a.outcome == "429":
            faults["429 rate limited"] += 1
        elif a.outcome.startswith("5"):
            faults["5xx on reads" if a.method == "GET" else "5xx after applying a write"] += 1
        elif a.outcome in ("connect", "read"):
            faults[f"connection dropped ({'before' if a.outcome == 'connect' else 'after'} the sandbox)"] += 1
        if a.seconds >= SPIKE:
            faults["slow answers (>= 50 ms, mostly latency spikes)"] += 1
    counts["duplicates"] = duplicates
    report = {**counts, **{f"fault: {k}": v for k, v in faults.items()},
              "attempts at the sandbox": len(recorder.attempts), "seconds": round(elapsed, 1)}
    print("\n" + json.dumps(report, indent=1, sort_keys=True))

    assert counts["lost (reported done, not in the store)"] == 0
    assert counts["creates attempted"] == CREATES and counts["reads"] == READS
    assert counts["creates succeeded"] > CREATES * 0.7 and counts["reads correct"] > READS * 0.9
    assert all(faults[k] > 0 for k in ("429 rate limited", "5xx on reads", "5xx after applying a write",
                                       "connection dropped (before the sandbox)",
                                       "connection dropped (after the sandbox)"))
    assert counts["creates unknown outcome"] > 0  # the interesting case did happen
    # One intact record per call with the outcome the agent saw; each create's intent written before it.
    everything = audit
    audit = call_records(everything)
    assert len(audit) == CREATES + READS and verify(tmp_path / "audit.jsonl", AUDIT_KEY).ok
    assert len(everything) - len(audit) == CREATES  # one intent per create
    audited = Counter(r["error_kind"] for r in audit if r["outcome"] == "api_error")
    seen = Counter(tool_error(res)["kind"] for *_, res in results if res.is_error)
    assert audited == seen
