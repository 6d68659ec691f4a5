"""What tools return: records normalised for agents, their output schemas, and one-line summaries.

Clientary answers in several dialects (slash dates, `billed?` keys, nested client objects). Agents get one:
ISO dates, plain keys, `client_id`/`client_name` instead of an embedded client, and in lists the heavy nested
arrays replaced by counts (the get_* tool returns them in full).
"""

from __future__ import annotations

import re
from typing import Any

from .codes import (BUDGET_TYPE, CLIENT_STATUS, ESTIMATE_STATUS, INTERVAL, INVOICE_STATUS, ITEM_TYPE, PROJECT_STATUS,
                    PROJECT_TYPE, SCHEDULE_ACTION, SCHEDULE_STATUS, Codes)

_SLASH_DATE = re.compile(r"^(\d{4})/(\d{2})/(\d{2})$")
_SLASH_TIME = re.compile(r"^(\d{4})/(\d{2})/(\d{2})[ T](\d{2}:\d{2}:\d{2})(?: ?([+-]\d{2}):?(\d{2})| ?Z| UTC)?$")
_NESTED_LISTS = ("invoice_items", "estimate_items", "recurring_schedule_items", "payments")

# Typed properties per record kind: what the output schema promises (others pass through untyped).
# A `Codes` value is a Clientary enumeration: the record shows its name instead of the integer code.
_S, _I, _N, _B = "string", "integer", "number", "boolean"
ENTITY_PROPS: dict[str, dict[str, str | Codes]] = {
    "client": {"id": _I, "name": _S, "number": _S, "status": CLIENT_STATUS},
    "lead": {"id": _I, "name": _S, "number": _S},
    "contact": {"id": _I, "client_id": _I, "name": _S, "email": _S},
    "project": {"id": _I, "name": _S, "client_id": _I, "status": PROJECT_STATUS, "project_type": PROJECT_TYPE,
                "budget_type": BUDGET_TYPE, "rate": _N, "worked_hours": _N, "unbilled_hours": _N},
    "hour": {"id": _I, "project_id": _I, "title": _S, "hours": _N, "date": _S, "billed": _B},
    "task": {"id": _I, "title": _S, "complete": _B, "project_id": _I, "assignee_id": _I},
    "expense": {"id": _I, "amount": _N, "incurred_on": _S, "client_id": _I, "project_id": _I},
    "estimate": {"id": _I, "number": _S, "client_id": _I, "client_name": _S, "status": ESTIMATE_STATUS,
                 "total_cost": _N},
    "invoice": {"id": _I, "number": _S, "client_id": _I, "client_name": _S, "status": INVOICE_STATUS, "date": _S,
                "due_date": _S, "total_cost": _N, "balance": _N},
    "payment": {"id": _I, "invoice_id": _I, "amount": _N, "received_on": _S},
    "payment_profile": {"id": _I, "client_id": _I, "name": _S, "card_type": _S, "last_four_digits": _S},
    "recurring": {"id": _I, "client_id": _I, "client_name": _S, "next_date": _S, "time_interval": INTERVAL,
                  "status": SCHEDULE_STATUS, "action": SCHEDULE_ACTION},
    "staff": {"id": _I, "name": _S, "email": _S},
    "message": {},
}
# Line items nested in invoices, estimates and schedules.
ITEM_PROPS: dict[str, str | Codes] = {"item_type": ITEM_TYPE}
LABEL_KEYS = ("name", "title", "number", "email")
# Records nest a few levels at most. Anything much deeper is cut, so that a result can always be sent
# (MCP SDKs refuse to serialise a few hundred levels, which would turn a completed call into a protocol error).
MAX_DEPTH = 32
TOO_DEEP = "[nested too deeply]"
PLURALS = {"staff": "staff", "hour": "hour entries", "recurring": "recurring schedules",
           "payment_profile": "payment profiles"}


def plural(entity: str) -> str:
    return PLURALS.get(entity, entity + "s")


def counted(n: int, words: str) -> str:
    """`n` and a plural noun ("clients", "hour entries"), singular when n is 1."""
    if n == 1 and words != "staff":
        words = words[:-3] + "y" if words.endswith("ies") else words[:-1] if words.endswith("s") else words
    return f"{n} {words}"


def iso_value(value: Any) -> Any:
    if isinstance(value, str) and len(value) <= 40:
        m = _SLASH_DATE.match(value)
        if m:
            return "-".join(m.groups())
        m = _SLASH_TIME.match(value)
        if m:
            y, mo, d, hms, tzh, tzm = m.groups()
            tz = f"{tzh}:{tzm}" if tzh else ("Z" if value.rstrip().endswith(("Z", "UTC")) else "")
            return f"{y}-{mo}-{d}T{hms}{tz}"
    return value


def normalise(value: Any, depth: int = 0) -> Any:
    """ISO dates and `?`-free keys, recursively; nesting cut at MAX_DEPTH."""
    if depth >= MAX_DEPTH and isinstance(value, (dict, list)):
        return TOO_DEEP
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, val in value.items():
            key = str(key)
            plain = key[:-1] if key.endswith("?") else key
            if plain in out and plain != key:
                continue
            out[plain] = normalise(val, depth + 1)
        return out
    if isinstance(value, list):
        return [normalise(v, depth + 1) for v in value]
    return iso_value(value)


def _coerce(value: Any, typ: str | Codes) -> Any:
    """Bring a value to its promised JSON type when Clientary sends another; None when impossible."""
    if value is None:
        return None
    if isinstance(typ, Codes):
        named = typ.name(value)
        return named if isinstance(named, (str, int)) and not isinstance(named, bool) else None
    try:
        if typ == _I:
            if isinstance(value, bool):
                return None
            if isinstance(value, int):
                return value
            f = float(value)
            return int(f) if f.is_integer() else None
        if typ == _N:
            if isinstance(value, bool):
                return None
            return value if isinstance(value, (int, float)) else float(value)
        if typ == _S:
            return value if isinstance(value, str) else (None if isinstance(value, (dict, list)) else str(value))
        if typ == _B:
            if isinstance(value, bool):
                return value
            if value in (0, 1, "0", "1", "true", "false"):
                return value in (1, "1", "true")
            return None
    except (TypeError, ValueError):
        return None
    return value


def shape_record(entity: str, raw: Any, *, compact: bool = False) -> dict[str, Any]:
    """One record as agents see it."""
    if not isinstance(raw, dict):
        return {"value": normalise(raw)}
    rec = normalise(raw)
    client = rec.get("client")
    if isinstance(client, dict):  # projects and schedules embed the whole client
        rec.pop("client")
        rec.setdefault("client_id", client.get("id"))
        rec.setdefault("client_name", client.get("name"))
    if compact:
        for key in _NESTED_LISTS:
            if isinstance(rec.get(key), list):
                rec[key[:-1] + "_count"] = len(rec.pop(key))
        rec.pop("avatar", None)
    _apply(ENTITY_PROPS.get(entity, {}), rec)
    for key in _NESTED_LISTS:
        items = rec.get(key)
        for item in items if isinstance(items, list) else ():
            if isinstance(item, dict):
                _apply(ITEM_PROPS, item)
    return rec


def _apply(props: dict[str, str | Codes], rec: dict[str, Any]) -> None:
    for key, typ in props.items():
        if key in rec:
            rec[key] = _coerce(rec[key], typ)


def label(rec: dict[str, Any]) -> str:
    for key in LABEL_KEYS:
        if rec.get(key):
            return str(rec[key])
    return ""


def describe(entity: str, rec: dict[str, Any]) -> str:
    name = label(rec)
    ident = rec.get("id")
    head = entity.replace("_", " ")
    return f"{head} {ident}" + (f" ({name})" if name else "") if ident is not None else head


# ---------------------------------------------------------------------------------------------
# Output schemas


def _nullable(typ: str | Codes) -> dict[str, Any]:
    if isinstance(typ, Codes):  # a code this server has no name for is shown as Clientary sent it
        return {"type": ["string", "integer", "null"], "description": f"{typ.listing()} (an integer: a code "
                "without a name here)"}
    return {"type": [typ, "null"]}


def entity_schema(entity: str) -> dict[str, Any]:
    props = {key: _nullable(typ) for key, typ in ENTITY_PROPS.get(entity, {}).items()}
    return {"type": "object", "properties": props}


def list_schema(entity: str) -> dict[str, Any]:
    n = _nullable(_I)
    return {
        "type": "object",
        "properties": {
            "items": {"type": "array", "items": entity_schema(entity)},
            "returned": {"type": "integer"},
            "page": n,
            "page_count": n,
            "total_count": n,
            "next_page": n,
            "truncated": {"type": "boolean"},
            "from_date": _nullable(_S),
            "to_date": _nullable(_S),
            "note": {"type": "string"},
        },
        "required": ["items", "returned"],
    }


def gated_schema(entity: str) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "status": {"type": "string", "enum": ["preview", "done", "declined"]},
            "summary": {"type": "string"},
            "effects": {"type": "object"},
            "confirm_token": {"type": "string"},
            "expires_at": {"type": "string"},
            "record": entity_schema(entity),
        },
        "required": ["status", "summary"],
    }
