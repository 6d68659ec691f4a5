"""Shared logic of invoices, estimates and recurring schedules: line items and totals."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .values import BOOL, NUMBER, TEXT, Errors, Field, Invalid, Schema, choice, is_blank, money, to_bool, to_integer

if TYPE_CHECKING:
    from .store import Store

HEADER, LINE_ITEM = 0, 3

ITEM_SCHEMA = Schema(
    {
        "title": TEXT,
        "quantity": NUMBER,
        "price": NUMBER,
        "taxable": BOOL,
        "secondary_tax": BOOL,
        "tertiary_tax": BOOL,
        "item_type": choice(HEADER, LINE_ITEM),
    },
    required=("title",),
    aliases={"taxable?": "taxable", "secondary_tax?": "secondary_tax", "tertiary_tax?": "tertiary_tax"},
)

TAX_FIELDS: dict[str, Field] = {
    "tax": NUMBER,
    "tax_label": TEXT,
    "tax2": NUMBER,
    "tax2_label": TEXT,
    "tax3": NUMBER,
    "tax3_label": TEXT,
    "compound_tax": BOOL,
}

TAX_DEFAULTS: dict[str, Any] = {
    "tax": 0.0,
    "tax_label": "Sales Tax",
    "tax2": 0.0,
    "tax2_label": "Secondary Tax",
    "tax3": 0.0,
    "tax3_label": "Tertiary Tax",
    "compound_tax": False,
}


@dataclass(frozen=True)
class ItemKind:
    attribute: str  # e.g. "invoice_items_attributes"
    listed_as: str  # e.g. "invoice_items"
    sequence: str  # id sequence of the items
    separate_tax_flags: bool  # recurring items carry their own secondary/tertiary flags


INVOICE_ITEMS = ItemKind("invoice_items_attributes", "invoice_items", "invoice_items", False)
ESTIMATE_ITEMS = ItemKind("estimate_items_attributes", "estimate_items", "estimate_items", False)
RECURRING_ITEMS = ItemKind(
    "recurring_schedule_items_attributes", "recurring_schedule_items", "recurring_schedule_items", True
)


def _elements(value: Any) -> list[Any] | None:
    if isinstance(value, list):
        return value
    if isinstance(value, dict):  # Rails also accepts {"0": {...}, "1": {...}}
        return list(value.values())
    return None


def apply_items(
    store: Store, kind: ItemKind, items: list[dict[str, Any]], value: Any, errors: Errors
) -> list[dict[str, Any]]:
    """Rails nested attributes: no id adds, id edits, id + `_destroy` removes.

    Items not mentioned stay as they are. Returns the new item list (the input is untouched).
    """
    elements = _elements(value)
    if elements is None:
        errors.add(kind.attribute, "must be a list of items")
        return items
    result = copy.deepcopy(items)
    for element in elements:
        if not isinstance(element, dict):
            errors.add(kind.attribute, "each item must be an object")
            continue
        try:
            destroy = to_bool(element.get("_destroy", False))
            item_id = to_integer(element.get("id"))
        except Invalid as problem:
            errors.add(kind.attribute, f"has an item whose id or _destroy {problem}")
            continue
        if item_id is None:
            if not destroy:
                result.append(_new_item(store, kind, element, errors))
            continue
        position = next((i for i, item in enumerate(result) if item["id"] == item_id), None)
        if position is None:
            errors.add(kind.attribute, f"item with id={item_id} not found")
        elif destroy:
            del result[position]
        else:
            _edit_item(store, kind, result[position], element, errors)
    return result


def _new_item(store: Store, kind: ItemKind, attrs: dict[str, Any], errors: Errors) -> dict[str, Any]:
    item: dict[str, Any] = {"title": None, "quantity": None, "price": None, "item_type": LINE_ITEM, "taxable": True}
    _edit_item(store, kind, item, attrs, errors)
    if item["item_type"] == LINE_ITEM:
        for name in ("quantity", "price"):
            key = f"{kind.listed_as}.{name}"
            if key not in errors and item.get(name) is None:
                errors.add(key, "can't be blank")
    item["id"] = store.next_id(kind.sequence)
    return item


def _edit_item(store: Store, kind: ItemKind, item: dict[str, Any], attrs: dict[str, Any], errors: Errors) -> None:
    ITEM_SCHEMA.apply(store, attrs, item, errors, prefix=f"{kind.listed_as}.")
    if not kind.separate_tax_flags:
        # Invoice and estimate items expose one `taxable` flag that covers all three taxes.
        item["secondary_tax"] = item["tertiary_tax"] = item.get("taxable", True)
    else:
        item.setdefault("secondary_tax", item.get("taxable", True))
        item.setdefault("tertiary_tax", item.get("taxable", True))
    if item.get("item_type") is None:
        item["item_type"] = LINE_ITEM
    if item.get("taxable") is None:
        item["taxable"] = True


def item_taxes(doc: dict[str, Any], item: dict[str, Any]) -> tuple[float, float]:
    """(amount, tax) of one item; headers count for nothing."""
    if item.get("item_type") == HEADER:
        return 0.0, 0.0
    amount = (item.get("quantity") or 0.0) * (item.get("price") or 0.0)
    first = amount * (doc.get("tax") or 0.0) / 100 if item.get("taxable") else 0.0
    second_base = amount + (first if doc.get("compound_tax") else 0.0)
    second = second_base * (doc.get("tax2") or 0.0) / 100 if item.get("secondary_tax") else 0.0
    third = amount * (doc.get("tax3") or 0.0) / 100 if item.get("tertiary_tax") else 0.0
    return amount, first + second + third


def totals(doc: dict[str, Any]) -> tuple[float, float]:
    """(subtotal, total_cost) rounded to cents."""
    subtotal = tax = 0.0
    for item in doc.get("items", []):
        amount, item_tax = item_taxes(doc, item)
        subtotal += amount
        tax += item_tax
    return money(subtotal), money(money(subtotal) + money(tax))


def next_number(rows: list[dict[str, Any]], first: int) -> str:
    numeric = [int(row["number"]) for row in rows if str(row.get("number") or "").isdigit()]
    return str(max(numeric, default=first - 1) + 1)


def check_number(rows: list[dict[str, Any]], record: dict[str, Any], errors: Errors) -> None:
    """`number` is unique within its table."""
    number = record.get("number")
    if is_blank(number):
        return
    record["number"] = str(number).strip()
    if any(row["number"] == record["number"] and row["id"] != record.get("id") for row in rows):
        errors.add("number", "has already been taken")
