"""The declarative core of the registry: fields, tool specs, JSON schemas and argument validation.

A tool is data. Its input schema (what the model reads) and its argument validation (what protects
the API) are both derived from the same `Field` declarations, so they cannot drift apart.

`null` for an optional argument, at any level, means the argument was not given: several clients send every
optional they know of, with null for the ones the model left out. A required argument still refuses it.
"""

from __future__ import annotations

import datetime as _dt
import math
import re
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Literal

from .codes import ITEM_TYPE, Codes

Kind = Literal["read", "write", "gated"]
Loc = Literal["path", "query", "body", "control"]

MAX_STRING = 10_000
MAX_TEXT = 100_000
MAX_ITEMS = 200
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class ArgumentError(ValueError):
    """Arguments that fail validation; the message names the field and the fix."""

    def __init__(self, tool: str, problems: list[str]):
        self.tool = tool
        self.problems = problems
        super().__init__(f"Invalid arguments for {tool}: " + "; ".join(problems))


class Incomplete(Exception):
    """A composite job stopped part-way: `data` says what was done and how to finish it."""

    def __init__(self, summary: str, data: dict[str, Any]):
        super().__init__(summary)
        self.summary = summary
        self.data = {"status": "incomplete", "summary": summary, **data}


@dataclass(frozen=True)
class Field:
    """One tool argument.

    `type` is one of: id, int, number, string, text, date, bool, enum (a Clientary enumeration: names on
    the interface, its integer codes on the wire; give `codes`), choice (string values of our own in
    `choices`), emails, items (line items).
    """

    name: str
    type: str
    description: str
    required: bool = False
    loc: Loc = "body"
    choices: tuple[Any, ...] = ()
    wire: str | None = None  # name Clientary uses, when it differs
    minimum: float | None = None
    maximum: float | None = None
    # Maps an argument value to what Clientary expects; a None wire value sends nothing.
    value_map: tuple[tuple[Any, Any], ...] = ()
    codes: Codes | None = None  # for type "enum"

    def __post_init__(self) -> None:
        if (self.type == "enum") != (self.codes is not None):
            raise ValueError(f"field {self.name}: type 'enum' and `codes` go together")

    def to_wire(self, value: Any) -> Any:
        if self.codes is not None:
            return self.codes.code(value)
        for given, wire in self.value_map:
            if value == given and type(value) is type(given):
                return wire
        return value

    @property
    def wire_name(self) -> str:
        return self.wire or self.name


@dataclass(frozen=True)
class ToolSpec:
    name: str
    title: str
    kind: Kind
    toolset: str
    description: str
    method: str
    path: str
    fields: tuple[Field, ...] = ()
    wrapper: str | None = None
    entity: str | None = None  # shapes.py key of the record type returned
    list_key: str | None = None  # envelope key for list tools
    paging: Literal["pages", "window", "none"] | None = None
    defaults: dict[str, Any] = field(default_factory=dict)  # fixed query params
    hook: str | None = None  # name of a special-case step in executor.HOOKS
    min_body_fields: int = 0  # updates refuse an empty change
    # Composite tools (tools/workflows): the coroutine that does the job, instead of one request.
    runner: Callable[..., Any] | None = None
    idempotent: bool | None = None  # overrides the hint derived from the method (workflows)
    output: dict[str, Any] | None = None  # output schema, when not derived from the entity

    @property
    def annotations(self) -> dict[str, Any]:
        read = self.kind == "read"
        destructive = self.kind == "gated" and self.method == "DELETE"
        if read:
            idempotent = True
        elif self.kind == "gated":
            idempotent = destructive
        else:
            idempotent = self.method == "PUT"
        if self.idempotent is not None:
            idempotent = self.idempotent
        return {
            "title": self.title,
            "readOnlyHint": read,
            "destructiveHint": destructive,
            "idempotentHint": idempotent,
            "openWorldHint": True,
        }

    def input_schema(self) -> dict[str, Any]:
        known = _words(self.name)  # a description made only of these words tells the model nothing
        props = {f.name: field_schema(f, known) for f in self.fields}
        schema: dict[str, Any] = {"type": "object", "properties": props}
        required = [f.name for f in self.fields if f.required]
        if required:
            schema["required"] = required
        schema["additionalProperties"] = False
        return schema

    def field(self, name: str) -> Field | None:
        for f in self.fields:
            if f.name == name:
                return f
        return None


# ---------------------------------------------------------------------------------------------
# JSON Schema


_WORD = re.compile(r"[a-z0-9]+")
_PLAIN = re.compile(r"^[A-Za-z ]+$")


def _words(text: str) -> frozenset[str]:
    return frozenset(_WORD.findall(text.lower()))


def says_nothing(f: Field, known: frozenset[str] = frozenset()) -> bool:
    """A description made only of the words of the property's name (and the tool's): 'Title' on title,
    'Client id' on client_id, 'Project id' on get_project's id. Left out of the schema, since the model
    reads the name anyway; anything with more to say (a unit, a default, a constraint) stays."""
    return bool(_PLAIN.match(f.description)) and _words(f.description) <= (_words(f.name.replace("_", " ")) | known)


def field_schema(f: Field, known: frozenset[str] = frozenset()) -> dict[str, Any]:
    desc = None if says_nothing(f, known) else f.description
    t = f.type
    if t == "id":
        s: dict[str, Any] = {"type": "integer", "minimum": 1}
    elif t == "int":
        s = {"type": "integer"}
        if f.minimum is not None:
            s["minimum"] = int(f.minimum)
        if f.maximum is not None:
            s["maximum"] = int(f.maximum)
    elif t == "number":
        s = {"type": "number"}
        if f.minimum is not None:
            s["minimum"] = f.minimum
    elif t in ("string", "text"):
        s = {"type": "string"}
        if f.minimum is not None:
            s["minLength"] = int(f.minimum)
    elif t == "date":
        s = {"type": "string", "format": "date"}
    elif t == "bool":
        s = {"type": "boolean"}
    elif t == "enum":
        assert f.codes is not None
        s = {"type": "string", "enum": f.codes.names}
    elif t == "choice":
        s = {"type": "string", "enum": list(f.choices)}
    elif t == "emails":
        s = {"type": "array", "items": {"type": "string", "format": "email"}, "minItems": 1}
    elif t == "items":
        s = {"type": "array", "items": ITEM_SCHEMA}
    else:  # pragma: no cover - a registry bug, caught by the registry tests
        raise ValueError(f"unknown field type {t!r} for {f.name}")
    if desc:
        s["description"] = desc
    return s


# Line items: add (no id), edit (id + fields), remove (id + destroy).
ITEM_FIELDS: tuple[Field, ...] = (
    Field("id", "id", "Item to edit"),
    Field("title", "string", "Title"),
    Field("quantity", "number", "Quantity"),
    Field("price", "number", "Unit price"),
    Field("taxable", "bool", "Taxable"),
    Field("item_type", "enum", "Type", codes=ITEM_TYPE),
    Field("destroy", "bool", "Destroy", wire="_destroy"),
)
ITEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {f.name: field_schema(f) for f in ITEM_FIELDS},
    "additionalProperties": False,
}


# ---------------------------------------------------------------------------------------------
# Validation


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def check_value(f: Field, value: Any, where: str) -> str | None:
    """Return a problem sentence for `value`, or None when it is acceptable."""
    t = f.type
    if t == "enum":
        return _check_name(f, value, where)
    if t in ("id", "int"):
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer() and not isinstance(value, bool):
                value = int(value)
            else:
                return f"`{where}` must be an integer, got {_type_name(value)} {_short(value)}"
        if t == "id" and value < 1:
            return f"`{where}` must be a positive id (1 or more), got {value}"
        if f.minimum is not None and value < f.minimum:
            return f"`{where}` must be at least {int(f.minimum)}, got {value}"
        if f.maximum is not None and value > f.maximum:
            return f"`{where}` must be at most {int(f.maximum)}, got {value}"
        if abs(value) > 2**53:
            return f"`{where}` is out of range"
        return None
    if t == "number":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return f"`{where}` must be a number, got {_type_name(value)} {_short(value)}"
        if not math.isfinite(value) or abs(value) > 1e12:
            return f"`{where}` must be a finite number below 1e12"
        if f.minimum is not None and value < f.minimum:
            return f"`{where}` must be at least {f.minimum:g}, got {value}"
        return None
    if t in ("string", "text", "date", "choice"):
        if not isinstance(value, str):
            return f"`{where}` must be a string, got {_type_name(value)} {_short(value)}"
        limit = MAX_TEXT if t == "text" else MAX_STRING
        if len(value) > limit:
            return f"`{where}` is too long ({len(value)} characters; the limit is {limit})"
        if _CONTROL.search(value):
            return f"`{where}` contains control characters; remove them"
        if f.minimum is not None and t in ("string", "text") and len(value) < f.minimum:
            return f"`{where}` needs at least {int(f.minimum)} characters, got {len(value)}"
        if t == "date":
            return _check_date(value, where)
        if t == "choice" and value not in f.choices:
            return f"`{where}` must be one of {', '.join(map(str, f.choices))}; got {_short(value)}"
        return None
    if t == "bool":
        if not isinstance(value, bool):
            return f"`{where}` must be true or false, got {_type_name(value)} {_short(value)}"
        return None
    if t == "emails":
        if not isinstance(value, list) or not value:
            return f"`{where}` must be a non-empty array of email addresses"
        if len(value) > 50:
            return f"`{where}` has {len(value)} addresses; at most 50 are allowed"
        for i, item in enumerate(value):
            if not isinstance(item, str) or len(item) > 254 or not _EMAIL.match(item):
                return f"`{where}[{i}]` must be an email address like name@example.com, got {_short(item)}"
        return None
    if t == "items":
        return _check_items(value, where)
    return f"`{where}` has an unsupported type"  # pragma: no cover


def _check_name(f: Field, value: Any, where: str) -> str | None:
    assert f.codes is not None
    if isinstance(value, str) and value in f.codes.names:
        return None
    expected = f"`{where}` must be one of {f.codes.listing()}"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        name = f.codes.name(int(value)) if float(value).is_integer() else value
        if isinstance(name, str):  # Clientary's code for a name: say which name to pass
            return f"{expected}; got {_short(value)}, Clientary's code for {name!r}: pass {name!r} instead"
    return f"{expected}; got {_type_name(value)} {_short(value)}"


def _check_date(value: str, where: str) -> str | None:
    if not _DATE.match(value):
        return f"`{where}` must be a date as YYYY-MM-DD, got {_short(value)}"
    try:
        _dt.date.fromisoformat(value)
    except ValueError:
        return f"`{where}` is not a real calendar date: {value}"
    return None


def _check_items(value: Any, where: str) -> str | None:
    if not isinstance(value, list):
        return f"`{where}` must be an array of line items, got {_type_name(value)}"
    if len(value) > MAX_ITEMS:
        return f"`{where}` has {len(value)} items; at most {MAX_ITEMS} per call"
    by_name = {f.name: f for f in ITEM_FIELDS}
    for i, item in enumerate(value):
        here = f"{where}[{i}]"
        if not isinstance(item, dict):
            return f"`{here}` must be an object with title, quantity and price"
        item = without_nulls(item)
        unknown = sorted(set(item) - set(by_name))
        if unknown:
            return f"`{here}` has unknown field(s) {', '.join(unknown)}; allowed: {', '.join(by_name)}"
        for key, val in item.items():
            problem = check_value(by_name[key], val, f"{here}.{key}")
            if problem:
                return problem
        if item.get("destroy"):
            if "id" not in item:
                return f"`{here}`: destroy needs the id of the item to remove"
        elif "id" not in item:
            missing = [k for k in ("title", "quantity", "price") if k not in item]
            if missing:
                return f"`{here}`: a new item needs {', '.join(missing)} (or give id to edit an existing item)"
        elif len(item) == 1:
            return f"`{here}`: give fields to change for item {item['id']}, or destroy: true to remove it"
    return None


def validate_arguments(spec: ToolSpec, arguments: Any) -> dict[str, Any]:
    """Check `arguments` against the spec; return them (ints normalised) or raise ArgumentError."""
    if arguments is None:
        arguments = {}
    if not isinstance(arguments, dict):
        raise ArgumentError(spec.name, [f"arguments must be a JSON object, got {_type_name(arguments)}"])
    problems: list[str] = []
    known = {f.name: f for f in spec.fields}
    unknown = sorted(k for k in arguments if k not in known)
    if unknown:
        allowed = ", ".join(known) or "none"
        names = ", ".join(f"`{_short(k)[1:-1] if isinstance(k, str) else k}`" for k in unknown[:5])
        problems.append(f"unknown field(s) {names}; allowed fields: {allowed}")
    for f in spec.fields:
        value = arguments.get(f.name)
        if value is None:
            if f.required:
                given = " and cannot be null" if f.name in arguments else f" ({f.description})"
                problems.append(f"`{f.name}` is required{given}")
            continue
        problem = check_value(f, value, f.name)
        if problem:
            problems.append(problem)
    arguments = without_nulls(arguments)  # null for an optional argument means "not given" (see the module doc)
    if not problems and spec.min_body_fields:
        changes = [f for f in spec.fields if f.loc == "body" and f.name in arguments]
        if len(changes) < spec.min_body_fields:
            options = ", ".join(f.name for f in spec.fields if f.loc == "body")
            problems.append(f"nothing to change: give at least one of {options}")
    if problems:
        raise ArgumentError(spec.name, problems)
    clean = dict(arguments)
    for f in spec.fields:  # JSON clients may send 5.0 for an integer
        v = clean.get(f.name)
        if f.type in ("id", "int") and isinstance(v, float):
            clean[f.name] = int(v)
        elif f.type == "items" and v is not None:
            clean[f.name] = [without_nulls(item) for item in v]
    return clean


def without_nulls(values: dict[str, Any]) -> dict[str, Any]:
    """The arguments actually given: clients that send every optional (mcp-use, OpenAI strict mode,
    llama-index's nullable optionals) mark "not given" with null."""
    return {k: v for k, v in values.items() if v is not None}


def with_required(f: Field, required: bool = True) -> Field:
    return replace(f, required=required)


Builder = Callable[..., ToolSpec]
