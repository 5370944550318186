"""The field allow-list: which request fields exist, their columns, types and abilities.

Filters and sorts may only name fields registered here; everything else is rejected with the
accepted set. One registry per listable resource.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import Column, Table

from clusterbook.models.executions import ExecutionStatus
from clusterbook.store.tables import clusters, executions

FieldKind = Literal["string", "enum", "datetime", "number", "integer"]


@dataclass(frozen=True)
class FieldSpec:
    """One filterable (and maybe sortable) field of a listing."""

    name: str
    column: Column[Any]
    kind: FieldKind
    nullable: bool
    sortable: bool = True
    enum_values: tuple[str, ...] = ()


@dataclass(frozen=True)
class FieldRegistry:
    """The allow-list of one listing: fields by name (with aliases), the tie-breaker and the table."""

    table: Table
    tiebreaker: Column[Any]
    default_sort: str
    fields: dict[str, FieldSpec]
    aliases: dict[str, str] = field(default_factory=dict)
    search_columns: tuple[Column[Any], ...] = ()
    full_text: bool = False
    """True when the table has a dedicated substring index over ``search_text``."""

    def resolve(self, name: str) -> FieldSpec | None:
        return self.fields.get(self.aliases.get(name, name))

    def filterable_names(self) -> list[str]:
        return list(self.fields)

    def sortable_names(self) -> list[str]:
        return [name for name, spec in self.fields.items() if spec.sortable]


def _spec(name: str, column: Column[Any], kind: FieldKind, **kw: Any) -> FieldSpec:
    return FieldSpec(name=name, column=column, kind=kind, nullable=bool(column.nullable), **kw)


_e = executions.c
EXECUTION_FIELDS = FieldRegistry(
    table=executions,
    tiebreaker=_e.run_id,
    default_sort="created_at",
    fields={
        spec.name: spec
        for spec in (
            _spec("created_at", _e.created_at, "datetime"),
            _spec("completed_at", _e.completed_at, "datetime"),
            _spec("started_at", _e.started_at, "datetime"),
            _spec("status", _e.status, "enum", enum_values=tuple(s.value for s in ExecutionStatus)),
            _spec("num_clusters", _e.num_clusters, "integer"),
            _spec("num_points", _e.num_points, "integer"),
            _spec("metrics.silhouette_score", _e.silhouette_score, "number"),
            _spec("metrics.davies_bouldin_index", _e.davies_bouldin_index, "number"),
            _spec("metrics.calinski_harabasz_score", _e.calinski_harabasz_score, "number"),
            _spec("duration", _e.duration_ms, "number"),
            _spec("run_id", _e.run_id, "string"),
            _spec("error_message", _e.error_message, "string"),
            _spec("algorithm", _e.algorithm, "string"),
            _spec("run_name", _e.run_name, "string"),
        )
    },
    aliases={
        "duration_ms": "duration",
        "silhouette_score": "metrics.silhouette_score",
        "davies_bouldin_index": "metrics.davies_bouldin_index",
        "calinski_harabasz_score": "metrics.calinski_harabasz_score",
    },
    full_text=True,
)

_c = clusters.c
CLUSTER_FIELDS = FieldRegistry(
    table=clusters,
    tiebreaker=_c.cluster_id,
    default_sort="created_at",
    fields={
        spec.name: spec
        for spec in (
            _spec("created_at", _c.created_at, "datetime"),
            _spec("updated_at", _c.updated_at, "datetime"),
            _spec("cluster_id", _c.cluster_id, "string"),
            _spec("cluster_name", _c.cluster_name, "string"),
            _spec("cluster_type", _c.cluster_type, "enum", enum_values=("vector", "attribute")),
            _spec("description", _c.description, "string"),
        )
    },
    search_columns=(_c.cluster_id, _c.cluster_name, _c.description),
)
