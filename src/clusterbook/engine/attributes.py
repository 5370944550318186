"""The ``attribute_based`` algorithm: documents grouped by the values of chosen metadata attributes.

No vectors are needed to group; a document without an attribute (or with null) falls in that attribute's
"(missing)" group. Each group's label spells out its values, e.g. "topic=sports, year=2024".
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from clusterbook.engine.geometry import order_by_size

MISSING = "(missing)"


class AttributeGrouper:
    """Groups rows by the tuple of their ``attributes`` values. After ``fit``: ``labels_`` (ordered by size,
    like every algorithm's), ``names_`` (the label of group n) and ``keys_`` (group n's shown values,
    one per attribute: what hierarchical grouping nests by)."""

    def __init__(self, attributes: Sequence[str]):
        self.attributes = attributes

    def fit(self, metadata: Sequence[Mapping[str, Any] | None]) -> AttributeGrouper:
        groups: dict[tuple[str | None, ...], int] = {}
        names: list[str] = []
        keys: list[tuple[str, ...]] = []
        raw = np.empty(len(metadata), dtype=np.int64)
        for row, meta in enumerate(metadata):
            values = [(meta or {}).get(attr) for attr in self.attributes]
            key = tuple(None if v is None else json.dumps(v, sort_keys=True, default=str) for v in values)
            if key not in groups:
                groups[key] = len(groups)
                names.append(", ".join(f"{a}={_show(v)}" for a, v in zip(self.attributes, values, strict=True)))
                keys.append(tuple(_show(v) for v in values))
            raw[row] = groups[key]
        self.labels_ = order_by_size(raw)
        _, first_rows = np.unique(raw, return_index=True)  # group g first appears at first_rows[g]
        self.names_ = [""] * len(names)
        self.keys_: list[tuple[str, ...]] = [()] * len(names)
        for group, row in enumerate(first_rows):
            self.names_[self.labels_[row]] = names[group]
            self.keys_[self.labels_[row]] = keys[group]
        return self


def _show(value: Any) -> str:
    if value is None:
        return MISSING
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
