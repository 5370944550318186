"""Exports, declared once: the formats, the request body, and the columns of each flat export.

A run export (``POST …/executions/export``) walks every run the listing body matches; its CSV and
Parquet columns are :data:`RUN_COLUMNS` (the run's facts, then one column per declared measure of
``models/measures.py``, then the error) plus the ``config.*`` fields the body asks for. The CLI's
CSV of ``executions list`` uses the same columns. A members export has :data:`MEMBER_COLUMNS` plus
the ``metadata.<key>`` fields asked for. Plain data and pydantic only: the SDK, the CLI and the
server all import it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import Field, field_validator

from clusterbook.models.config_fields import PARAMS_PREFIX, PREFIX, config_field_names, config_kind
from clusterbook.models.listing import ListRequestBase
from clusterbook.models.measures import MEASURES

ColumnKind = Literal["string", "integer", "number", "datetime", "json"]
"""``json``: a value of any JSON type (an algorithm parameter may be ``8`` in one run and ``"auto"``
in the next); CSV writes it as its JSON text unless it is a plain string or number, Parquet as JSON text."""

MAX_CONFIG_FIELDS = 32
"""``config_fields`` of a run export: columns beyond the declared ones, bounded like every input."""
MAX_METADATA_FIELDS = 32
"""``fields`` of a members export."""
METADATA_FIELD = re.compile(r"metadata\.[A-Za-z0-9_\-]{1,100}(\.[A-Za-z0-9_\-]{1,100}){0,7}")
"""``metadata.<key>[.<key>…]``: the shape document filters accept (``store/fields.py``), at most 8 deep."""


class ExportFormat(StrEnum):
    csv = "csv"
    ndjson = "ndjson"
    parquet = "parquet"


class MemberExportFormat(StrEnum):
    csv = "csv"
    parquet = "parquet"


MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "ndjson": "application/x-ndjson",
    "parquet": "application/vnd.apache.parquet",
}


@dataclass(frozen=True)
class ExportColumn:
    """One column of a flat export: its name (the CSV header) and the type Parquet keeps."""

    name: str
    kind: ColumnKind


def _measure_kind(kind: str) -> ColumnKind:
    return "integer" if kind == "integer" else "number"


RUN_COLUMNS: tuple[ExportColumn, ...] = (  # each name is also the run's storage column (store/exports.py reads them)
    ExportColumn("run_id", "string"),
    ExportColumn("run_name", "string"),
    ExportColumn("status", "string"),
    ExportColumn("algorithm", "string"),
    ExportColumn("created_at", "datetime"),
    ExportColumn("started_at", "datetime"),
    ExportColumn("completed_at", "datetime"),
    ExportColumn("num_points", "integer"),
    ExportColumn("num_clusters", "integer"),
    *(ExportColumn(m.name, _measure_kind(m.kind)) for m in MEASURES),
    ExportColumn("error_message", "string"),
    ExportColumn("trigger", "string"),
)
"""The run's facts, one column per declared measure (bare name: ``silhouette_score``, ``duration_ms``),
the error. Derived from ``MEASURES``, so a new measure is a new column everywhere."""

MEMBER_COLUMNS: tuple[ExportColumn, ...] = (
    ExportColumn("document_id", "string"),
    ExportColumn("cluster_id", "string"),
    ExportColumn("label", "string"),
    ExportColumn("distance", "number"),
)
"""Where each document landed: its cluster (empty for noise), that cluster's label, its distance to the centre."""


def config_column(field: str) -> ExportColumn:
    """The column of a ``config.*`` field: typed when declared, any JSON value for a parameter."""
    kind = config_kind(field)
    return ExportColumn(field, "json" if kind == "any" or kind is None else kind)


def run_columns(config_fields: list[str] | None = None) -> tuple[ExportColumn, ...]:
    return RUN_COLUMNS + tuple(config_column(f) for f in config_fields or ())


def member_columns(metadata_fields: list[str] | None = None) -> tuple[ExportColumn, ...]:
    return MEMBER_COLUMNS + tuple(ExportColumn(f, "json") for f in metadata_fields or ())


def config_value(config: dict[str, Any] | None, field: str) -> Any:
    """The value of ``config.algorithm`` / ``config.params.n_clusters`` in a run's configuration (None: absent)."""
    if not isinstance(config, dict):
        return None
    if field.startswith(PARAMS_PREFIX):
        params = config.get("params")
        return params.get(field[len(PARAMS_PREFIX) :]) if isinstance(params, dict) else None
    return config.get(field.removeprefix(PREFIX))


def csv_cell(value: Any) -> Any:
    """A value as a CSV cell: empty for null, ISO 8601 for timestamps, JSON for lists, objects and booleans."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bool | list | dict):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return value


def _check_unique(fields: list[str], name: str) -> list[str]:
    if len(set(fields)) != len(fields):
        repeated = next(f for f in fields if fields.count(f) > 1)
        raise ValueError(f"{name} names {repeated!r} twice; name each field once")
    return fields


class ExportExecutionsRequest(ListRequestBase):
    """Body of ``POST /v1/clusters/{cluster_id}/executions/export``: the listing's filters, sort and
    search (``{}`` exports the whole history, newest first), and the ``config.*`` columns to add."""

    config_fields: list[str] | None = Field(
        default=None,
        max_length=MAX_CONFIG_FIELDS,
        description=f"CSV and Parquet: up to {MAX_CONFIG_FIELDS} config.* fields to add as columns "
        "(config.algorithm, config.params.n_clusters …). NDJSON rows carry the whole config anyway.",
        examples=[["config.params.n_clusters", "config.random_state"]],
    )

    @field_validator("config_fields")
    @classmethod
    def _known_fields(cls, value: list[str] | None) -> list[str] | None:
        for field in value or ():
            if config_kind(field) is None:
                raise ValueError(f"cannot export {field!r}; accepted: {', '.join(config_field_names())}")
        return None if value is None else _check_unique(value, "config_fields")


def check_metadata_fields(fields: list[str]) -> list[str]:
    """``fields=`` of a members export: ``metadata.<key>`` names, bounded; ValueError says what is wrong."""
    if len(fields) > MAX_METADATA_FIELDS:
        raise ValueError(f"at most {MAX_METADATA_FIELDS} fields, not {len(fields)}")
    for field in fields:
        if not METADATA_FIELD.fullmatch(field):
            raise ValueError(
                f"cannot export {field[:120]!r}: fields are metadata.<key> (letters, digits, '_', '-'; dots step "
                "into nested objects, at most 8 deep), e.g. metadata.lang"
            )
    return _check_unique(fields, "fields")
