"""`clientary-mcp bundle`: an MCP Bundle (.mcpb) that Claude Desktop installs in one click.

The bundle uses the `uv` server type (manifest 0.4): Claude Desktop's own uv provides Python and installs
the dependencies listed in the bundle's pyproject.toml, so the user needs no Python. The `python` type
would need every dependency bundled per platform, which pydantic-core (compiled) rules out.
"""

from __future__ import annotations

import io
import json
import sys
import zipfile
from importlib import metadata
from pathlib import Path
from typing import Any

from .. import __version__

PACKAGE = Path(__file__).resolve().parent.parent  # the installed clientary_mcp folder
ENTRY = "server/main.py"

MAIN = '''"""Start clientary-mcp over stdio from the bundle's own copy of the package."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from clientary_mcp.cli import main  # noqa: E402

sys.exit(main(["serve", *sys.argv[1:]]))
'''

USER_CONFIG: dict[str, dict[str, Any]] = {
    "domain": {"type": "string", "title": "Clientary domain", "required": True,
               "description": "Your account's subdomain: acme for https://acme.clientary.com."},
    "api_token": {"type": "string", "title": "API token", "required": True, "sensitive": True,
                  "description": "Clientary → your profile → Generate API Token."},
    "read_only": {"type": "boolean", "title": "Read-only", "required": False, "default": False,
                  "description": "Offer only the tools that read; nothing can be changed or deleted."},
    "toolsets": {"type": "string", "title": "Toolsets", "required": False, "default": "",
                 "description": "Comma-separated resources to offer, e.g. clients,invoices,payments "
                                "(empty: all of them)."},
}
ENV = {
    "CLIENTARY_DOMAIN": "${user_config.domain}",
    "CLIENTARY_API_TOKEN": "${user_config.api_token}",
    "CLIENTARY_READ_ONLY": "${user_config.read_only}",
    "CLIENTARY_MCP_TOOLSETS": "${user_config.toolsets}",
}


def _requirements() -> list[str]:
    """The package's runtime dependencies, as installed (no extras)."""
    reqs = metadata.requires("clientary-mcp") or []
    return [r for r in reqs if "extra ==" not in r]


def manifest() -> dict[str, Any]:
    from ..tools import REGISTRY

    return {
        "manifest_version": "0.4",
        "name": "clientary-mcp",
        "display_name": "Clientary",
        "version": __version__,
        "description": "Every Clientary action (clients to paid invoices) as tools, with confirmation of "
                       "deletes and emails and an audit log.",
        "author": {"name": "clientary-mcp contributors"},
        "license": "MIT",
        "keywords": ["clientary", "invoicing", "time tracking", "crm"],
        "server": {
            "type": "uv",
            "entry_point": ENTRY,
            "mcp_config": {"command": "uv", "args": ["run", "--directory", "${__dirname}", ENTRY], "env": dict(ENV)},
        },
        "tools": [{"name": spec.name, "description": spec.description} for spec in REGISTRY],
        "tools_generated": False,
        "user_config": USER_CONFIG,
        "compatibility": {"platforms": ["darwin", "win32", "linux"], "runtimes": {"python": ">=3.11"}},
    }


def pyproject() -> str:
    deps = ",\n".join(f"    {json.dumps(r)}" for r in _requirements())
    return (f'[project]\nname = "clientary-mcp-bundle"\nversion = "{__version__}"\nrequires-python = ">=3.11"\n'
            f"dependencies = [\n{deps},\n]\n\n"
            "# Only the dependencies are installed; server/main.py runs the bundled package from its folder.\n"
            "[tool.uv]\npackage = false\n")


def files() -> dict[str, bytes]:
    out = {"manifest.json": (json.dumps(manifest(), indent=2, ensure_ascii=False) + "\n").encode(),
           "pyproject.toml": pyproject().encode(), ENTRY: MAIN.encode()}
    for path in sorted(PACKAGE.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix not in (".pyc", ".pyo"):
            out[f"server/clientary_mcp/{path.relative_to(PACKAGE).as_posix()}"] = path.read_bytes()
    return out


def write(output: Path) -> int:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files().items():
            zf.writestr(name, data)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_bytes(buffer.getvalue())
    return len(buffer.getvalue())


def bundle(args: Any) -> int:
    output = Path(args.output or f"clientary-mcp-{__version__}.mcpb").expanduser()
    if output.is_dir():
        output = output / f"clientary-mcp-{__version__}.mcpb"
    size = write(output)
    print(f"wrote {output} ({size // 1024} KiB): open it with Claude Desktop (or drag it onto Settings → "
          "Extensions) to install; it asks for the Clientary domain and API token.", file=sys.stderr)
    return 0
