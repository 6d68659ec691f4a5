"""Coercion and validation of incoming attribute values, Rails-style.

A `Schema` maps attribute names to `Field`s. Applying it to a record copies the
recognised keys (coerced), collects error messages per field, and ignores keys it
does not know, as Rails strong parameters do.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from .store import Store

BLANK = "can't be blank"
MUST_EXIST = "must exist"
TRUE_STRINGS = {"1", "true", "t", "yes", "on"}
FALSE_STRINGS = {"0", "false", "f", "no", "off", ""}
EMAIL = re.compile(r"^[^@\s,;]+@[^@\s,;]+\.[^@\s,;]+$")


class Invalid(ValueError):
    """A single value could not be accepted; the message is user-facing."""


class Errors:
    def __init__(self) -> None:
        self.by_field: dict[str, list[str]] = {}

    def add(self, name: str, message: str) -> None:
        self.by_field.setdefault(name, []).append(message)

    def __contains__(self, name: str) -> bool:
        return name in self.by_field

    def __bool__(self) -> bool:
        return bool(self.by_field)


def money(value: float) -> float:
    return float(Decimal(repr(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def to_text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool) or isinstance(value, (list, dict)):
        raise Invalid("is invalid")
    return str(value)


def to_number(value: Any) -> float | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool) or isinstance(value, (list, dict)):
        raise Invalid("is not a number")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise Invalid("is not a number") from None
    if number != number or number in (float("inf"), float("-inf")):
        raise Invalid("is not a number")
    return number


def to_integer(value: Any) -> int | None:
    number = to_number(value)
    if number is None:
        return None
    if not number.is_integer():
        raise Invalid("must be an integer")
    return int(number)


def to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in TRUE_STRINGS | FALSE_STRINGS:
        return value.strip().lower() in TRUE_STRINGS
    raise Invalid("is not a boolean")


def parse_date(text: Any) -> date:
    """Accept the ISO form `2011-07-29` and the slash form `2011/07/29`."""
    if isinstance(text, str):
        candidate = text.strip().replace("/", "-")
        if re.fullmatch(r"\d{4}-\d{1,2}-\d{1,2}", candidate):
            year, month, day = (int(part) for part in candidate.split("-"))
            try:
                return date(year, month, day)
            except ValueError:
                pass
    raise Invalid("is not a valid date")


def parse_since(text: str) -> datetime:
    """A date, or a full ISO 8601 timestamp, as used by `updated_since`; returned in UTC."""
    try:
        day = parse_date(text)
        return datetime(day.year, day.month, day.day, tzinfo=timezone.utc)
    except Invalid:
        pass
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise Invalid("is not a valid date") from None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def to_date(value: Any) -> date | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return parse_date(value)


def to_email(value: Any) -> str | None:
    text = to_text(value)
    if text is not None and text.strip() and not EMAIL.match(text.strip()):
        raise Invalid("is invalid")
    return text.strip() if text else text


@dataclass(frozen=True)
class Field:
    """How one attribute is coerced; `refs` lists the tables an id may point into."""

    coerce: Callable[[Any], Any]
    choices: tuple[int, ...] | None = None
    refs: tuple[str, ...] = ()
    minimum: float | None = None

    def accept(self, value: Any, store: Store) -> Any:
        result = self.coerce(value)
        if result is None:
            return None
        if self.choices is not None and result not in self.choices:
            raise Invalid("is not included in the list")
        if self.minimum is not None and result < self.minimum:
            raise Invalid(f"must be greater than or equal to {self.minimum:g}")
        if self.refs and not any(store.get(table, result) for table in self.refs):
            raise Invalid(MUST_EXIST)
        return result


TEXT = Field(to_text)
NUMBER = Field(to_number)
BOOL = Field(to_bool)
DATE = Field(to_date)
EMAIL_FIELD = Field(to_email)


def choice(*values: int) -> Field:
    return Field(to_integer, choices=values)


def ref(*tables: str) -> Field:
    return Field(to_integer, refs=tables)


@dataclass
class Schema:
    fields: dict[str, Field]
    required: tuple[str, ...] = ()
    aliases: dict[str, str] = field(default_factory=dict)

    def apply(
        self, store: Store, attrs: dict[str, Any], record: dict[str, Any], errors: Errors, prefix: str = ""
    ) -> None:
        for key, value in attrs.items():
            name = self.aliases.get(key, key)
            spec = self.fields.get(name)
            if spec is None:
                continue  # unknown keys are ignored, as Rails strong parameters do
            try:
                record[name] = spec.accept(value, store)
            except Invalid as problem:
                errors.add(prefix + name, str(problem))
        for name in self.required:
            if prefix + name not in errors and is_blank(record.get(name)):
                errors.add(prefix + name, BLANK)
