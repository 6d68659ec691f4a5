"""Where the server keeps its state on each platform (platformdirs' conventions)."""

from __future__ import annotations

import os
from pathlib import Path

APP = "clientary-mcp"
STATE_ENV = "CLIENTARY_MCP_STATE_DIR"


def state_dir(env: dict[str, str] | None = None) -> Path:
    """The state folder: `CLIENTARY_MCP_STATE_DIR`, else the platform's user state folder.

    Linux `~/.local/state/clientary-mcp` (or `$XDG_STATE_HOME/clientary-mcp`), macOS
    `~/Library/Application Support/clientary-mcp`, Windows `%LOCALAPPDATA%\\clientary-mcp`.
    Not created here: callers that write create it 0700 with `ensure_private_dir`.
    """
    env = os.environ if env is None else env
    override = env.get(STATE_ENV)
    if override:
        return Path(override).expanduser()
    import platformdirs

    return Path(platformdirs.user_state_dir(APP, appauthor=False))


def ensure_private_dir(path: Path) -> Path:
    """Create `path` (and parents) readable by its owner only; an existing folder is left as it is."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path
