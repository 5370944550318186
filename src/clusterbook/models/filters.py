"""The filter language: raw JSON in, a small validated tree out.

Three spellings are accepted and normalised to one tree of :class:`Group` and :class:`Condition`:

* the contract's ``{"operator": "AND"|"OR", "conditions": [...]}`` (conditions may nest groups);
* ``{"AND": [...], "OR": [...], "NOT": [...], "case_sensitive": false}`` — all of AND, at least one
  of OR, none of NOT;
* shorthand ``{"status": "completed"}`` or ``{"num_points": {"gt": 100}}``, which may sit beside
  the logical keys in the same object.

This module checks structure and operators only; which fields exist and which values fit them is
the store's field allow-list (``store/fields.py``). Every node keeps the path it came from, so an
error can name ``filters.conditions[1].value`` exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from clusterbook.errors import ErrorLocation, InvalidFilter
from clusterbook.models.storable import find_unstorable

MAX_DEPTH = 8
MAX_CONDITIONS = 100
MAX_VALUES = 5000
"""Operands in the whole tree (each list element counts): keeps every statement far below
PostgreSQL's 65,535 bound parameters."""
MAX_NODES = 300
"""Objects in the whole tree, groups and empty ``{}`` included: an empty group is no condition, yet
hundreds of thousands of them cost seconds to parse and compile."""

OPERATOR_ALIASES: dict[str, str] = {
    "==": "eq", "eq": "eq", "=": "eq",
    "!=": "ne", "ne": "ne", "<>": "ne",
    ">": "gt", "gt": "gt",
    ">=": "gte", "gte": "gte",
    "<": "lt", "lt": "lt",
    "<=": "lte", "lte": "lte",
    "in": "in",
    "nin": "nin", "not_in": "nin",
    "contains": "contains",
    "starts_with": "starts_with",
    "ends_with": "ends_with",
    "exists": "exists",
    "is_null": "is_null",
}  # fmt: skip
"""Every spelling the API accepts, mapped to its canonical operator name."""

CANONICAL_OPERATORS = ("eq", "ne", "gt", "gte", "lt", "lte", "in", "nin", "contains", "starts_with",
                       "ends_with", "exists", "is_null")  # fmt: skip
ACCEPTED_OPERATORS_TEXT = (
    "==/eq, !=/ne, >/gt, >=/gte, </lt, <=/lte, in, nin, contains, starts_with, ends_with, exists, is_null"
)
LOGICAL_KEYS = ("AND", "OR", "NOT")


@dataclass(frozen=True)
class Condition:
    """``field operator value``; ``path`` locates the node in the request body."""

    field: str
    operator: str
    value: Any
    case_sensitive: bool
    path: str
    shorthand: bool = False

    def at(self, part: str) -> str:
        """Path of one part (field, operator, value); a shorthand condition has only its own."""
        return self.path if self.shorthand else f"{self.path}.{part}"


@dataclass(frozen=True)
class Group:
    """A logical combination. ``negated`` turns OR into NONE-OF (the ``NOT`` list)."""

    op: Literal["and", "or"]
    children: tuple[Node, ...]
    negated: bool
    path: str


Node = Condition | Group


def _fail(path: str, message: str) -> InvalidFilter:
    return InvalidFilter(f"{path}: {message}", errors=[ErrorLocation(path, message)])


class _Parser:
    def __init__(self) -> None:
        self.conditions = 0
        self.values = 0
        self.nodes = 0

    def parse(self, raw: Any, path: str, depth: int, case_sensitive: bool) -> Node:
        if depth > MAX_DEPTH:
            raise _fail(path, f"filter tree is nested deeper than {MAX_DEPTH} levels; flatten it")
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise _fail(path, f"filter has more than {MAX_NODES} nodes (groups and conditions, empty ones "
                              "included); remove empty groups and simplify it")  # fmt: skip
        if not isinstance(raw, dict):
            raise _fail(path, "expected an object: a condition {field, operator, value} or a group "
                              "{operator: AND|OR, conditions: [...]}")  # fmt: skip
        if "field" in raw:
            return self._condition(raw, path, case_sensitive)
        if "conditions" in raw:
            return self._operator_group(raw, path, depth, case_sensitive)
        return self._keyed_group(raw, path, depth, case_sensitive)

    def _case(self, raw: dict[str, Any], path: str, inherited: bool) -> bool:
        if "case_sensitive" not in raw:
            return inherited
        value = raw["case_sensitive"]
        if not isinstance(value, bool):
            raise _fail(f"{path}.case_sensitive", "must be true or false")
        return value

    def _count(self, path: str, operand: Any) -> None:
        self.conditions += 1
        if self.conditions > MAX_CONDITIONS:
            raise _fail(path, f"filter has more than {MAX_CONDITIONS} conditions; simplify it")
        self.values += len(operand) if isinstance(operand, list) else 1
        if self.values > MAX_VALUES:
            raise _fail(path, f"filter has more than {MAX_VALUES} values in all; simplify it")

    def _condition(self, raw: dict[str, Any], path: str, case_sensitive: bool) -> Condition:
        unknown = set(raw) - {"field", "operator", "value", "case_sensitive"}
        if unknown:
            raise _fail(f"{path}.{sorted(unknown)[0]}",
                        "unknown key in condition; accepted: field, operator, value, case_sensitive")  # fmt: skip
        field = raw["field"]
        if not isinstance(field, str) or not field:
            raise _fail(f"{path}.field", "must be a non-empty string naming a field")
        operator = canonical_operator(raw.get("operator", "eq"), f"{path}.operator")
        if "value" not in raw and operator not in ("exists", "is_null"):
            raise _fail(f"{path}.value", f"missing; operator {operator!r} needs a value")
        value = raw.get("value", True)
        self._count(path, value)
        return Condition(field, operator, value, self._case(raw, path, case_sensitive), path)

    def _operator_group(self, raw: dict[str, Any], path: str, depth: int, case_sensitive: bool) -> Group:
        unknown = set(raw) - {"operator", "conditions", "case_sensitive"}
        if unknown:
            raise _fail(f"{path}.{sorted(unknown)[0]}",
                        "unknown key in group; accepted: operator, conditions, case_sensitive")  # fmt: skip
        op = raw.get("operator", "AND")
        if not isinstance(op, str) or op.upper() not in LOGICAL_KEYS:
            raise _fail(f"{path}.operator", "group operator must be AND, OR or NOT")
        items = raw["conditions"]
        if not isinstance(items, list):
            raise _fail(f"{path}.conditions", "must be a list of conditions or groups")
        case = self._case(raw, path, case_sensitive)
        children = tuple(self.parse(item, f"{path}.conditions[{i}]", depth + 1, case) for i, item in enumerate(items))
        kind = op.upper()
        if kind == "NOT":
            return Group("or", children, True, path)
        return Group("and" if kind == "AND" else "or", children, False, path)

    def _keyed_group(self, raw: dict[str, Any], path: str, depth: int, case_sensitive: bool) -> Group:
        case = self._case(raw, path, case_sensitive)
        parts: list[Node] = []
        for key, value in raw.items():
            if key == "case_sensitive":
                continue
            key_path = f"{path}.{key}"
            if key in LOGICAL_KEYS:
                if not isinstance(value, list):
                    raise _fail(key_path, f"{key} must be a list of conditions or groups")
                children = tuple(self.parse(item, f"{key_path}[{i}]", depth + 1, case) for i, item in enumerate(value))
                op: Literal["and", "or"] = "and" if key == "AND" else "or"
                parts.append(Group(op, children, key == "NOT", key_path))
            else:
                parts.extend(self._shorthand(key, value, key_path, case))
        return Group("and", tuple(parts), False, path)

    def _shorthand(self, field: str, value: Any, path: str, case_sensitive: bool) -> list[Condition]:
        if isinstance(value, dict):
            if not value:
                raise _fail(path, 'empty operator object; use e.g. {"gt": 5}')
            found = []
            for op_name, operand in value.items():
                operator = canonical_operator(op_name, f"{path}.{op_name}")
                self._count(path, operand)
                found.append(Condition(field, operator, operand, case_sensitive, f"{path}.{op_name}", True))
            return found
        self._count(path, value)
        if value is None:
            return [Condition(field, "is_null", True, case_sensitive, path, True)]
        if isinstance(value, list):
            return [Condition(field, "in", value, case_sensitive, path, True)]
        return [Condition(field, "eq", value, case_sensitive, path, True)]


def canonical_operator(raw: Any, path: str) -> str:
    """Map an operator spelling to its canonical name, or fail naming the accepted set."""
    if isinstance(raw, str):
        found = OPERATOR_ALIASES.get(raw.strip().lower())
        if found:
            return found
    raise _fail(path, f"unknown operator {raw!r}; accepted: {ACCEPTED_OPERATORS_TEXT}")


def parse_filter_tree(raw: Any, path: str = "filters") -> Node | None:
    """Validate and normalise a raw filter document; ``None`` or ``{}`` means no filter."""
    if raw is None or raw == {}:
        return None
    unstorable = find_unstorable(raw, path)  # a NUL or surrogate would fail in the database or the error message
    if unstorable:
        raise _fail(*unstorable)
    return _Parser().parse(raw, path, 1, False)
