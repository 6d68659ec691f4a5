"""`clientary-mcp tools` and `clientary-mcp schemas`."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from .common import count
from .parser import PROG


def tools(args: Any) -> int:
    from .common import options_for

    policy = options_for(args).policy
    specs = policy.allowed()
    if args.format == "json":
        print(json.dumps([{"name": s.name, "kind": s.kind, "toolset": s.toolset, "title": s.title} for s in specs],
                         indent=2))
    else:
        width = max((len(s.name) for s in specs), default=10)
        for spec in specs:
            print(f"{spec.name:<{width}}  {spec.kind:<5}  {spec.title}")
    print(f"{count(len(specs), 'tool')} ({policy.describe()})", file=sys.stderr)
    return 0


def schemas(args: Any) -> int:
    from .. import catalog

    root = Path(args.root)
    if not (root / catalog.TABLE_DOC).is_file():
        print(f"{PROG}: error: {root.resolve()} is not a clientary-mcp source checkout (no {catalog.TABLE_DOC}); "
              "`schemas` maintains the repository's schemas/ and tool table: run it in a clone, or pass --root",
              file=sys.stderr)
        return 2
    if args.write:
        catalog.write(root)
        print(f"wrote {len(catalog.schema_files())} files to {root / 'schemas'} and the tool table in {catalog.TABLE_DOC}")
        return 0
    problems = catalog.check(root)
    for line in problems:
        print(line)
    if problems:
        print(f"run `{PROG} schemas --write` to regenerate", file=sys.stderr)
    return 1 if problems else 0
