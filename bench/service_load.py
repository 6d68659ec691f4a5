"""Load on the Streamable HTTP service: many MCP sessions calling tools at once, on the sandbox.

Starts `clientary-mcp serve --transport http --sandbox --port P --audit-log <temp file>`, opens
`--clients` sessions (initialize + notifications/initialized each), then every session makes its
share of `--calls` tools/call requests back to back, all sessions at the same time. Requests are
raw JSON-RPC over one keep-alive HTTP/1.1 connection per session, driven with h11 (SSE or JSON
answers both understood), so the load generator stays light next to the server on a small machine.

The mix (fixed seed) is 70% reads - get_client, get_project, get_invoice, list_clients,
list_tasks - and 30% writes - create_task, update_client. A call counts as an error if the HTTP
status is not 200, the answer is a JSON-RPC error, or the tool result has isError.

Afterwards: the audit log must hold exactly one record per call, with an intact hash chain, and
the server's peak RSS is VmHWM from /proc/<pid>/status before it is stopped.

`--replicas 2 --redis` starts a redis-server on a free port and two servers sharing it
(CLIENTARY_MCP_REDIS_URL), each with its own sandbox and audit log; sessions are dealt to the
replicas round-robin. Every replica's log must hold one chain that verifies, and together one record
per call. `--rate-limit` gives the calls a (generous) limit so each also takes from the shared
bucket. Afterwards the cost of the state store per call is measured on its own: what a rate-limited
call makes there (one take from the bucket; its place among the requests in flight is counted in
process), timed against this redis-server and against the embedded store.
"""

from __future__ import annotations

import contextlib
import json
import random
import resource
import shlex
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import anyio
import h11

import _common as c

# 50 sessions of one principal: above the default cap of 32 open sessions per principal.
DEFAULT_COMMAND = "{clientary} serve --transport http --sandbox --port {port} --audit-log {audit} --max-sessions 200"
ACCEPT = "application/json, text/event-stream"
MODERN = "2026-07-28"  # no handshake: every request carries the protocol version and the client's details
MODERN_META = {"io.modelcontextprotocol/protocolVersion": MODERN,
               "io.modelcontextprotocol/clientInfo": {"name": "clientary-bench", "version": "1"},
               "io.modelcontextprotocol/clientCapabilities": {}}

READS = [
    (0.20, "get_client", lambda r, n: {"id": r.randint(1, 5)}),
    (0.15, "get_project", lambda r, n: {"id": r.randint(1, 4)}),
    (0.15, "get_invoice", lambda r, n: {"id": r.randint(1, 5)}),
    (0.10, "list_clients", lambda r, n: {}),
    (0.10, "list_tasks", lambda r, n: {}),
]
WRITES = [
    (0.15, "create_task", lambda r, n: {"title": f"Load test task {n}"}),
    (0.15, "update_client", lambda r, n: {"id": r.randint(1, 5), "description": f"Load test {n}"}),
]
MIX = READS + WRITES


def pick(rng: random.Random) -> tuple[str, Any]:
    x, acc = rng.random(), 0.0
    for share, name, args in MIX:
        acc += share
        if x < acc:
            return name, args
    return MIX[-1][1], MIX[-1][2]


@dataclass
class Reply:
    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


def decode(reply: Reply, ident: int) -> dict[str, Any]:
    """The JSON-RPC answer to `ident`, from a JSON body or an SSE stream."""
    kind = reply.headers.get("content-type", "").split(";")[0].strip()
    if kind == "application/json":
        message = json.loads(reply.body)
        messages = message if isinstance(message, list) else [message]
    elif kind == "text/event-stream":
        messages = []
        for block in reply.text.replace("\r\n", "\n").split("\n\n"):
            data = "\n".join(line[5:].lstrip() for line in block.split("\n") if line.startswith("data:"))
            if data:
                messages.append(json.loads(data))
    else:
        raise RuntimeError(f"HTTP {reply.status} with content type {kind!r}: {reply.text[:200]}")
    for message in messages:
        if isinstance(message, dict) and message.get("id") == ident:
            return message
    raise RuntimeError(f"no answer to request {ident} in {len(messages)} message(s)")


class Connection:
    """One keep-alive HTTP/1.1 connection driven with h11 (httpx's own parser).

    Lighter than an httpx client per session: httpcore's async locks retry a failing
    `import sniffio` on every request, which made the load generator cost about as much CPU as
    the server it was loading on a two-core machine.
    """

    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.stream: Any = None
        self.conn: h11.Connection | None = None

    async def request(self, method: str, target: str, headers: dict[str, str], body: bytes = b"") -> Reply:
        if self.conn is None or self.conn.our_state is h11.MUST_CLOSE:
            await self.aclose()
            self.stream = await anyio.connect_tcp(self.host, self.port)
            self.conn = h11.Connection(h11.CLIENT)
        conn = self.conn
        head = [("Host", f"{self.host}:{self.port}"), ("Content-Length", str(len(body))), *headers.items()]
        await self.stream.send(conn.send(h11.Request(method=method, target=target, headers=head))
                               + conn.send(h11.Data(data=body)) + conn.send(h11.EndOfMessage()))
        status, reply_headers, chunks = 0, {}, []
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                try:
                    conn.receive_data(await self.stream.receive(65536))
                except anyio.EndOfStream:
                    conn.receive_data(b"")
                continue
            if isinstance(event, h11.Response):
                status = event.status_code
                reply_headers = {k.decode().lower(): v.decode() for k, v in event.headers}
            elif isinstance(event, h11.Data):
                chunks.append(bytes(event.data))
            elif isinstance(event, (h11.EndOfMessage, h11.ConnectionClosed)):
                break
        if conn.our_state is h11.DONE and conn.their_state is h11.DONE:
            conn.start_next_cycle()
        return Reply(status, reply_headers, b"".join(chunks))

    async def aclose(self) -> None:
        if self.stream is not None:
            await self.stream.aclose()
        self.stream, self.conn = None, None


class Session:
    """One MCP client on one connection. Handshake era (`era` = c.PROTOCOL): initialize, then tools/call
    requests, then DELETE (if the server keeps sessions). 2026-07-28: self-contained requests only."""

    def __init__(self, url: str, headers: dict[str, str], era: str = c.PROTOCOL):
        parts = urlsplit(url)
        self.target = parts.path or "/"
        self.http = Connection(parts.hostname or "127.0.0.1", parts.port or 80)
        self.headers = {"Accept": ACCEPT, "Content-Type": "application/json", **headers}
        self.era = era
        if era == MODERN:
            self.headers["MCP-Protocol-Version"] = MODERN
        self._next = 0

    async def post(self, message: dict[str, Any]) -> Reply:
        body = json.dumps(message, separators=(",", ":")).encode()
        headers = self.headers
        if self.era == MODERN and "id" in message:  # the routing headers of the stateless protocol
            params = message.get("params", {})
            headers = {**headers, "Mcp-Method": message["method"],
                       **({"Mcp-Name": params["name"]} if "name" in params else {})}
        reply = await self.http.request("POST", self.target, headers, body)
        sid = reply.headers.get("mcp-session-id")
        if sid and "Mcp-Session-Id" not in self.headers:
            self.headers["Mcp-Session-Id"] = sid
        return reply

    async def rpc(self, method: str, params: dict[str, Any] | None = None) -> tuple[int, dict[str, Any]]:
        self._next += 1
        if self.era == MODERN:
            params = {**(params or {}), "_meta": MODERN_META}
        reply = await self.post({"jsonrpc": "2.0", "id": self._next, "method": method,
                                 **({"params": params} if params else {})})
        if reply.status != 200:
            return reply.status, {"error": {"message": reply.text[:200]}}
        return 200, decode(reply, self._next)

    async def open(self) -> None:
        if self.era == MODERN:
            return
        status, answer = await self.rpc("initialize", {"protocolVersion": c.PROTOCOL, "capabilities": {},
                                                       "clientInfo": {"name": "clientary-bench", "version": "1"}})
        if status != 200 or "result" not in answer:
            raise RuntimeError(f"initialize failed: HTTP {status} {answer}")
        # The protocol version (and the session id, if any) ride on every later request.
        self.headers["MCP-Protocol-Version"] = answer["result"].get("protocolVersion", c.PROTOCOL)
        note = await self.post({"jsonrpc": "2.0", "method": "notifications/initialized"})
        if note.status >= 300:
            raise RuntimeError(f"notifications/initialized answered HTTP {note.status}")

    async def close(self) -> None:
        if "Mcp-Session-Id" in self.headers:
            with contextlib.suppress(OSError, anyio.BrokenResourceError, anyio.EndOfStream, h11.ProtocolError):
                await self.http.request("DELETE", self.target, self.headers)
        await self.http.aclose()


async def load(urls: list[str], clients: int, calls: int, headers: dict[str, str], seed: int,
               era: str = c.PROTOCOL) -> dict[str, Any]:
    sessions = [Session(urls[i % len(urls)], headers, era) for i in range(clients)]  # round-robin over replicas
    async with anyio.create_task_group() as tg:
        for s in sessions:
            tg.start_soon(s.open)
    quota = [calls // clients + (1 if i < calls % clients else 0) for i in range(clients)]
    latencies: list[float] = []
    errors: list[str] = []
    per_tool: dict[str, int] = {}
    counter = iter(range(1, calls + 1))

    async def worker(i: int, session: Session) -> None:
        rng = random.Random(seed * 1000 + i)
        for _ in range(quota[i]):
            n = next(counter)
            name, make = pick(rng)
            per_tool[name] = per_tool.get(name, 0) + 1
            t0 = time.perf_counter()
            try:
                status, answer = await session.rpc("tools/call", {"name": name, "arguments": make(rng, n)})
            except Exception as exc:  # count, keep loading: the error total is a figure we report
                errors.append(f"{name}: {type(exc).__name__}: {exc}")
                latencies.append((time.perf_counter() - t0) * 1000)
                continue
            latencies.append((time.perf_counter() - t0) * 1000)
            if status != 200:
                errors.append(f"{name}: HTTP {status} {answer['error']['message'][:120]}")
            elif "error" in answer:
                errors.append(f"{name}: JSON-RPC {answer['error']}")
            elif answer["result"].get("isError"):
                errors.append(f"{name}: {answer['result']['content'][0]['text'][:160]}")

    cpu0 = own_cpu()
    t0 = time.perf_counter()
    async with anyio.create_task_group() as tg:
        for i, s in enumerate(sessions):
            tg.start_soon(worker, i, s)
    elapsed = time.perf_counter() - t0
    load_cpu = own_cpu() - cpu0
    for s in sessions:
        await s.close()
    return {"latencies": latencies, "errors": errors, "elapsed": elapsed, "per_tool": per_tool, "cpu": load_cpu}


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def ready(url: str, proc: subprocess.Popen, timeout: float = 60.0) -> None:
    """Until the MCP endpoint answers an initialize (a listening port alone is not enough)."""
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with {proc.returncode}")
        s = Session(url, {})
        try:
            await s.open()
            return
        except (OSError, RuntimeError, h11.ProtocolError, anyio.EndOfStream) as exc:
            last = str(exc)
            await anyio.sleep(0.2)
        finally:
            await s.close()
    raise TimeoutError(f"{url} did not answer initialize in {timeout:g}s ({last})")


@dataclass
class Server:
    proc: subprocess.Popen
    url: str
    audit: Path
    log: Any
    cmd: list[str]

    def wait_ready(self) -> None:
        """Until it answers an initialize; if it never does, its command and the end of its log on stderr."""
        try:
            anyio.run(ready, self.url, self.proc)
        except Exception:
            self.log.seek(0)
            print(f"server command: {shlex.join(self.cmd)}\n{self.log.read()[-3000:]}", file=sys.stderr)
            raise


def launch(command: str, tmp: Path, name: str, env: dict[str, str], stack: contextlib.ExitStack,
           path: str = "/mcp") -> Server:
    """Start `command` ({clientary}, {port}, {audit}, {python} filled in) on a free port, logging to a file
    in `tmp` and audited to `<name>-audit.jsonl`; stopped when `stack` closes."""
    port = c.free_port()
    audit = tmp / f"{name}-audit.jsonl"
    fields = {"clientary": shlex.join(c.clientary_command()), "port": port, "audit": shlex.quote(str(audit)),
              "python": shlex.quote(sys.executable)}
    cmd = shlex.split(command.format(**fields))
    log = stack.enter_context(open(tmp / f"{name}.log", "w+"))  # read back if it fails
    proc = subprocess.Popen(cmd, env=env, cwd=c.ROOT, stdout=log, stderr=subprocess.STDOUT)
    stack.callback(c.stop, proc)
    return Server(proc, f"http://127.0.0.1:{port}{path}", audit, log, cmd)


def rss_kb(pid: int) -> tuple[int, int]:
    """Peak RSS of the server process, and the sum over it and any children (workers)."""
    own = c.proc_status_kb(pid, "VmHWM") or 0
    total = own
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        children = []
    for child in children:
        total += c.proc_status_kb(int(child), "VmHWM") or 0
    return own, total


class Redis:
    """A throw-away redis-server on a free loopback port (nothing persisted)."""

    def __init__(self, workdir: str):
        import shutil

        binary = shutil.which("redis-server")
        if binary is None:
            raise SystemExit("--redis needs redis-server (apt-get install redis-server)")
        self.port = c.free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc = subprocess.Popen([binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                      "--appendonly", "no", "--dir", workdir],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        c.wait_port(self.port, self.proc)


async def store_cost(redis_url: str | None, folder: Path, rounds: int = 2000) -> dict[str, float]:
    """Microseconds per call of what a rate-limited call asks the store (one take), per store."""
    from clientary_mcp.state import open_store

    costs: dict[str, float] = {}
    kinds = [("embedded", {})] + ([("redis", {"CLIENTARY_MCP_REDIS_URL": redis_url})] if redis_url else [])
    for label, env in kinds:
        store = open_store(env, folder=folder)
        try:
            await store.check()
            t0 = time.perf_counter()
            for _ in range(rounds):
                await store.take("rate:bench", 1e6, 1_000_000)
            costs[label if label == store.name else f"{label} ({store.name})"] = (time.perf_counter() - t0) / rounds * 1e6
        finally:
            await store.aclose()
    return costs


def main() -> int:
    p = c.parser("Streamable HTTP service under load: many sessions, mixed reads and writes, sandbox account.")
    p.add_argument("--clients", type=int, default=None, help="concurrent MCP sessions (default 50, quick 10)")
    p.add_argument("--calls", type=int, default=None, help="tool calls in total (default 10000, quick 200)")
    p.add_argument("--path", default="/mcp", help="MCP endpoint path (default /mcp)")
    p.add_argument("--header", action="append", default=[], metavar="NAME:VALUE",
                   help="extra request header, e.g. an Authorization the service asks for")
    p.add_argument("--server-cmd", default=DEFAULT_COMMAND,
                   help="server command; {clientary}, {port}, {audit}, {python} are filled in "
                        f"(default: {DEFAULT_COMMAND!r})")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--replicas", type=int, default=1, help="servers behind the round-robin (default 1)")
    p.add_argument("--redis", action="store_true", help="start a redis-server and share it (CLIENTARY_MCP_REDIS_URL)")
    p.add_argument("--rate-limit", default=None, help="CLIENTARY_MCP_RATE_LIMIT of the servers, e.g. 100000/s")
    args = p.parse_args()
    clients = args.clients or (10 if args.quick else 50)
    calls = args.calls or (200 if args.quick else 10_000)
    headers = dict(h.split(":", 1) for h in args.header)
    headers = {k.strip(): v.strip() for k, v in headers.items()}

    from clientary_mcp.safety.audit import verify

    with tempfile.TemporaryDirectory(prefix="clientary-bench-") as tmp, contextlib.ExitStack() as stack:
        redis = Redis(tmp) if args.redis else None
        if redis is not None:
            stack.callback(c.stop, redis.proc)
        env = c.server_env(Path(tmp) / "state", **({"CLIENTARY_MCP_REDIS_URL": redis.url} if redis else {}),
                          **({"CLIENTARY_MCP_RATE_LIMIT": args.rate_limit} if args.rate_limit else {}))
        servers = [launch(args.server_cmd, Path(tmp), f"server-{n}", env, stack, args.path)
                   for n in range(args.replicas)]  # all started before any is waited for
        for server in servers:
            server.wait_ready()
        procs, urls, audits = [s.proc for s in servers], [s.url for s in servers], [s.audit for s in servers]
        cmds = [s.cmd for s in servers]
        cpu_before = sum(c.proc_cpu_seconds(proc.pid) or 0.0 for proc in procs)
        result = anyio.run(load, urls, clients, calls, headers, args.seed)
        # sessions opened and closed too
        server_cpu = sum(c.proc_cpu_seconds(proc.pid) or 0.0 for proc in procs) - cpu_before
        rss = [rss_kb(proc.pid) for proc in procs]
        for proc in procs:
            c.stop(proc)
        costs = anyio.run(store_cost, redis.url if redis else None, Path(tmp) / "store-bench")
        per_replica = []
        for audit in audits:
            chain = verify(audit, c.AUDIT_KEY.encode()) if audit.exists() else None
            per_replica.append((c.outcome_records(audit), chain))
    cmd = cmds[0]
    own_kb = max(r[0] for r in rss)
    total_kb = max(r[1] for r in rss)

    lat = result["latencies"]
    errors = result["errors"]
    writes = sum(n for name, n in result["per_tool"].items() if name in {w[1] for w in WRITES})
    where = (f"{args.replicas} replicas" + (" on one redis-server" if args.redis else "") + " behind round-robin"
             if args.replicas > 1 else ("one server on redis" if args.redis else "one server"))
    report = c.Report("service_load", f"service_load: {clients} concurrent sessions, {calls:,} tools/call over "
                                      f"Streamable HTTP, sandbox ({writes / calls:.0%} writes), {where}")
    report.add("throughput", calls / result["elapsed"], "calls/s", key=True)
    report.add("wall time", result["elapsed"], "s")
    report.add("latency p50", c.median(lat), "ms", key=True)
    report.add("latency p99", c.percentile(lat, 99), "ms", key=True)
    report.add("latency max", max(lat), "ms")
    report.add("errors", len(errors), "", ("==", 0))
    report.add("audit records of finished calls", sum(n for n, _ in per_replica), "", ("==", calls))
    for i, (n, chain) in enumerate(per_replica):
        label = f" (replica {i + 1}: {n:,} records)" if len(per_replica) > 1 else ""
        report.add("audit hash chain" + label, "intact" if chain is not None and chain.ok else "BROKEN", "",
                   "intact", ok=chain is not None and chain.ok)
    report.add("server CPU per call", server_cpu / calls * 1000, "ms", key=True)
    report.add("load generator CPU per call", result["cpu"] / calls * 1000, "ms")
    report.add("server peak RSS (VmHWM)" + (", largest replica" if len(procs) > 1 else ""), own_kb / 1024, "MiB",
               key=True)
    for label, micros in costs.items():
        report.add(f"state store per call, {label}", micros, "µs", key=label.startswith("redis"))
    if total_kb != own_kb:
        report.add("server + children peak RSS", total_kb / 1024, "MiB")
    report.note(f"server: {shlex.join(cmd)}")
    for line in sorted(set(errors))[:5]:
        report.note(f"error: {line}")
    report.extra = {"per_tool": result["per_tool"], "errors": errors[:50], "latency_ms": lat}
    return report.finish(args)


if __name__ == "__main__":
    sys.exit(main())
