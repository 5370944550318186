"""The one query compiler: validated filter trees, sorts, searches and keysets become SQL here.

Nothing else in clusterbook builds WHERE or ORDER BY clauses from user input. Each field is
resolved through the allow-list in ``fields.py``; each value is checked against the field's type
and bound as a parameter, never spliced into SQL text.

Semantics worth knowing: ``ne`` and ``nin`` are null-safe (a missing value is "not equal");
ordering operators never match nulls; string comparisons ignore case unless ``case_sensitive``.
Ignoring case means comparing the stored folded copy of the text (``store/folded.py``) with the
operand folded by the same rule (``clusterbook.folding``); case-sensitive ones use the raw column.
Every condition is plainly true or false, never SQL's unknown, so ``NOT`` around a condition that
does not match a null value matches that row.

Keys inside a JSON column (``metadata.year``) are typed by the operand: a number compares with
numbers, a string with strings (bytewise order for ``gt``/``lt``), true/false with booleans. A
value of another type, a JSON ``null`` or a missing key never matches an ordering or equality
test (and so counts as "not equal" for ``ne``/``nin``), and never raises.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    ColumnElement,
    Float,
    Numeric,
    Text,
    and_,
    case,
    cast,
    false,
    func,
    literal,
    not_,
    or_,
    select,
    true,
    tuple_,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.sql.elements import UnaryExpression

from clusterbook.errors import ErrorLocation, InvalidFilter, InvalidSort
from clusterbook.folding import fold
from clusterbook.models.filters import Condition, Group, Node
from clusterbook.models.listing import SortSpec
from clusterbook.store import fulltext
from clusterbook.store.fields import FieldRegistry, FieldSpec
from clusterbook.store.fulltext import phrase
from clusterbook.store.tables import execution_params, executions_fts

TEXT_KINDS = {"string"}
OPERATORS_BY_KIND = {
    "string": ("eq", "ne", "in", "nin", "contains", "starts_with", "ends_with", "exists", "is_null"),
    "enum": ("eq", "ne", "in", "nin", "exists", "is_null"),
    "datetime": ("eq", "ne", "gt", "gte", "lt", "lte", "in", "nin", "exists", "is_null"),
    "number": ("eq", "ne", "gt", "gte", "lt", "lte", "in", "nin", "exists", "is_null"),
    "integer": ("eq", "ne", "gt", "gte", "lt", "lte", "in", "nin", "exists", "is_null"),
    "json": ("eq", "ne", "gt", "gte", "lt", "lte", "in", "nin", "contains", "starts_with", "ends_with", "exists",
             "is_null"),
    "config": ("eq", "ne", "gt", "gte", "lt", "lte", "in", "nin", "contains", "starts_with", "ends_with", "exists",
               "is_null"),
}  # fmt: skip
MAX_IN_VALUES = 1000
COMPARISONS: dict[str, Callable[[Any, Any], ColumnElement[bool]]] = {
    "eq": operator.eq,
    "gt": operator.gt,
    "gte": operator.ge,
    "lt": operator.lt,
    "lte": operator.le,
}


@dataclass(frozen=True)
class ResolvedSort:
    """A sort resolved against the allow-list: the field and whether it runs descending."""

    spec: FieldSpec
    descending: bool

    @property
    def direction(self) -> str:
        return "desc" if self.descending else "asc"


def _bad(path: str, message: str) -> InvalidFilter:
    return InvalidFilter(f"{path}: {message}", errors=[ErrorLocation(path, message)])


# ---------------------------------------------------------------- values


def parse_datetime(value: Any) -> datetime | None:
    """An ISO 8601 date or datetime; naive values are UTC. ``None`` when it is not one."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        try:
            parsed = datetime.combine(date.fromisoformat(value.strip()), datetime.min.time())
        except ValueError:
            return None
    try:
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except OverflowError:  # e.g. 9999-12-31T23:59:59-01:00 is past year 9999 in UTC
        return None


def coerce_value(spec: FieldSpec, value: Any, path: str, case_sensitive: bool) -> Any:
    """Check one operand against the field's type and return it in the column's form."""
    if spec.kind in ("number", "integer"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _bad(path, f"field {spec.name!r} is numeric; give a number, not {type(value).__name__}")
        if isinstance(value, int) and (spec.kind == "number" or not -(2**63) <= value < 2**63):
            # Metrics are floats; beyond 64 bits no driver binds an integer (SQLite raises), a float compares the same.
            try:
                value = float(value)
            except OverflowError:
                raise _bad(path, "must be a finite number") from None
        if value != value or value in (float("inf"), float("-inf")):
            raise _bad(path, "must be a finite number")
        if spec.kind == "integer" and isinstance(value, float) and value.is_integer() and abs(value) < 2**63:
            value = int(value)
        return value
    if spec.kind == "datetime":
        parsed = parse_datetime(value)
        if parsed is None:
            raise _bad(path, f"field {spec.name!r} is a timestamp; give an ISO 8601 string such as "
                             "'2025-01-31T12:00:00Z'")  # fmt: skip
        return parsed
    if not isinstance(value, str):
        raise _bad(path, f"field {spec.name!r} is text; give a string, not {type(value).__name__}")
    if "\x00" in value:
        raise _bad(path, "strings may not contain NUL characters")
    if spec.kind == "enum":
        lowered = value.lower()
        if lowered not in spec.enum_values:
            raise _bad(path, f"{value!r} is not a valid {spec.name}; accepted: {', '.join(spec.enum_values)}")
        return lowered
    return value if case_sensitive else fold(value)


# ---------------------------------------------------------------- filters


def compile_filter(
    node: Node | None, registry: FieldRegistry, dialect: str, *, cluster_id: str | None = None
) -> ColumnElement[bool]:
    """Turn a validated filter tree into one SQL boolean expression. ``cluster_id``: the one cluster
    the rows are restricted to (runs), so a ``config.*`` condition ranges over that cluster's part of
    the side table's index only."""
    if node is None:
        return true()
    if isinstance(node, Group):
        parts = [compile_filter(child, registry, dialect, cluster_id=cluster_id) for child in node.children]
        if not parts:
            return true()
        combined = and_(*parts) if node.op == "and" else or_(*parts)
        return not_(combined) if node.negated else combined
    return _compile_condition(node, registry, dialect, cluster_id)


def _compile_condition(
    cond: Condition, registry: FieldRegistry, dialect: str, cluster_id: str | None = None
) -> ColumnElement[bool]:
    spec = registry.resolve(cond.field)
    if spec is None:
        raise _bad(
            cond.at("field"),
            f"unknown field {cond.field!r}{registry.unknown_field_hint(cond.field)}; "
            f"accepted: {', '.join(registry.filterable_names())}",
        )
    op = cond.operator
    if op not in OPERATORS_BY_KIND[spec.kind]:
        raise _bad(
            cond.at("operator"),
            f"operator {op!r} does not apply to {spec.kind} field {spec.name!r}; "
            f"accepted: {', '.join(OPERATORS_BY_KIND[spec.kind])}",
        )
    if spec.kind == "json":
        return _compile_json_condition(cond, spec, dialect)
    if spec.kind == "config":
        return compile_config_condition(cond, spec, dialect, cluster_id)
    value_path = cond.at("value")
    column = spec.column
    if op in ("exists", "is_null"):
        if not isinstance(cond.value, bool):
            raise _bad(value_path, f"operator {op!r} takes true or false")
        present = column.is_not(None)
        wants_present = cond.value if op == "exists" else not cond.value
        return present if wants_present else column.is_(None)
    if cond.value is None and op in ("eq", "ne"):
        return column.is_(None) if op == "eq" else column.is_not(None)
    if op in ("in", "nin"):
        if not isinstance(cond.value, list) or not cond.value:
            raise _bad(value_path, f"operator {op!r} takes a non-empty list of values")
        if len(cond.value) > MAX_IN_VALUES:
            raise _bad(value_path, f"at most {MAX_IN_VALUES} values in a list")
        values = [coerce_value(spec, v, f"{value_path}[{i}]", cond.case_sensitive) for i, v in enumerate(cond.value)]
        bound = [_bound(spec, v) for v in values]
        matched: ColumnElement[bool] = _folded(column, spec, cond.case_sensitive).in_(bound)
        return _known(spec, matched) if op == "in" else or_(column.is_(None), not_(matched))
    value = coerce_value(spec, cond.value, value_path, cond.case_sensitive)
    target = _folded(column, spec, cond.case_sensitive)
    if op == "ne":
        return or_(column.is_(None), target != _bound(spec, value))
    if op in COMPARISONS:
        return _known(spec, COMPARISONS[op](target, _bound(spec, value)))
    return _known(spec, _text_match(target, value, op, cond.case_sensitive, dialect))


def _bound(spec: FieldSpec, value: Any) -> Any:
    """A numeric operand bound in its own type. In the column's type, PostgreSQL would get
    ``0.5::INTEGER`` (rounded to 0) or ``2147483648::INTEGER`` (out of range)."""
    if spec.kind in ("number", "integer"):
        return literal(value, BigInteger() if isinstance(value, int) else Float())
    return value


def _known(spec: FieldSpec, matched: ColumnElement[bool]) -> ColumnElement[bool]:
    """False, never NULL, when the field is null: SQL's three-valued logic would otherwise make
    ``NOT (silhouette > 0.5)`` drop the runs without a silhouette instead of keeping them."""
    return and_(spec.column.is_not(None), matched) if spec.nullable else matched


def _folded(column: Any, spec: FieldSpec, case_sensitive: bool) -> Any:
    """The column a condition compares: the stored folded copy for a case-insensitive text condition."""
    if spec.kind in TEXT_KINDS and not case_sensitive:
        assert spec.folded is not None, f"text field {spec.name!r} has no folded column"
        return spec.folded
    return column


def escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def escape_glob(text: str) -> str:
    return "".join(f"[{ch}]" if ch in "*?[]" else ch for ch in text)


def _text_match(target: Any, value: str, op: str, case_sensitive: bool, dialect: str) -> ColumnElement[bool]:
    if case_sensitive and dialect == "sqlite":
        # SQLite's LIKE ignores ASCII case; GLOB is its case-sensitive pattern match.
        body = escape_glob(value)
        pattern = {"contains": f"*{body}*", "starts_with": f"{body}*", "ends_with": f"*{body}"}[op]
        glob: ColumnElement[bool] = target.op("GLOB", is_comparison=True)(literal(pattern))
        return glob
    body = escape_like(value)
    pattern = {"contains": f"%{body}%", "starts_with": f"{body}%", "ends_with": f"%{body}"}[op]
    like: ColumnElement[bool] = target.like(pattern, escape="\\")
    return like


# ---------------------------------------------------------------- keys inside JSON

JSON_TYPES = {
    # our type name → (SQLite json_type() names, PostgreSQL jsonb_typeof() names)
    "string": (("text",), ("string",)),
    "number": (("integer", "real"), ("number",)),
    "boolean": (("true", "false"), ("boolean",)),
}


@dataclass(frozen=True)
class _JsonKey:
    """SQL for one key path inside a JSON column, on one dialect."""

    spec: FieldSpec
    dialect: str

    @property
    def _path(self) -> Any:
        if self.dialect == "sqlite":
            # keys are letters, digits, '_' and '-' only (fields.JSON_KEY_PATTERN), so quoting is safe
            return literal("$" + "".join(f'."{key}"' for key in self.spec.json_path))
        return literal(list(self.spec.json_path), ARRAY(Text()))

    def type_name(self) -> ColumnElement[Any]:
        """The JSON type of the value (dialect's spelling); NULL when the key is missing."""
        if self.dialect == "sqlite":
            return func.json_type(self.spec.column, self._path)
        return func.jsonb_typeof(self.spec.column.op("#>", return_type=JSONB())(self._path))

    def present(self) -> ColumnElement[bool]:
        """The key exists and holds something other than JSON null."""
        return func.coalesce(self.type_name(), "null") != "null"

    def typed(self, kind: str) -> ColumnElement[Any]:
        """The value when it has JSON type ``kind``, else NULL. The CASE guards PostgreSQL's cast, so
        a value of another type yields NULL instead of an error."""
        sqlite_names, postgres_names = JSON_TYPES[kind]
        kind_type = self.type_name()
        if self.dialect == "sqlite":
            if kind == "boolean":  # json_extract gives 1/0 for booleans; compare their JSON names instead
                return case((kind_type.in_(sqlite_names), kind_type))
            return case((kind_type.in_(sqlite_names), func.json_extract(self.spec.column, self._path)))
        text = self.spec.column.op("#>>", return_type=Text())(self._path)
        return case((kind_type.in_(postgres_names), cast(text, Numeric()) if kind == "number" else text))


def _json_kind(value: Any, path: str) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    raise _bad(path, f"metadata filters compare text, numbers or true/false, not {type(value).__name__}")


def _json_operand(kind: str, value: Any, path: str, case_sensitive: bool, dialect: str) -> Any:
    """The operand bound in the form the typed value compares with."""
    if kind == "boolean":
        return literal("true" if value else "false")
    if kind == "number":
        if isinstance(value, float) and not math.isfinite(value):
            raise _bad(path, "must be a finite number")
        if dialect != "sqlite":
            return literal(value, Numeric())
        if isinstance(value, int) and not -(2**63) <= value < 2**63:
            try:
                value = float(value)  # beyond 64 bits SQLite binds no integer; a float compares the same
            except OverflowError:
                raise _bad(path, "must be a finite number") from None
        return literal(value, BigInteger() if isinstance(value, int) else Float())
    if "\x00" in value:
        raise _bad(path, "strings may not contain NUL characters")
    return literal(value if case_sensitive else fold(value))


def cast_column(expr: ColumnElement[Any]) -> Column[Any]:
    """A JSON field's folded copy is a real column (``metadata_folded``), so it can stand in for one."""
    assert isinstance(expr, Column), expr
    return expr


def _never_null(expr: ColumnElement[bool]) -> ColumnElement[bool]:
    return func.coalesce(expr, false())


def _compile_json_condition(cond: Condition, spec: FieldSpec, dialect: str) -> ColumnElement[bool]:
    key = _JsonKey(spec, dialect)
    # The folded copy of the document has the same keys and types, with every string folded.
    folded_key = key if spec.folded is None else _JsonKey(replace(spec, column=cast_column(spec.folded)), dialect)
    op, value, value_path = cond.operator, cond.value, cond.at("value")
    if op in ("exists", "is_null"):
        if not isinstance(value, bool):
            raise _bad(value_path, f"operator {op!r} takes true or false")
        return key.present() if value == (op == "exists") else not_(key.present())
    if value is None and op in ("eq", "ne"):
        return not_(key.present()) if op == "eq" else key.present()

    def target(kind: str) -> Any:
        return folded_key.typed(kind) if kind == "string" and not cond.case_sensitive else key.typed(kind)

    if op in ("in", "nin"):
        if not isinstance(value, list) or not value:
            raise _bad(value_path, f"operator {op!r} takes a non-empty list of values")
        if len(value) > MAX_IN_VALUES:
            raise _bad(value_path, f"at most {MAX_IN_VALUES} values in a list")
        by_kind: dict[str, list[Any]] = {}
        for i, item in enumerate(value):
            kind = _json_kind(item, f"{value_path}[{i}]")
            by_kind.setdefault(kind, []).append(
                _json_operand(kind, item, f"{value_path}[{i}]", cond.case_sensitive, dialect)
            )
        matched = or_(*(_never_null(target(kind).in_(operands)) for kind, operands in by_kind.items()))
        return matched if op == "in" else not_(matched)
    kind = _json_kind(value, value_path)
    operand = _json_operand(kind, value, value_path, cond.case_sensitive, dialect)
    if op in ("contains", "starts_with", "ends_with"):
        if kind != "string":
            raise _bad(value_path, f"operator {op!r} takes text")
        return _never_null(_text_match(target(kind), value if cond.case_sensitive else fold(value), op,
                                       cond.case_sensitive, dialect))  # fmt: skip
    if kind == "boolean" and op not in ("eq", "ne"):
        raise _bad(cond.at("operator"), f"true/false compare only with eq or ne, not {op!r}")
    column = target(kind)
    if kind == "string" and op != "eq" and op != "ne" and dialect != "sqlite":
        column = column.collate("C")  # bytewise order, as SQLite compares text
    if op == "ne":
        return not_(_never_null(column == operand))
    return _never_null(COMPARISONS[op](column, operand))


# ---------------------------------------------------------------- config.* (the execution_params side table)

_p = execution_params.c


def _config_operand(spec: FieldSpec, value: Any, path: str, case_sensitive: bool) -> tuple[str, Any]:
    """``(kind, bound operand)``: which column of ``execution_params`` the operand compares with
    (``num`` or ``text``/``text_folded``) and its value; a value of the wrong type is a 422 at ``path``."""
    declared = spec.config_kind
    if declared == "any":
        if isinstance(value, bool):
            return "boolean", "true" if value else "false"
        if not isinstance(value, int | float | str):
            raise _bad(path, f"{spec.name} compares with a number, a string or true/false, not {type(value).__name__}")
    if declared == "integer" or (declared == "any" and isinstance(value, int | float)):
        integer = FieldSpec(spec.name, spec.column, "number", nullable=True)
        return "number", coerce_value(integer, value, path, case_sensitive)
    text = FieldSpec(spec.name, spec.column, "string", nullable=True)
    return "string", coerce_value(text, value, path, case_sensitive)


def _config_target(kind: str, case_sensitive: bool) -> Any:
    if kind == "number":
        return _p.num
    return _p.text if kind == "boolean" or case_sensitive else _p.text_folded


def _runs_where(
    spec: FieldSpec, dialect: str, cluster_id: str | None, *conditions: ColumnElement[bool]
) -> ColumnElement[bool]:
    """The run's id is among those whose ``execution_params`` row for this field passes ``conditions``.

    ``IN (SELECT execution_id …)`` rather than a correlated EXISTS: both databases then answer it
    from the index ``(name, num|text_folded, execution_id)`` once, instead of probing it for every
    run of the cluster. On SQLite as ``id + 0``: the matches become a membership test (one ephemeral
    index) while SQLite walks the cluster's sort index, so a page stops after its rows; driven from
    the matches instead, it fetched and sorted every matching row (36k runs: 1.6 s → 70 ms), and a
    count walks the cluster's covering index, bounded by the history's size whatever the value.
    The side table's indexes lead with ``cluster_id`` (migration 0037), so the cluster is named
    when known; without it (no caller today) the condition is still right, only slower."""
    scope = [] if cluster_id is None else [_p.cluster_id == cluster_id]
    matching = select(_p.execution_id).where(*scope, _p.name == spec.json_path[0], *conditions)
    key = spec.column + 0 if dialect == "sqlite" else spec.column
    return key.in_(matching)


def compile_config_condition(
    cond: Condition, spec: FieldSpec, dialect: str, cluster_id: str | None = None
) -> ColumnElement[bool]:
    """A condition on ``config.<field>``: a set of run ids from the side table. A run without the
    field (another algorithm, a null value) matches no equality or ordering test and counts as
    "not equal" for ``ne``/``nin``; a string never equals a number."""
    op, value_path = cond.operator, cond.at("value")
    if op in ("exists", "is_null"):
        if not isinstance(cond.value, bool):
            raise _bad(value_path, f"operator {op!r} takes true or false")
        present = _runs_where(spec, dialect, cluster_id)
        return present if cond.value == (op == "exists") else not_(present)
    if cond.value is None and op in ("eq", "ne"):
        present = _runs_where(spec, dialect, cluster_id)
        return not_(present) if op == "eq" else present
    if op in ("in", "nin"):
        if not isinstance(cond.value, list) or not cond.value:
            raise _bad(value_path, f"operator {op!r} takes a non-empty list of values")
        if len(cond.value) > MAX_IN_VALUES:
            raise _bad(value_path, f"at most {MAX_IN_VALUES} values in a list")
        by_kind: dict[str, list[Any]] = {}
        for i, item in enumerate(cond.value):
            kind, operand = _config_operand(spec, item, f"{value_path}[{i}]", cond.case_sensitive)
            by_kind.setdefault(kind, []).append(operand)
        tests = [_config_target(kind, cond.case_sensitive).in_(values) for kind, values in by_kind.items()]
        matched = _runs_where(spec, dialect, cluster_id, or_(*tests))
        return matched if op == "in" else not_(matched)
    kind, operand = _config_operand(spec, cond.value, value_path, cond.case_sensitive)
    target = _config_target(kind, cond.case_sensitive)
    if op in ("contains", "starts_with", "ends_with"):
        if kind != "string":
            raise _bad(value_path, f"operator {op!r} takes text")
        return _runs_where(spec, dialect, cluster_id, _text_match(target, operand, op, cond.case_sensitive, dialect))
    if kind == "boolean" and op not in ("eq", "ne"):
        raise _bad(cond.at("operator"), f"true/false compare only with eq or ne, not {op!r}")
    if kind == "string" and op not in ("eq", "ne") and dialect != "sqlite":
        target = target.collate("C")  # bytewise order, as SQLite compares text
    bound = _bound(FieldSpec(spec.name, spec.column, "number", nullable=True), operand) if kind == "number" else operand
    if op == "ne":
        return not_(_runs_where(spec, dialect, cluster_id, target == bound))
    return _runs_where(spec, dialect, cluster_id, COMPARISONS[op](target, bound))


# ---------------------------------------------------------------- search


def compile_search(
    terms: list[str], registry: FieldRegistry, dialect: str, *, walk_sort_index: bool = False
) -> ColumnElement[bool]:
    """Case-insensitive substring match of every (folded) term, AND-ed, over the registry's folded text.

    Executions use their substring index: FTS5 trigram on SQLite, pg_trgm GIN on PostgreSQL.
    With ``walk_sort_index`` (SQLite, for a term matching a large share of the history) SQLite
    walks the sort index in order and tests each walked row's folded text with ``instr`` (the
    same exact substring test the trigram phrase makes), instead of driving the query from the
    search index and sorting every match. A page of a term matching a third of a million runs
    then reads a few dozen rows and no full-text pass at all (it was a membership test against
    the materialised match list: one more pass over the index, 171 ms at 1M runs).
    """
    if not terms:
        return true()
    clauses: list[ColumnElement[bool]] = []
    for term in terms:
        if registry.full_text and dialect == "sqlite" and walk_sort_index:
            clauses.append(func.instr(registry.table.c.search_text, literal(term)) > 0)
        elif registry.full_text and dialect == "sqlite" and len(term) >= fulltext.MIN_INDEXED_TERM:
            fts = select(executions_fts.c.rowid).where(
                executions_fts.c.search_text.op("MATCH", is_comparison=True)(phrase(term))
            )
            clauses.append(registry.table.c.id.in_(fts))
        elif registry.full_text and dialect == "sqlite":
            # Too short for a trigram: a plain (case-sensitive) substring test on the folded text.
            clauses.append(func.instr(registry.table.c.search_text, literal(term)) > 0)
        elif registry.full_text:
            clauses.append(registry.table.c.search_text.like(f"%{escape_like(term)}%", escape="\\"))
        else:
            pattern = f"%{escape_like(term)}%"
            clauses.append(or_(*(func.coalesce(col, "").like(pattern, escape="\\") for col in registry.search_columns)))
    return and_(*clauses)


# ---------------------------------------------------------------- sort and keyset


def resolve_sort(sort: SortSpec | None, registry: FieldRegistry) -> ResolvedSort:
    """The requested sort, or the registry's default (created_at, newest first)."""
    if sort is None:
        spec = registry.fields[registry.default_sort]
        return ResolvedSort(spec, True)
    found = registry.resolve(sort.field)
    if found is None or not found.sortable:
        message = f"cannot sort by {sort.field!r}; accepted: {', '.join(registry.sortable_names())}"
        raise InvalidSort(f"sort.field: {message}", errors=[ErrorLocation("sort.field", message)])
    return ResolvedSort(found, sort.direction == "desc")


def compile_order_by(sort: ResolvedSort, registry: FieldRegistry) -> list[UnaryExpression[Any]]:
    """ORDER BY the field (nulls last in both directions), then the tie-breaker the same way."""
    column, tie = sort.spec.column, registry.tiebreaker
    primary = column.desc() if sort.descending else column.asc()
    if sort.spec.nullable:
        primary = primary.nulls_last()
    return [primary, tie.desc() if sort.descending else tie.asc()]


def compile_keyset(sort: ResolvedSort, registry: FieldRegistry, value: Any, tie_value: str) -> ColumnElement[bool]:
    """Rows strictly after (value, tie_value) in the sort order: the next keyset page."""
    column, tie = sort.spec.column, registry.tiebreaker
    if value is None:
        # Already among the trailing nulls: only later nulls remain.
        return and_(column.is_(None), tie < tie_value if sort.descending else tie > tie_value)
    pair, bound = tuple_(column, tie), tuple_(literal(value, column.type), literal(tie_value))
    after = pair < bound if sort.descending else pair > bound
    return or_(after, column.is_(None)) if sort.spec.nullable else after


def sort_key_of(row: Any, sort: ResolvedSort, registry: FieldRegistry) -> tuple[Any, str]:
    """The (value, tie-breaker) of a result row, as stored in a cursor."""
    return getattr(row, sort.spec.column.name), getattr(row, registry.tiebreaker.name)


__all__ = [
    "ResolvedSort",
    "compile_filter",
    "compile_keyset",
    "compile_order_by",
    "compile_search",
    "resolve_sort",
    "sort_key_of",
]
