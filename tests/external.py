"""Programs we did not write that some tests drive: Node with the packages of tests/js, redis-server.

Locally a missing one skips its tests with the reason shown; under CI (`CLIENTARY_MCP_REQUIRE_EXTERNAL=1`,
set by .ci/run, which installs them) a missing one fails them instead, so CI cannot pass by skipping.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

JS_DIR = Path(__file__).parent / "js"
NODE_MODULES = JS_DIR / "node_modules"


def require(what: str, available: bool, fix: str) -> None:
    if available:
        return
    message = f"{what} is not available ({fix})"
    if os.environ.get("CLIENTARY_MCP_REQUIRE_EXTERNAL"):
        pytest.fail(message + "; CI installs it in .ci/run, so this is a broken CI set-up", pytrace=False)
    pytest.skip(message)


def node() -> str:
    """The `node` binary, with tests/js installed; skips or fails as above otherwise."""
    path = shutil.which("node")
    require("node", path is not None, "install Node.js 20 or later")
    require("the npm packages of tests/js", NODE_MODULES.is_dir(), "run `npm ci` in tests/js")
    return path  # type: ignore[return-value]


def js_package(name: str) -> Path:
    """The folder of one npm package installed under tests/js/node_modules."""
    node()
    folder = NODE_MODULES / name
    require(f"npm package {name}", folder.is_dir(), "run `npm ci` in tests/js")
    return folder


def redis_server() -> str:
    path = shutil.which("redis-server")
    require("redis-server", path is not None, "apt-get install redis-server")
    return path  # type: ignore[return-value]
