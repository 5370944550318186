"""A small typed builder for the listing filter language, so nobody hand-writes filter JSON.

``F.<field>`` (or ``F.field(name)``, ``F.metric(name)``, ``F.metadata(key)``) is a field; comparing
it makes a condition; ``&``, ``|`` and ``~`` combine conditions into groups. ``to_dict()`` gives
exactly the JSON tree ``POST …/list`` accepts (the ``{"operator", "conditions"}`` spelling of
``clusterbook.models.filters``), and every SDK method that takes ``filters=`` takes an expression or a
raw dict alike.

>>> (F.status == "failed").to_dict()
{'field': 'status', 'operator': 'eq', 'value': 'failed'}
>>> expr = (F.metric("silhouette_score") > 0.5) & F.status.in_(["completed", "failed"])
>>> expr.to_dict()["operator"], [c["operator"] for c in expr.to_dict()["conditions"]]
('AND', ['gt', 'in'])
>>> (~(F.run_name.contains("nightly"))).to_dict()
{'operator': 'NOT', 'conditions': [{'field': 'run_name', 'operator': 'contains', 'value': 'nightly'}]}

Python's ``and``/``or``/``not`` cannot be overloaded: using them on an expression raises, so a
filter is never silently reduced to one of its halves.

>>> (F.status == "failed") and (F.num_points > 10)
Traceback (most recent call last):
...
TypeError: a filter has no truth value: combine filters with &, | and ~ instead of and, or, not
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from typing import Any, Literal

from clusterbook.models.config_fields import PREFIX as CONFIG_PREFIX
from clusterbook.models.config_fields import config_field_names, config_kind
from clusterbook.models.listing import SortSpec
from clusterbook.models.measures import MEASURES, metric_measure

GroupOperator = Literal["AND", "OR", "NOT"]


def _value(value: Any) -> Any:
    """A JSON-ready operand: aware timestamps in UTC ISO 8601, enums by value, collections as lists."""
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC)
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return _value(value.value)
    if isinstance(value, Filter):
        raise TypeError("a filter cannot be the value of a condition; combine filters with &, | and ~")
    if isinstance(value, list | tuple | set | frozenset):
        items = [_value(v) for v in value]
        if isinstance(value, set | frozenset):
            items.sort(key=repr)
        return items
    return value


def _operands(values: Iterable[Any]) -> Any:
    """Collections as given (``_value`` orders a set); any other iterable (a generator) as a list."""
    if isinstance(values, str | bytes):
        raise TypeError("in_/not_in take a collection of values, not one string; wrap it: [value]")
    return values if isinstance(values, list | tuple | set | frozenset) else list(values)


class Filter:
    """A filter expression: a :class:`Condition`, a :class:`Group`, or a raw dict wrapped by :func:`as_filter`."""

    __slots__ = ()

    def to_dict(self) -> dict[str, Any]:
        """The JSON filter tree the listing endpoints accept."""
        raise NotImplementedError

    def __and__(self, other: Filter | Mapping[str, Any]) -> Filter:
        return _combine("AND", self, as_filter(other))

    def __rand__(self, other: Mapping[str, Any]) -> Filter:
        return _combine("AND", as_filter(other), self)

    def __or__(self, other: Filter | Mapping[str, Any]) -> Filter:
        return _combine("OR", self, as_filter(other))

    def __ror__(self, other: Mapping[str, Any]) -> Filter:
        return _combine("OR", as_filter(other), self)

    def __invert__(self) -> Filter:
        if (
            isinstance(self, Group)
            and self.operator == "NOT"
            and len(self.filters) == 1
            and self.case_sensitive is None
        ):
            return self.filters[0]  # ~~x is x
        return Group("NOT", (self,))

    def __bool__(self) -> bool:
        raise TypeError("a filter has no truth value: combine filters with &, | and ~ instead of and, or, not")

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.to_dict()!r})"


class Condition(Filter):
    """``field operator value``, e.g. ``F.num_points >= 100``."""

    __slots__ = ("field", "operator", "value", "case_sensitive")

    def __init__(self, field: str, operator: str, value: Any, case_sensitive: bool | None = None) -> None:
        self.field = field
        self.operator = operator
        self.value = _value(value)
        self.case_sensitive = case_sensitive

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"field": self.field, "operator": self.operator, "value": self.value}
        if self.case_sensitive is not None:
            out["case_sensitive"] = self.case_sensitive
        return out


class Group(Filter):
    """All (``AND``), any (``OR``) or none (``NOT``) of ``filters``."""

    __slots__ = ("operator", "filters", "case_sensitive")

    def __init__(self, operator: GroupOperator, filters: Iterable[Filter], case_sensitive: bool | None = None) -> None:
        self.operator: GroupOperator = operator
        self.filters = tuple(filters)
        self.case_sensitive = case_sensitive

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"operator": self.operator, "conditions": [f.to_dict() for f in self.filters]}
        if self.case_sensitive is not None:
            out["case_sensitive"] = self.case_sensitive
        return out


class RawFilter(Filter):
    """A filter given as a raw dict (any of the three spellings), so it can be combined with ``&``/``|``/``~``."""

    __slots__ = ("raw",)

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self.raw = dict(raw)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.raw)


def as_filter(value: Filter | Mapping[str, Any]) -> Filter:
    """An expression as is; a raw dict wrapped so it combines with expressions.

    >>> (as_filter({"status": "failed"}) | (F.num_points > 100)).to_dict()["conditions"][0]
    {'status': 'failed'}
    """
    if isinstance(value, Filter):
        return value
    if isinstance(value, Mapping):
        return RawFilter(value)
    raise TypeError(f"expected a filter expression or a dict, got {type(value).__name__}")


def filter_json(value: Filter | Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The JSON tree to send for ``filters=`` (``None`` stays ``None``: no filter)."""
    return None if value is None else as_filter(value).to_dict()


def _combine(operator: Literal["AND", "OR"], left: Filter, right: Filter) -> Filter:
    """``a & b & c`` becomes one ``AND`` group of three, not groups nested two by two."""
    parts: list[Filter] = []
    for side in (left, right):
        if isinstance(side, Group) and side.operator == operator and side.case_sensitive is None:
            parts.extend(side.filters)
        else:
            parts.append(side)
    return Group(operator, parts)


class Field:
    """One filterable (and sortable) field; comparisons and methods make :class:`Condition` s.

    >>> (F.num_points >= 100).to_dict()
    {'field': 'num_points', 'operator': 'gte', 'value': 100}
    >>> (F.error_message == None).to_dict()  # noqa: E711 - the spelling of "is null"
    {'field': 'error_message', 'operator': 'is_null', 'value': True}
    >>> F.created_at.after(datetime(2026, 1, 1, tzinfo=UTC)).to_dict()
    {'field': 'created_at', 'operator': 'gt', 'value': '2026-01-01T00:00:00Z'}
    >>> F.metric("silhouette_score").desc()
    SortSpec(field='metrics.silhouette_score', direction='desc')
    """

    __slots__ = ("name",)
    __hash__ = None  # type: ignore[assignment]  # == builds a condition, so fields are not hashable

    def __init__(self, name: str) -> None:
        if not isinstance(name, str) or not name:
            raise ValueError("a field name must be a non-empty string")
        self.name = name

    def __repr__(self) -> str:
        return f"Field({self.name!r})"

    def _cond(self, operator: str, value: Any, case_sensitive: bool | None = None) -> Condition:
        return Condition(self.name, operator, value, case_sensitive)

    # comparisons (``==`` / ``!=`` with None mean "is null" / "is not null", like the shorthand spelling)
    def __eq__(self, value: Any) -> Condition:  # type: ignore[override]
        return self.is_null() if value is None else self._cond("eq", value)

    def __ne__(self, value: Any) -> Condition:  # type: ignore[override]
        return self.is_null(False) if value is None else self._cond("ne", value)

    def __gt__(self, value: Any) -> Condition:
        return self._cond("gt", value)

    def __ge__(self, value: Any) -> Condition:
        return self._cond("gte", value)

    def __lt__(self, value: Any) -> Condition:
        return self._cond("lt", value)

    def __le__(self, value: Any) -> Condition:
        return self._cond("lte", value)

    def eq(self, value: Any, *, case_sensitive: bool | None = None) -> Condition:
        """Equal (text compares case-insensitively unless ``case_sensitive``)."""
        return self._cond("eq", value, case_sensitive)

    def ne(self, value: Any, *, case_sensitive: bool | None = None) -> Condition:
        """Not equal; a missing value counts as not equal."""
        return self._cond("ne", value, case_sensitive)

    def in_(self, values: Iterable[Any], *, case_sensitive: bool | None = None) -> Condition:
        """One of ``values``.

        >>> F.status.in_(["failed", "canceled"]).to_dict()
        {'field': 'status', 'operator': 'in', 'value': ['failed', 'canceled']}
        """
        return self._cond("in", _operands(values), case_sensitive)

    def not_in(self, values: Iterable[Any], *, case_sensitive: bool | None = None) -> Condition:
        """None of ``values``; a missing value counts as none of them."""
        return self._cond("nin", _operands(values), case_sensitive)

    def contains(self, text: str, *, case_sensitive: bool | None = None) -> Condition:
        """Text containing ``text`` (every character literal)."""
        return self._cond("contains", text, case_sensitive)

    def starts_with(self, text: str, *, case_sensitive: bool | None = None) -> Condition:
        return self._cond("starts_with", text, case_sensitive)

    def ends_with(self, text: str, *, case_sensitive: bool | None = None) -> Condition:
        return self._cond("ends_with", text, case_sensitive)

    def exists(self, present: bool = True) -> Condition:
        """Has a value (``present=False``: has none)."""
        return self._cond("exists", present)

    def is_null(self, null: bool = True) -> Condition:
        """Has no value (``null=False``: has one)."""
        return self._cond("is_null", null)

    def after(self, when: datetime | date | str) -> Condition:
        """Strictly later than ``when`` (a timestamp without zone is UTC)."""
        return self._cond("gt", when)

    def before(self, when: datetime | date | str) -> Condition:
        """Strictly earlier than ``when``."""
        return self._cond("lt", when)

    def since(self, when: datetime | date | str) -> Condition:
        """At or after ``when``."""
        return self._cond("gte", when)

    def between(self, low: Any, high: Any) -> Filter:
        """``low <= field <= high``.

        >>> [c["operator"] for c in F.num_clusters.between(2, 5).to_dict()["conditions"]]
        ['gte', 'lte']
        """
        return self._cond("gte", low) & self._cond("lte", high)

    def asc(self) -> SortSpec:
        """Sort ascending by this field (nulls last)."""
        return SortSpec(field=self.name, direction="asc")

    def desc(self) -> SortSpec:
        """Sort descending by this field (nulls last)."""
        return SortSpec(field=self.name, direction="desc")


class _Fields:
    """The fields of the execution history, plus constructors for any other field.

    >>> F.all(F.status == "completed", F.num_clusters > 2).to_dict()["operator"]
    'AND'
    >>> F.none(F.status == "failed").to_dict()["operator"]
    'NOT'
    """

    status = Field("status")
    created_at = Field("created_at")
    started_at = Field("started_at")
    completed_at = Field("completed_at")
    num_clusters = Field("num_clusters")
    num_points = Field("num_points")
    run_id = Field("run_id")
    run_name = Field("run_name")
    error_message = Field("error_message")
    algorithm = Field("algorithm")
    baseline_run_id = Field("baseline_run_id")
    trigger = Field("trigger")
    """What started the run: ``F.trigger == "api"``, ``F.trigger.starts_with("schedule:")``."""

    def __getattr__(self, name: str) -> Field:
        """Every declared measure (``models/measures.py``) is an attribute: ``F.silhouette_score``,
        ``F.noise_points``, ``F.duration`` (execution time, ms), ``F.queue_ms`` …"""
        for measure in MEASURES:
            if name in (measure.name, measure.field):
                return Field(measure.field)
        raise AttributeError(f"F has no field {name!r}; use F.field(name) for any other field")

    def __dir__(self) -> list[str]:
        return sorted(
            {*super().__dir__(), *(m.name for m in MEASURES), *(m.field for m in MEASURES if "." not in m.field)}
        )

    @staticmethod
    def field(name: str) -> Field:
        """Any field by name: ``F.field("cluster_name")``, ``F.field("distance")`` (run members) …"""
        return Field(name)

    @staticmethod
    def metric(name: str) -> Field:
        """A declared metric: ``F.metric("silhouette_score")`` is the field ``metrics.silhouette_score``.
        An undeclared name raises ValueError listing the declared ones (a typo fails here, not on the server)."""
        return Field(metric_measure(name).field)

    @staticmethod
    def metadata(key: str) -> Field:
        """A document metadata key (dots for nested keys): ``F.metadata("lang") == "en"``."""
        return Field(f"metadata.{key}")

    @staticmethod
    def config(path: str) -> Field:
        """A leaf of the run's effective configuration (``models/config_fields.py``):
        ``F.config("params.n_clusters") >= 5``, ``F.config("embedder") == "tfidf-svd"``. An undeclared
        leaf raises ValueError listing the accepted ones; an unknown parameter name is fine (it matches
        nothing, since other algorithms lack it).

        >>> (F.config("params.n_clusters") >= 5).to_dict()
        {'field': 'config.params.n_clusters', 'operator': 'gte', 'value': 5}
        """
        name = path if path.startswith(CONFIG_PREFIX) else CONFIG_PREFIX + path
        if config_kind(name) is None:
            raise ValueError(f"{path!r} is not a config field; accepted: {', '.join(config_field_names())}")
        return Field(name)

    @staticmethod
    def param(name: str) -> Field:
        """An algorithm parameter of the run: ``F.param("n_clusters")`` is ``F.config("params.n_clusters")``."""
        return _Fields.config(f"params.{name}")

    @staticmethod
    def all(*filters: Filter | Mapping[str, Any], case_sensitive: bool | None = None) -> Filter:
        """Every one of ``filters`` must hold (``case_sensitive`` applies to the text conditions inside)."""
        return Group("AND", [as_filter(f) for f in filters], case_sensitive)

    @staticmethod
    def any(*filters: Filter | Mapping[str, Any], case_sensitive: bool | None = None) -> Filter:
        """At least one of ``filters`` must hold."""
        return Group("OR", [as_filter(f) for f in filters], case_sensitive)

    @staticmethod
    def none(*filters: Filter | Mapping[str, Any], case_sensitive: bool | None = None) -> Filter:
        """None of ``filters`` may hold."""
        return Group("NOT", [as_filter(f) for f in filters], case_sensitive)


F = _Fields()
"""The filter builder: ``F.status == "failed"``, ``(F.metric("silhouette_score") > 0.5) & F.created_at.after(t)``."""

FilterLike = Filter | Mapping[str, Any]
"""What ``filters=`` accepts: an expression or a raw dict in any accepted spelling."""
