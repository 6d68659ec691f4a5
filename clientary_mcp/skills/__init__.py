"""The recurring jobs as procedures, one markdown source each, served as MCP prompts and as skills.

Each `<name>.md` here is a SKILL.md (frontmatter `name`, `description`, `metadata.prompt`): the Skills extension
(`io.modelcontextprotocol/skills`, SEP-2640) serves it as `skill://<name>/SKILL.md`, and the prompt named by
`metadata.prompt` is the same text with the given arguments appended — so a prompt and its skill cannot drift.
Arguments are the `- \\`name\\` (required|optional): text` lines under the `## Arguments` heading.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

EXTENSION_ID = "io.modelcontextprotocol/skills"
SCHEME = "skill://"
MIME = "text/markdown"
_FRONTMATTER = re.compile(r"^---\n(.*?)\n---\n", re.S)
_ARGUMENT = re.compile(r"^- `([a-z_]+)` \((required|optional)\): (.+)$")
_NAME = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


@dataclass(frozen=True)
class Argument:
    name: str
    description: str
    required: bool


@dataclass(frozen=True)
class Skill:
    name: str
    description: str
    prompt: str
    arguments: tuple[Argument, ...]
    frontmatter: dict[str, Any]
    text: str  # the whole SKILL.md

    @property
    def uri(self) -> str:
        return f"{SCHEME}{self.name}/SKILL.md"

    @property
    def raw(self) -> bytes:
        return self.text.encode("utf-8")

    def entry(self) -> dict[str, Any]:
        """The skill as skills/list and skills/get describe it: its one file with digest and size."""
        digest = "sha256:" + hashlib.sha256(self.raw).hexdigest()
        return {"uri": self.uri, "frontmatter": self.frontmatter,
                "resources": [{"uri": self.uri, "digest": digest, "size": len(self.raw)}]}

    def render(self, given: dict[str, str] | None) -> str:
        """The prompt: the procedure, then the arguments the user gave."""
        body = _FRONTMATTER.sub("", self.text, count=1).strip()
        given = {k: v for k, v in (given or {}).items() if v not in (None, "")}
        if not given:
            return body + "\n\nNo arguments were given: use the defaults above, and ask the user when one is required."
        lines = "\n".join(f"- {k}: {v}" for k, v in given.items())
        return f"{body}\n\nArguments given:\n{lines}"


class SkillError(ValueError):
    """A skill source that breaks the rules (caught by the tests, never at run time in a release)."""


def parse_frontmatter(block: str) -> dict[str, Any]:
    """The small YAML subset the sources use: `key: value` lines and one level of nested `key:` maps."""
    out: dict[str, Any] = {}
    current: dict[str, Any] | None = None
    for line in block.splitlines():
        if not line.strip():
            continue
        nested = line.startswith("  ")
        key, sep, value = line.strip().partition(":")
        if not sep:
            raise SkillError(f"frontmatter line {line!r} is not `key: value`")
        value = value.strip()
        if nested:
            if current is None:
                raise SkillError(f"indented line {line!r} belongs to no map")
            current[key] = value
        elif value:
            if ": " in value or value[0] in "\"'[{&*!|>%@`#":
                raise SkillError(f"value of {key} must be plain text (no ': ' or leading YAML syntax)")
            out[key] = value
            current = None
        else:
            current = out[key] = {}
    return out


def load(name: str, text: str) -> Skill:
    match = _FRONTMATTER.match(text)
    if not match:
        raise SkillError(f"{name}: no frontmatter")
    front = parse_frontmatter(match.group(1))
    if front.get("name") != name or not _NAME.match(name) or len(name) > 64:
        raise SkillError(f"{name}: frontmatter name must be the file name, lowercase words joined by hyphens")
    if not front.get("description"):
        raise SkillError(f"{name}: description is required")
    prompt = (front.get("metadata") or {}).get("prompt")
    if not prompt:
        raise SkillError(f"{name}: metadata.prompt names the MCP prompt")
    args, section = [], False
    for line in text.splitlines():
        if line.startswith("## "):
            section = line.strip() == "## Arguments"
        elif section and line.startswith("- "):
            m = _ARGUMENT.match(line)
            if not m:
                raise SkillError(f"{name}: argument line {line!r} is not - `name` (required|optional): text")
            args.append(Argument(m.group(1), m.group(3), m.group(2) == "required"))
    return Skill(name, front["description"], prompt, tuple(args), front, text)


@cache
def all_skills() -> tuple[Skill, ...]:
    folder = resources.files(__package__)
    found = sorted(p for p in folder.iterdir() if p.name.endswith(".md"))
    return tuple(load(p.name[:-3], p.read_text(encoding="utf-8")) for p in found)


def by_uri(uri: str) -> Skill | None:
    return next((s for s in all_skills() if s.uri == uri), None)


def by_prompt(name: str) -> Skill | None:
    return next((s for s in all_skills() if s.prompt == name), None)


__all__ = ["EXTENSION_ID", "Skill", "Argument", "SkillError", "all_skills", "by_uri", "by_prompt", "load",
           "parse_frontmatter"]
