"""All pages of 1,000 clients: the concurrent `list_all` against one page at a time.

In process, through `SandboxTransport` (ASGI, no sockets), so that the sandbox's injected latency
(Faults.latency, 50 ms per request) is what a real API's round trip would be and nothing else
is. The sandbox starts empty and 1,000 clients are created through the API with no latency.

* concurrent: `ClientaryClient.list_all("/api/v2/clients", "clients")` - page 1, then pages
  2..N by `page_concurrency` workers (the default, 8), merged in page order;
* one at a time: `list_page` for pages 1..N in a loop, over the same client class.

Rounds alternate the two (order flips every round); each run gets a fresh client. Then the
same with 20% of requests answered 429 (Retry-After 0.05 s, fixed fault seed). Every run is
checked: 1,000 records, each once, in the API's order (by name).
"""

from __future__ import annotations

import sys
import time
from typing import Any

import anyio

import _common as c

TARGET_RATIO = 6.0
RECORDS = 1000
PATH, KEY = "/api/v2/clients", "clients"


def sandbox() -> Any:
    from clientary_mcp.sandbox import create_app

    return create_app(seed_data=False)


def client(app: Any, **overrides: Any) -> Any:
    from clientary_mcp.api import ClientaryClient
    from clientary_mcp.config import Settings
    from clientary_mcp.sandbox import DEMO_TOKEN, SandboxTransport

    # max_records at least the account size, so list_all is not cut short by the cap.
    settings = Settings.for_base_url("http://sandbox.bench", DEMO_TOKEN, max_records=RECORDS, **overrides)
    return ClientaryClient(settings, transport=SandboxTransport(app))


async def seed(app: Any) -> list[int]:
    """RECORDS clients through the API (latency off); returns their ids in the list's order."""
    async with client(app) as api:
        limit = anyio.Semaphore(16)

        async def create(n: int) -> None:
            async with limit:
                await api.request("POST", PATH, json={"client": {"name": f"Bench Client {n:04d}"}})

        async with anyio.create_task_group() as tg:
            for n in range(1, RECORDS + 1):
                tg.start_soon(create, n)
    rows = sorted(app.state.store.table("clients"), key=lambda r: r["name"])
    return [r["id"] for r in rows]


async def concurrent(app: Any, overrides: dict[str, Any]) -> tuple[list[int], int]:
    async with client(app, **overrides) as api:
        page = await api.list_all(PATH, KEY, max_records=RECORDS)
        assert not page.truncated, "list_all stopped at max_records"
        return [r["id"] for r in page.items], page.pages_fetched


async def one_at_a_time(app: Any, overrides: dict[str, Any]) -> tuple[list[int], int]:
    async with client(app, **overrides) as api:
        first = await api.list_page(PATH, KEY, page=1)
        ids = [r["id"] for r in first.items]
        for number in range(2, (first.page_count or 1) + 1):
            ids += [r["id"] for r in (await api.list_page(PATH, KEY, page=number)).items]
        return ids, first.page_count or 1


def verify(ids: list[int], expected: list[int]) -> str | None:
    if len(ids) != len(expected):
        return f"{len(ids)} records, expected {len(expected)}"
    if len(set(ids)) != len(ids):
        return f"{len(ids) - len(set(ids))} duplicates"
    if ids != expected:
        at = next(i for i, (a, b) in enumerate(zip(ids, expected)) if a != b)
        return f"out of order from position {at}"
    return None


async def scenario(app: Any, expected: list[int], rounds: int, overrides: dict[str, Any]) -> dict[str, Any]:
    arms = {"concurrent": concurrent, "sequential": one_at_a_time}
    times: dict[str, list[float]] = {name: [] for name in arms}
    problems: list[str] = []
    store = app.state.store
    requests: dict[str, list[int]] = {name: [] for name in arms}
    order = list(arms)
    for i in range(rounds):
        for name in (order if i % 2 == 0 else order[::-1]):
            before = len(store.requests)
            t0 = time.perf_counter()
            ids, _ = await arms[name](app, overrides)
            times[name].append(time.perf_counter() - t0)
            requests[name].append(len(store.requests) - before)
            problem = verify(ids, expected)
            if problem:
                problems.append(f"{name} round {i + 1}: {problem}")
    return {"times": times, "problems": problems, "requests": requests}


async def run(args: Any) -> c.Report:
    latency = args.latency if args.latency is not None else (0.02 if args.quick else 0.05)
    rounds = args.rounds or (1 if args.quick else 5)
    app = sandbox()
    expected = await seed(app)
    pages = -(-RECORDS // 10)
    faults = app.state.faults
    faults.latency = latency

    clean = await scenario(app, expected, rounds, {})
    # Retries raised to the maximum so a 1-in-3,000 run of five 429s in a row cannot fail the run.
    faults.rate_429, faults.retry_after, faults.seed = 0.2, 0.05, 7
    limited = await scenario(app, expected, rounds, {"max_retries": 10})
    faults.rate_429 = 0.0

    def med(result: dict[str, Any], name: str) -> float:
        return c.median(result["times"][name])

    concurrency = client(app).settings.page_concurrency
    report = c.Report("pagination", f"pagination: {RECORDS:,} clients = {pages} pages, {latency * 1000:.0f} ms per "
                                    f"request, page_concurrency {concurrency} ({rounds} interleaved rounds each)")
    report.add("one page at a time, median", med(clean, "sequential"), "s", key=True)
    report.add("list_all (concurrent), median", med(clean, "concurrent"), "s", key=True)
    ratio = med(clean, "sequential") / med(clean, "concurrent")
    report.add("speed-up (sequential / concurrent)", ratio, "×", (">=", TARGET_RATIO))
    ideal = pages / (1 + -(-(pages - 1) // concurrency))
    report.add("  ideal at this concurrency (round trips only)", ideal, "×")
    report.add("records once and in order, no 429s", "yes" if not clean["problems"] else "; ".join(clean["problems"]),
               "", "all runs", ok=not clean["problems"])
    report.add("with 20% 429s: one page at a time, median", med(limited, "sequential"), "s")
    report.add("with 20% 429s: list_all, median", med(limited, "concurrent"), "s")
    report.add("with 20% 429s: speed-up", med(limited, "sequential") / med(limited, "concurrent"), "×", key=True)
    report.add("with 20% 429s: requests per list_all (median)", c.median(limited["requests"]["concurrent"]), "",
               f"≥ {pages}")
    report.add("records once and in order, 20% 429s",
               "yes" if not limited["problems"] else "; ".join(limited["problems"]), "", "all runs",
               ok=not limited["problems"])
    report.note(f"check: {RECORDS} ids compared one by one with the store's by-name order in every run "
                f"({2 * rounds} runs per scenario)")
    report.extra = {"clean": clean, "rate_429": limited, "latency": latency}
    return report


def main() -> int:
    p = c.parser("Concurrent list_all vs one page at a time, 1,000 clients, 50 ms per request, with and without 429s.")
    p.add_argument("--rounds", type=int, default=None, help="runs of each per scenario (default 5, quick 1)")
    p.add_argument("--latency", type=float, default=None, help="seconds per request (default 0.05, quick 0.02)")
    args = p.parse_args()
    report = anyio.run(run, args)
    return report.finish(args)


if __name__ == "__main__":
    sys.exit(main())
