"""The field allow-list: which request fields exist, their columns, types and abilities.

Filters and sorts may only name fields registered here; everything else is rejected with the
accepted set. One registry per listable resource. A registry may also open a JSON column under a
prefix (``metadata.<key>``): any key of the allowed shape is a field there, typed by the value
compared with (see ``compiler.py``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import Column, ColumnElement, Table

from clusterbook.models.config_fields import PREFIX as CONFIG_PREFIX
from clusterbook.models.config_fields import ConfigKind, config_field_names, config_kind, stored_name
from clusterbook.models.executions import ExecutionStatus
from clusterbook.models.measures import MEASURES
from clusterbook.models.webhooks import WEBHOOK_EVENTS, DeliveryStatus
from clusterbook.store.folded import folded_column
from clusterbook.store.tables import clusters, collections, documents, executions, webhook_deliveries, webhooks

FieldKind = Literal["string", "enum", "datetime", "number", "integer", "json", "config"]
JSON_KEY_PATTERN = re.compile(r"[A-Za-z0-9_\-]+(?:\.[A-Za-z0-9_\-]+)*")
"""A key inside a JSON column: letters, digits, ``_`` and ``-``; dots step into nested objects."""
MAX_JSON_KEY_LENGTH = 256
JSON_KEY_RULE = "letters, digits, '_' and '-', with '.' between nested keys"


@dataclass(frozen=True)
class FieldSpec:
    """One filterable (and maybe sortable) field of a listing."""

    name: str
    column: Column[Any]
    kind: FieldKind
    nullable: bool
    sortable: bool = True
    enum_values: tuple[str, ...] = ()
    json_path: tuple[str, ...] = ()
    """For a ``json`` field: the keys leading to the value inside ``column``."""
    folded: ColumnElement[Any] | None = None
    """For ``string`` and ``json`` fields: the stored folded copy that case-insensitive conditions compare."""
    config_kind: ConfigKind | None = None
    """For a ``config`` field (``config.params.n_clusters``): its declared kind (``models/config_fields.py``);
    ``json_path`` then holds its name in ``execution_params``, and ``column`` the execution id it is keyed by."""


@dataclass(frozen=True)
class FieldRegistry:
    """The allow-list of one listing: fields by name (with aliases), the tie-breaker and the table."""

    table: Table
    tiebreaker: Column[Any]
    default_sort: str
    fields: dict[str, FieldSpec]
    aliases: dict[str, str] = field(default_factory=dict)
    search_columns: tuple[ColumnElement[Any], ...] = ()
    """Folded columns a search term must be a substring of (one of them), when ``full_text`` is False."""
    full_text: bool = False
    """True when the table has a dedicated substring index over ``search_text``."""
    json_prefixes: dict[str, Column[Any]] = field(default_factory=dict)
    """Dynamic fields: ``<prefix>.<key>`` names a (nested) key of a JSON column; filterable, not sortable."""
    indexed_sorts: frozenset[str] = frozenset({"created_at"})
    """Sorts an index of the migrations serves in order; a deep offset on any other sort is refused."""
    config_key: Column[Any] | None = None
    """Executions only: the id that ``execution_params`` rows point at; opens the ``config.*`` fields."""

    def resolve(self, name: str) -> FieldSpec | None:
        found = self.fields.get(self.aliases.get(name, name))
        if found is not None:
            return found
        if self.config_key is not None and name.startswith(CONFIG_PREFIX):
            kind = config_kind(name)
            if kind is None:
                return None
            return FieldSpec(name, self.config_key, "config", nullable=True, sortable=False,
                             json_path=(stored_name(name),), config_kind=kind)  # fmt: skip
        prefix, dot, key = name.partition(".")
        column = self.json_prefixes.get(prefix)
        if column is None or not dot or len(key) > MAX_JSON_KEY_LENGTH or not JSON_KEY_PATTERN.fullmatch(key):
            return None
        return FieldSpec(
            name, column, "json", nullable=True, sortable=False, json_path=tuple(key.split(".")),
            folded=folded_column(column),
        )  # fmt: skip

    def filterable_names(self) -> list[str]:
        config = config_field_names() if self.config_key is not None else []
        return [*self.fields, *(f"{prefix}.<key>" for prefix in self.json_prefixes), *config]

    def unknown_field_hint(self, name: str) -> str:
        """Why ``name`` is not a field, when it looks like a malformed dynamic one ('' otherwise)."""
        if self.config_key is not None and name.startswith(CONFIG_PREFIX):
            return (
                " (config fields are config.algorithm, config.embedder, config.random_state, config.sample_size "
                "and config.params.<name>, names of letters, digits, '_' and '-', at most 100 characters)"
            )
        prefix, dot, _ = name.partition(".")
        if dot and prefix in self.json_prefixes:
            return f" ({prefix} keys use {JSON_KEY_RULE}, at most {MAX_JSON_KEY_LENGTH} characters)"
        return ""

    def sortable_names(self) -> list[str]:
        return [name for name, spec in self.fields.items() if spec.sortable]


def _spec(name: str, column: Column[Any], kind: FieldKind, **kw: Any) -> FieldSpec:
    folded = folded_column(column) if kind == "string" else None
    return FieldSpec(name=name, column=column, kind=kind, nullable=bool(column.nullable), folded=folded, **kw)


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
            *(_spec(m.field, _e[m.column], m.kind) for m in MEASURES),
            _spec("run_id", _e.run_id, "string"),
            _spec("error_message", _e.error_message, "string"),
            _spec("algorithm", _e.algorithm, "string"),
            _spec("run_name", _e.run_name, "string"),
            _spec("baseline_run_id", _e.baseline_run_id, "string"),
            _spec("trigger", _e.trigger, "string"),
        )
    },
    aliases={alias: m.field for m in MEASURES for alias in m.aliases},
    full_text=True,
    indexed_sorts=frozenset({"created_at", "completed_at", "metrics.silhouette_score", "duration"}),
    config_key=_e.id,
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
    search_columns=(_c.cluster_id_folded, _c.cluster_name_folded, _c.description_folded),
)

_col = collections.c
COLLECTION_FIELDS = FieldRegistry(
    table=collections,
    tiebreaker=_col.collection_id,
    default_sort="created_at",
    fields={
        spec.name: spec
        for spec in (
            _spec("created_at", _col.created_at, "datetime"),
            _spec("updated_at", _col.updated_at, "datetime"),
            _spec("collection_id", _col.collection_id, "string"),
            _spec("collection_name", _col.collection_name, "string"),
            _spec("description", _col.description, "string"),
            _spec("vector_dimension", _col.vector_dimension, "integer"),
        )
    },
    search_columns=(_col.collection_id_folded, _col.collection_name_folded, _col.description_folded),
)

_d = documents.c
DOCUMENT_FIELDS = FieldRegistry(
    table=documents,
    tiebreaker=_d.document_id,
    default_sort="created_at",
    fields={
        spec.name: spec
        for spec in (
            _spec("created_at", _d.created_at, "datetime"),
            _spec("updated_at", _d.updated_at, "datetime"),
            _spec("document_id", _d.document_id, "string"),
        )
    },
    search_columns=(_d.text_folded,),
    json_prefixes={"metadata": _d.metadata},
    indexed_sorts=frozenset({"created_at", "document_id"}),
)
"""Documents of one collection; also the language of a cluster's document pre-filter."""

_w = webhooks.c
WEBHOOK_FIELDS = FieldRegistry(
    table=webhooks,
    tiebreaker=_w.webhook_id,
    default_sort="created_at",
    fields={spec.name: spec for spec in (_spec("created_at", _w.created_at, "datetime"),)},
)
"""A namespace's webhook endpoints (at most ``MAX_WEBHOOKS_PER_NAMESPACE``), newest first."""

_wd = webhook_deliveries.c
DELIVERY_FIELDS = FieldRegistry(
    table=webhook_deliveries,
    tiebreaker=_wd.delivery_id,
    default_sort="created_at",
    fields={
        spec.name: spec
        for spec in (
            _spec("created_at", _wd.created_at, "datetime"),
            _spec("status", _wd.status, "enum", enum_values=tuple(s.value for s in DeliveryStatus), sortable=False),
            _spec("event", _wd.event, "enum", enum_values=WEBHOOK_EVENTS, sortable=False),
        )
    },
)
"""One endpoint's delivery log, newest first (``ix_webhook_deliveries_log``), filtered by status or event."""
