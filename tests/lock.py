"""The runtime dependency closure of the installed package, for constraints.txt (the Docker image's pins).

`python tests/lock.py > constraints.txt` rewrites the file from the current environment; a test checks
that the file names exactly this closure with versions that satisfy every requirement in it.
"""

from __future__ import annotations

from importlib import metadata

from packaging.requirements import Requirement

HEADER = ("# Exact versions of every runtime dependency, used by the Docker image (pip install -c).\n"
          "# Regenerate with: python tests/lock.py > constraints.txt (a test keeps it in sync with pyproject.toml).\n")


def key(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def closure(root: str = "clientary-mcp") -> dict[str, list[Requirement]]:
    """Every distribution the root needs on Linux without extras, with the requirements naming it."""
    needed: dict[str, list[Requirement]] = {}
    todo = [root]
    while todo:
        for raw in metadata.distribution(todo.pop()).requires or []:
            req = Requirement(raw)
            if req.marker and not req.marker.evaluate({"extra": "", "sys_platform": "linux", "platform_system": "Linux"}):
                continue
            if key(req.name) not in needed:
                todo.append(req.name)
            needed.setdefault(key(req.name), []).append(req)
    return needed


if __name__ == "__main__":
    print(HEADER + "".join(f"{name}=={metadata.version(name)}\n" for name in sorted(closure())), end="")
