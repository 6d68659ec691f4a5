"""What one tool call adds on top of the API request it makes.

The sandbox runs on a loopback port (`clientary-mcp sandbox --port P`, its own process). Two ways
to fetch client 1, alternating one for one:

* MCP: `tools/call get_client {"id": 1}` in raw JSON-RPC over stdio to `clientary-mcp serve`
  (CLIENTARY_BASE_URL=http://127.0.0.1:P, audit log on, to a temp file) - validation, policy,
  the HTTP request, shaping, the audit record, the MCP framing;
* direct: the same GET /api/v2/clients/1 with httpx (Basic auth, keep-alive) from this process;
* SDK floor: `tools/call echo` on bench/minimal_server.py over stdio - what any SDK server's
  stdio round trip costs with no work in the tool;
* in-process: `tools/call get_client` to `clientary-mcp serve --sandbox`, whose sandbox lives in the
  server's own process - the whole call path with no network hop, against that floor.

Both fetches keep one connection alive to the sandbox, so the difference is what the server adds.
The order of the three rotates every round. The audit log is checked afterwards: one record per call.
Then (unless --no-breakdown) the same fetch is timed through successively more of the stack in
this process, to say where the added time goes.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import anyio
import httpx

import _common as c

TARGET_ADDED_MS = 1.0
TARGET_FLOOR_RATIO = 1.1
TOKEN = "sandbox-demo-token"
CLIENT_ID = 1


async def layers(base: str, audit: Path, calls: int, warmup: int) -> dict[str, list[float]]:
    """Where the added time goes: the same fetch through successively more of our stack, in this process.

    sync httpx (the baseline) → async httpx → ClientaryClient.request (retries, gate, trace, decode)
    → ToolService.call (validation, policy, shaping, text, audit record); the stdio figures above add
    the MCP layer (JSON-RPC decode/validate, dispatch, result model, serialisation, pipes).
    """
    from clientary_mcp.api import ClientaryClient
    from clientary_mcp.app import build_service
    from clientary_mcp.safety.audit import AuditLog
    from clientary_mcp.config import Settings
    from clientary_mcp.options import load_options
    from clientary_mcp.service import Caller

    settings = Settings.for_base_url(base, TOKEN)
    sync_http = httpx.Client(base_url=base, auth=(TOKEN, TOKEN), headers={"Accept": "application/json"})
    async_http = httpx.AsyncClient(base_url=base, auth=(TOKEN, TOKEN), headers={"Accept": "application/json"})
    api = ClientaryClient(settings)
    service = build_service(load_options(env={}), settings, audit=AuditLog(audit))
    quiet = build_service(load_options(env={}), settings, audit=AuditLog(None))
    path = f"/api/v2/clients/{CLIENT_ID}"

    async def sync_get() -> None:
        sync_http.get(path).raise_for_status()

    async def async_get() -> None:
        (await async_http.get(path)).raise_for_status()

    async def api_request() -> None:
        await api.request("GET", path)

    async def service_call() -> None:
        result = await service.call("get_client", {"id": CLIENT_ID}, Caller(transport="bench"))
        assert not result.is_error, result.text

    async def service_call_quiet() -> None:
        result = await quiet.call("get_client", {"id": CLIENT_ID}, Caller(transport="bench"))
        assert not result.is_error, result.text

    arms = {"sync httpx GET": sync_get, "async httpx GET": async_get, "ClientaryClient.request": api_request,
            "ToolService.call (audit off)": service_call_quiet, "ToolService.call (audit on)": service_call}
    times: dict[str, list[float]] = {name: [] for name in arms}
    for _ in range(warmup):
        for fn in arms.values():
            await fn()
    order = list(arms)
    for i in range(calls):
        for name in c.turn(order, i):
            t0 = time.perf_counter()
            await arms[name]()
            times[name].append((time.perf_counter() - t0) * 1000)
    sync_http.close()
    await async_http.aclose()
    await api.aclose()
    for svc in (service, quiet):
        await svc.api.aclose()
        svc.audit.close()
    return times


def main() -> int:
    p = c.parser("Median and p99 latency of tools/call get_client over stdio vs the same GET with httpx.")
    p.add_argument("--calls", type=int, default=None, help="timed calls of each kind (default 2000, quick 200)")
    p.add_argument("--no-breakdown", dest="breakdown", action="store_false",
                   help="skip timing the layers in process (sync/async httpx, API client, ToolService)")
    args = p.parse_args()
    calls = args.calls or (200 if args.quick else 2000)
    warmup = 20 if args.quick else 100

    port = c.free_port()
    with tempfile.TemporaryDirectory(prefix="clientary-bench-") as tmp:
        audit = Path(tmp) / "audit.jsonl"
        audit_inproc = Path(tmp) / "audit-inproc.jsonl"
        sandbox = subprocess.Popen(c.clientary_command() + ["sandbox", "--port", str(port)], env=c.clean_env(),
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        peer = floor = inproc = None
        try:
            c.wait_port(port, sandbox)
            base = f"http://127.0.0.1:{port}"
            env = c.server_env(Path(tmp) / "state", CLIENTARY_BASE_URL=base, CLIENTARY_API_TOKEN=TOKEN)
            peer = c.StdioPeer(c.clientary_command() + ["serve", "--audit-log", str(audit)], env=env, cwd=c.ROOT)
            peer.initialize()
            floor = c.StdioPeer([sys.executable, str(c.BENCH / "minimal_server.py")], env=c.clean_env(), cwd=c.ROOT)
            floor.initialize()
            inproc = c.StdioPeer(c.clientary_command() + ["serve", "--sandbox", "--audit-log", str(audit_inproc)],
                                 env=c.server_env(Path(tmp) / "state"), cwd=c.ROOT)
            inproc.initialize()
            http = httpx.Client(base_url=base, auth=(TOKEN, TOKEN), headers={"Accept": "application/json"})

            def via_mcp() -> dict:
                result = peer.request("tools/call", {"name": "get_client", "arguments": {"id": CLIENT_ID}})
                if result.get("isError"):
                    raise RuntimeError(f"get_client failed: {result['content'][0]['text']}")
                return result["structuredContent"]

            def sdk_floor() -> dict:
                result = floor.request("tools/call", {"name": "echo", "arguments": {"text": "x"}})
                assert result["content"][0]["text"] == "x"
                return result

            def via_mcp_inproc() -> dict:
                result = inproc.request("tools/call", {"name": "get_client", "arguments": {"id": CLIENT_ID}})
                if result.get("isError"):
                    raise RuntimeError(f"get_client failed: {result['content'][0]['text']}")
                return result["structuredContent"]

            def direct() -> dict:
                response = http.get(f"/api/v2/clients/{CLIENT_ID}")
                response.raise_for_status()
                return response.json()

            # Same record both ways, or the comparison is meaningless.
            assert via_mcp()["id"] == direct()["id"] == CLIENT_ID
            arms = {"mcp": via_mcp, "direct": direct, "sdk_floor": sdk_floor, "mcp_inproc": via_mcp_inproc}
            for _ in range(warmup):
                for fn in arms.values():
                    fn()
            times: dict[str, list[float]] = {name: [] for name in arms}
            order = list(arms)
            for i in range(calls):
                for name in c.turn(order, i):
                    t0 = time.perf_counter()
                    arms[name]()
                    times[name].append((time.perf_counter() - t0) * 1000)
            http.close()
            rss = c.proc_status_kb(peer.pid, "VmHWM")
            floor.close()
            inproc.close()
            floor = inproc = None
            breakdown = anyio.run(layers, base, Path(tmp) / "layers.jsonl", calls, warmup) if args.breakdown else {}
        finally:
            for child in (peer, floor, inproc):
                if child is not None:
                    child.close()
            c.stop(sandbox)
        records = [json.loads(line) for line in audit.read_text().splitlines()]

    expected = 1 + warmup + calls
    diffs = [m - d for m, d in zip(times["mcp"], times["direct"])]
    med_mcp, med_direct = c.median(times["mcp"]), c.median(times["direct"])
    report = c.Report("call_overhead", f"call_overhead: tools/call get_client over stdio vs direct GET "
                                       f"({calls} interleaved calls each, sandbox on loopback)")
    report.add("MCP tools/call, median", med_mcp, "ms", key=True)
    report.add("MCP tools/call, p99", c.percentile(times["mcp"], 99), "ms", key=True)
    report.add("direct httpx GET, median", med_direct, "ms", key=True)
    report.add("direct httpx GET, p99", c.percentile(times["direct"], 99), "ms", key=True)
    report.add("added at the median (audit log on)", med_mcp - med_direct, "ms", ("<=", TARGET_ADDED_MS))
    report.add("added, median of paired differences", c.median(diffs), "ms")
    report.add("added at p99", c.percentile(times["mcp"], 99) - c.percentile(times["direct"], 99), "ms")
    floor_med = c.median(times["sdk_floor"])
    report.add("SDK floor: echo tool on a minimal stdio server, median", floor_med, "ms", key=True)
    report.add("  added beyond the SDK floor (ours + async HTTP)", med_mcp - med_direct - floor_med, "ms",
               key=True)
    inproc_med = c.median(times["mcp_inproc"])
    report.add("get_client, in-process sandbox (serve --sandbox), median", inproc_med, "ms", key=True)
    report.add("  ratio to the SDK floor's echo (medians)", inproc_med / floor_med, "×",
               ("<=", TARGET_FLOOR_RATIO), key=True)
    report.add("audit records / calls", f"{len(records):,} / {expected:,}", "", "one per call",
               ok=len(records) == expected and all(r.get("tool") == "get_client" for r in records))
    report.add("server peak RSS (VmHWM)", (rss or 0) / 1024, "MiB", key=True)
    if breakdown:
        base_ms = c.median(breakdown["sync httpx GET"])
        for name, values in breakdown.items():
            report.add(f"in process: {name}, median (+ over sync GET)",
                       f"{c.median(values):.3f} (+{c.median(values) - base_ms:.3f})", "ms")
        report.extra["layers_ms"] = breakdown
    report.extra = {"ms": times}
    return report.finish(args)


if __name__ == "__main__":
    sys.exit(main())
