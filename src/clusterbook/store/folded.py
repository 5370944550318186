"""The stored folded copies of text: which column folds which, and the one helper every write uses.

A column of ``tables.py`` whose ``info`` names ``folds`` holds the fold (``clusterbook.folding``)
of that source column, or, for a JSON source, the same document with its string values folded.
Case-insensitive conditions and searches compare these columns with folded operands, so no
database function folds anything at query time.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

from sqlalchemy import JSON, Column, Table

from clusterbook.folding import fold_json, fold_optional


@cache
def folded_pairs(table: Table) -> dict[str, Column[Any]]:
    """Source column name → its folded column, for one table."""
    return {col.info["folds"]: col for col in table.columns if "folds" in col.info}


def folded_column(column: Column[Any]) -> Column[Any]:
    """The folded copy of ``column``; KeyError when it has none (a field matched case-insensitively
    must have one, which the field registries check when they are built)."""
    table = column.table
    assert isinstance(table, Table)
    return folded_pairs(table)[column.name]


def fold_cell(source: Column[Any], value: Any) -> Any:
    return fold_json(value) if isinstance(source.type, JSON) else fold_optional(value)


def with_folded(table: Table, values: Mapping[str, Any]) -> dict[str, Any]:
    """``values`` (an INSERT row or UPDATE set) plus the folded copy of every source it sets."""
    row = dict(values)
    for source, folded in folded_pairs(table).items():
        if source in row:
            row[folded.name] = fold_cell(table.c[source], row[source])
    return row
