"""Serving the sandbox on a port: `run()` and the `sandbox` command line."""

from __future__ import annotations

import argparse
import logging
import os

from .app import DEMO_TOKEN, DroppedConnection, create_app
from .faults import Faults

TOKEN_ENV = "CLIENTARY_SANDBOX_TOKEN"


def banner(host: str, port: int, token: str) -> str:
    base = f"http://{host}:{port}"
    return "\n".join(
        (
            "Clientary sandbox (demo data, nothing leaves this machine)",
            f"  base URL:  {base}",
            f"  API token: {token}",
            "  try it:",
            f"    curl -u {token}:{token} {base}/api/v2/clients",
            "  point `clientary-mcp serve` or `call` at it:",
            f"    CLIENTARY_BASE_URL={base} CLIENTARY_API_TOKEN={token}",
        )
    )


def run(host: str = "127.0.0.1", port: int = 8765, token: str = DEMO_TOKEN, faults: Faults | None = None) -> None:
    import uvicorn

    _check_port(host, port)
    app = create_app(token=token, faults=faults)
    app.state.drops_in_app = True
    logging.getLogger("uvicorn.error").addFilter(_quiet_drops)
    print(banner(host, port, token), flush=True)
    uvicorn.run(app, host=host, port=port, log_level="warning")


def _check_port(host: str, port: int) -> None:
    import socket

    try:
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
            if os.name != "nt":
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    except OSError as exc:
        raise SystemExit(f"clientary-mcp sandbox: error: cannot listen on {host}:{port} ({exc.strerror or exc}); "
                         "choose another --port or --host") from None


def _quiet_drops(record: logging.LogRecord) -> bool:
    """Injected connection drops are intended; keep them out of the error log."""
    return not (record.exc_info and isinstance(record.exc_info[1], DroppedConnection))


def _share(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError("must be between 0 and 1")
    return value


def _seconds(text: str) -> float:
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must not be negative")
    return value


def parser() -> argparse.ArgumentParser:
    from ..cli.parser import Parser  # usage errors in one line, like every other command

    p = Parser(
        prog="clientary-mcp sandbox",
        description="Serve a Clientary-compatible API with demo data. (`clientary-mcp sandbox reset` forgets the "
                    "demo account that `call --sandbox` keeps between runs.)",
    )
    p.add_argument("--host", default="127.0.0.1", help="interface to listen on (default: loopback only)")
    p.add_argument("--port", type=int, default=8765, help="TCP port (default: 8765)")
    p.add_argument("--token", default=os.environ.get(TOKEN_ENV) or DEMO_TOKEN,
                   help=f"API token to accept (default: ${TOKEN_ENV} or {DEMO_TOKEN})")
    faults = p.add_argument_group("fault injection (all off by default)")
    faults.add_argument("--latency", type=_seconds, default=0.0, help="seconds added to every request")
    faults.add_argument("--latency-spike-rate", type=_share, default=0.0, help="share of requests with an extra delay")
    faults.add_argument("--latency-spike", type=_seconds, default=0.0, help="the extra delay, in seconds")
    faults.add_argument("--rate-429", type=_share, default=0.0, help="share of requests answered 429")
    faults.add_argument("--retry-after", type=_seconds, default=1.0, help="Retry-After seconds sent with 429")
    faults.add_argument("--rate-5xx-reads", type=_share, default=0.0, help="share of GETs answered 500/502/503")
    faults.add_argument("--rate-5xx-writes", type=_share, default=0.0,
                        help="share of writes answered 502 after applying")
    faults.add_argument("--plan-limit-after", type=int, default=None,
                        help="426 when creating clients/leads/contacts past N")
    faults.add_argument("--drop-rate", type=_share, default=0.0, help="share of connections dropped")
    faults.add_argument("--fault-seed", type=int, default=None, help="seed for reproducible faults")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    faults = Faults(
        latency=args.latency,
        latency_spike_rate=args.latency_spike_rate,
        latency_spike=args.latency_spike,
        rate_429=args.rate_429,
        retry_after=args.retry_after,
        rate_5xx_reads=args.rate_5xx_reads,
        rate_5xx_writes=args.rate_5xx_writes,
        plan_limit_after=args.plan_limit_after,
        drop_rate=args.drop_rate,
        seed=args.fault_seed,
    )
    run(host=args.host, port=args.port, token=args.token, faults=faults)
    return 0
