"""Generated artefacts of the registry: `schemas/*.json` and the tool table of docs/tools.md.

Both are committed and checked by a test, so any change to what agents see shows up in review as a diff.
"""

from __future__ import annotations

import json
from pathlib import Path

from .server import output_schema
from .tools import REGISTRY, ToolSpec
from .tools.codes import ENUMERATIONS

TABLE_START = "<!-- tools:start -->"
TABLE_END = "<!-- tools:end -->"
TABLE_DOC = "docs/tools.md"


def tool_document(spec: ToolSpec) -> dict:
    return {
        "name": spec.name,
        "title": spec.title,
        "description": spec.description,
        "kind": spec.kind,
        "toolset": spec.toolset,
        "endpoint": f"{spec.method} {spec.path}",
        "inputSchema": spec.input_schema(),
        "outputSchema": output_schema(spec),
        "annotations": spec.annotations,
    }


def schema_files() -> dict[str, str]:
    return {f"{spec.name}.json": json.dumps(tool_document(spec), indent=2) + "\n" for spec in REGISTRY}


def tool_table() -> str:
    rows = ["| tool | kind | toolset | what it does |", "|---|---|---|---|"]
    for spec in REGISTRY:
        rows.append(f"| `{spec.name}` | {spec.kind} | {spec.toolset} | {spec.description} |")
    rows += ["", "Enumerations: the names tools take and return, and the Clientary code each stands for.", "",
             "| enumeration | name = code |", "|---|---|"]
    for codes in ENUMERATIONS:
        rows.append(f"| {codes.what} | " + ", ".join(f"`{name}` = {code}" for name, code in codes.pairs) + " |")
    return "\n".join(rows)


def readme_with_table(readme: str) -> str:
    start, end = readme.index(TABLE_START), readme.index(TABLE_END)
    return readme[: start + len(TABLE_START)] + "\n" + tool_table() + "\n" + readme[end:]


def check(root: Path) -> list[str]:
    """Differences between the committed artefacts and the registry (empty when in sync)."""
    problems = []
    folder = root / "schemas"
    expected = schema_files()
    present = {p.name for p in folder.glob("*.json")} if folder.exists() else set()
    for name in sorted(present - set(expected)):
        problems.append(f"schemas/{name} belongs to no tool")
    for name, text in expected.items():
        path = folder / name
        if not path.exists():
            problems.append(f"schemas/{name} is missing")
        elif path.read_text() != text:
            problems.append(f"schemas/{name} differs from the registry")
    readme = (root / TABLE_DOC).read_text()
    if TABLE_START not in readme or readme_with_table(readme) != readme:
        problems.append(f"{TABLE_DOC} tool table differs from the registry")
    return problems


def write(root: Path) -> None:
    folder = root / "schemas"
    folder.mkdir(exist_ok=True)
    expected = schema_files()
    for path in folder.glob("*.json"):
        if path.name not in expected:
            path.unlink()
    for name, text in expected.items():
        (folder / name).write_text(text)
    readme = root / TABLE_DOC
    readme.write_text(readme_with_table(readme.read_text()))
