"""The ``config.*`` fields of a run, declared once: what the history filters, sorts and groups by.

A run's effective configuration (``config`` on the wire) is a JSON document; the history asks
questions of a few of its leaves. They are declared here, and everything else is derived: the
side table rows the store writes for each run (:func:`config_values`), the field names the filter
compiler accepts, the types a condition's operand is checked against, the ``group_by`` choices,
the SDK's ``F.config(...)`` and the dashboard's column chooser (over ``GET …/executions/config-fields``).

* ``config.algorithm``, ``config.embedder``, ``config.runner`` (``local``/``ray``), ``config.ray_node_id``
  (text), ``config.random_state``, ``config.sample_size`` (integers): a value of another type in a
  condition is a 422 naming its path.
* ``config.params.<name>``: any parameter of the run's algorithm. The operand's type picks the
  comparison, as for document metadata: numbers compare as numbers, strings as strings (ignoring
  case unless ``case_sensitive``), ``true``/``false`` with booleans. An unknown name is not an
  error (another algorithm lacks it): it matches nothing, and counts as "not equal" for ``ne``.
  An object, list or other operand type is a 422 naming the path.

Values that are JSON null, lists or objects are not stored, so they behave as a missing key.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import Field

from clusterbook.folding import fold
from clusterbook.models.base import WireModel

ConfigKind = Literal["string", "integer", "any"]
PREFIX = "config."
PARAMS_PREFIX = "config.params."
PARAM_NAME_PATTERN = re.compile(r"[A-Za-z0-9_\-]{1,100}")
"""A parameter name: what the algorithm catalogue uses (letters, digits, ``_``), plus ``-``; ≤ 100 chars."""
MAX_TEXT_LENGTH = 500
"""A longer text value is not indexed (no parameter of the catalogue comes close)."""


@dataclass(frozen=True)
class ConfigField:
    """One top-level leaf of the effective configuration."""

    key: str
    kind: ConfigKind
    label: str

    @property
    def field(self) -> str:
        return PREFIX + self.key


CONFIG_FIELDS: tuple[ConfigField, ...] = (
    ConfigField("algorithm", "string", "Algorithm"),
    ConfigField("embedder", "string", "Embedder"),
    ConfigField("random_state", "integer", "Random state"),
    ConfigField("sample_size", "integer", "Sample size"),
    ConfigField("runner", "string", "Runner"),
    ConfigField("ray_node_id", "string", "Ray node"),
)
CONFIG_FIELDS_BY_NAME = {f.field: f for f in CONFIG_FIELDS}


def config_kind(field: str) -> ConfigKind | None:
    """The kind of a ``config.*`` field name, or None when it is not one (malformed or unknown)."""
    declared = CONFIG_FIELDS_BY_NAME.get(field)
    if declared is not None:
        return declared.kind
    if field.startswith(PARAMS_PREFIX) and PARAM_NAME_PATTERN.fullmatch(field[len(PARAMS_PREFIX) :]):
        return "any"
    return None


def stored_name(field: str) -> str:
    """The side table's ``name`` for a field: ``config.params.n_clusters`` → ``params.n_clusters``."""
    return field.removeprefix(PREFIX)


def config_field_names() -> list[str]:
    """The accepted ``config.*`` names, for error messages."""
    return [*CONFIG_FIELDS_BY_NAME, PARAMS_PREFIX + "<name>"]


def _leaf(value: Any) -> tuple[float | None, str | None, str | None] | None:
    """``(number, text, folded text)`` of one stored value, or None when it is not indexed."""
    if isinstance(value, bool):
        text = "true" if value else "false"
        return None, text, text
    if isinstance(value, int | float):
        try:
            number = float(value)
        except OverflowError:
            return None
        return (number, None, None) if math.isfinite(number) else None
    if isinstance(value, str) and len(value) <= MAX_TEXT_LENGTH and "\x00" not in value:
        return None, value, fold(value)
    return None


def config_values(config: Any) -> list[tuple[str, float | None, str | None, str | None]]:
    """The rows ``(name, number, text, folded text)`` a run's configuration is indexed by.

    Booleans are stored as the text ``true``/``false`` (a boolean operand compares with those);
    everything not declared above, and values that are null, lists or objects, are left out."""
    if not isinstance(config, dict):
        return []
    rows = []
    for declared in CONFIG_FIELDS:
        leaf = _leaf(config.get(declared.key))
        if leaf is not None:
            rows.append((declared.key, *leaf))
    params = config.get("params")
    if isinstance(params, dict):
        for name, value in params.items():
            if isinstance(name, str) and PARAM_NAME_PATTERN.fullmatch(name):
                leaf = _leaf(value)
                if leaf is not None:
                    rows.append((f"params.{name}", *leaf))
    return rows


MAX_LISTED_FIELDS = 200
"""Fields in a ``GET …/executions/config-fields`` answer: the most common ones are kept."""
MAX_SCANNED_RUNS = 50_000
"""Runs whose configuration ``GET …/executions/config-fields`` reads: the newest ones (bounded cost)."""
ValueType = Literal["string", "integer", "number", "boolean", "mixed"]


class ConfigFieldInfo(WireModel):
    """One ``config.*`` field of a cluster's runs: what to filter, group or show a column by."""

    field: str = Field(description="The name filters, group_by and the SDK's F.config(...) take.")
    label: str
    declared: bool = Field(description="One of the declared fields (typed), rather than an algorithm parameter.")
    value_type: ValueType = Field(
        description="Declared: its type. A parameter: number, string or boolean as its runs carry it "
        "(mixed when runs differ; numbers compare with numbers, strings with strings)."
    )
    run_count: int = Field(description="Runs (among those scanned) that carry a value.")


class ExecutionConfigFieldsResponse(WireModel):
    """The ``config.*`` fields present in a cluster's runs: the declared ones, then each parameter found."""

    results: list[ConfigFieldInfo]
    scanned_runs: int = Field(description=f"Runs read: the newest, at most {MAX_SCANNED_RUNS}.")
    complete: bool = Field(
        description=f"False when the history has more runs than were scanned, or more than {MAX_LISTED_FIELDS} "
        "parameters (the most common kept)."
    )
