"""Least privilege: which tools a server (or a principal) may list and call.

Toolsets enable whole resources (all of them when none are named) and include adds single tools to those;
exclude removes tools; read-only removes every non-read tool last.
The policy is fixed when the server starts, so `tools/list` never changes with what was called.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass

from ..tools import REGISTRY, TOOLSETS, ToolSpec


class PolicyError(ValueError):
    """A policy naming tools or toolsets that do not exist."""


def _names(values: Iterable[str] | str | None) -> frozenset[str]:
    if values is None:
        return frozenset()
    if isinstance(values, str):
        values = values.split(",")
    return frozenset(v.strip() for v in values if v and v.strip())


@dataclass(frozen=True)
class Policy:
    read_only: bool = False
    toolsets: frozenset[str] = frozenset()  # empty: every toolset
    include: frozenset[str] = frozenset()
    exclude: frozenset[str] = frozenset()

    @classmethod
    def build(
        cls,
        *,
        read_only: bool = False,
        toolsets: Iterable[str] | str | None = None,
        include: Iterable[str] | str | None = None,
        exclude: Iterable[str] | str | None = None,
        labels: dict[str, str] | None = None,
    ) -> Policy:
        """Validate names once, at start; `labels` say where each list came from (for the error)."""
        labels = {"toolsets": "toolsets", "include": "include", "exclude": "exclude", **(labels or {})}
        policy = cls(read_only, _names(toolsets), _names(include), _names(exclude))
        known = {spec.name for spec in REGISTRY}
        bad_sets = sorted(policy.toolsets - set(TOOLSETS))
        if bad_sets:
            raise PolicyError(f"unknown toolset(s) in {labels['toolsets']}: {', '.join(bad_sets)}; "
                              f"known: {', '.join(TOOLSETS)}")
        for key, names in (("include", policy.include), ("exclude", policy.exclude)):
            bad = sorted(names - known)
            if bad:
                close = [m for name in bad for m in difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.6)]
                hint = f"did you mean {', '.join(close)}? " if close else ""
                raise PolicyError(f"unknown tool name(s) in {labels[key]}: {', '.join(bad)} "
                                  f"({hint}run `clientary-mcp tools` for the list)")
        return policy

    def allows(self, spec: ToolSpec) -> bool:
        return self.why_disabled(spec) is None

    def why_disabled(self, spec: ToolSpec) -> str | None:
        if self.read_only and spec.kind != "read":
            return (f"Tool {spec.name} is disabled: the server runs read-only. "
                    "Restart it without --read-only / CLIENTARY_READ_ONLY to allow changes.")
        if spec.name in self.exclude:
            return (f"Tool {spec.name} is disabled: it is excluded by the server's policy. "
                    "Remove it from --exclude / CLIENTARY_MCP_EXCLUDE to enable it.")
        if self.toolsets and spec.toolset not in self.toolsets and spec.name not in self.include:
            return (f"Tool {spec.name} is disabled: its toolset '{spec.toolset}' is not enabled. "
                    f"Add '{spec.toolset}' to --toolsets / CLIENTARY_MCP_TOOLSETS, or the tool to --include.")
        return None

    def allowed(self) -> list[ToolSpec]:
        return [spec for spec in REGISTRY if self.allows(spec)]

    def describe(self) -> str:
        parts = ["read-only" if self.read_only else "read-write"]
        if self.toolsets:
            parts.append("toolsets " + ",".join(sorted(self.toolsets)))
        if self.include:
            parts.append("include " + ",".join(sorted(self.include)))
        if self.exclude:
            parts.append("exclude " + ",".join(sorted(self.exclude)))
        return "; ".join(parts)
