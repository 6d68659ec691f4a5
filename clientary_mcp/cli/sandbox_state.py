"""Where `call --sandbox` keeps its demo account between runs, and `clientary-mcp sandbox reset`."""

from __future__ import annotations

import sys
from pathlib import Path

from .parser import PROG, Parser

FILE = "sandbox.json"


def path() -> Path:
    from ..state.dirs import state_dir

    return state_dir() / FILE


def reset(argv: list[str]) -> int:
    Parser(prog=f"{PROG} sandbox reset",
           description="Forget the demo account that `call --sandbox` keeps between runs; the next call starts "
                       "from the seeded demo data again.").parse_args(argv)
    from ..sandbox.saved import reset as forget

    where = path()
    print(f"{PROG}: {'reset' if forget(where) else 'nothing to reset:'} the saved sandbox at {where}", file=sys.stderr)
    return 0
