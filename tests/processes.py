"""Child processes the tests start: stopped politely, then for certain, and always reaped."""

from __future__ import annotations

import subprocess


def stop_process(popen: subprocess.Popen, grace: float = 10.0) -> None:
    """SIGTERM, up to `grace` seconds to exit, then SIGKILL; never leaves a zombie or a runaway child."""
    if popen.poll() is None:
        popen.terminate()
        try:
            popen.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            popen.kill()
            popen.wait(timeout=5)
