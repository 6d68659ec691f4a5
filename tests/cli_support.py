"""Helpers for the command-line tests: the installed `clientary-mcp` run as a person would, in a clean
environment whose state folder is the test's own. No tests here."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

BIN = str(Path(sys.executable).with_name("clientary-mcp"))
ROOT = Path(__file__).resolve().parent.parent


def env_for(tmp: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLIENTARY")}
    env.update(HOME=str(tmp), CLIENTARY_MCP_STATE_DIR=str(tmp / "state"), PYTHONUNBUFFERED="1")
    env.update(extra)
    return env


def cli(tmp: Path, *args: str, input: str | None = None, cwd: Path | None = None, timeout: float = 60,
        **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([BIN, *args], env=env_for(tmp, **env), input=input, capture_output=True, text=True,
                          timeout=timeout, cwd=cwd or tmp)


def one_line_error(proc: subprocess.CompletedProcess, *needles: str) -> str:
    """The single stderr line of a refused command, checked for the words that name the fix."""
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]
