"""Vectors as the store keeps them: little-endian float32 bytes, every component finite.

A JSON number such as ``1e300`` is finite as a float64 but becomes infinity as float32; stored, it
would make every later run on the collection fail over a value the user never sent. So every path
in (JSON lists, base64, Arrow) converts here and refuses a component that is not a finite float32,
naming it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

VECTOR_DTYPE = np.dtype("<f4")
FLOAT32_MAX = float(np.finfo(np.float32).max)


def first_nonfinite(vector: np.ndarray) -> int | None:
    """Index of the first NaN or infinite component, or ``None``."""
    bad = np.flatnonzero(~np.isfinite(vector))
    return int(bad[0]) if bad.size else None


def nonfinite_message(original: float) -> str:
    if np.isnan(original):
        return "is NaN; every vector component must be a finite number"
    if np.isinf(original):
        return "is infinite; every vector component must be a finite number"
    return (
        f"is {original!r}, outside float32's range (±{FLOAT32_MAX:.7g}) in which vectors are stored; "
        "scale or normalise the vector"
    )


def float32_bytes(values: Sequence[float] | np.ndarray) -> tuple[bytes, int | None]:
    """The stored form of ``values`` and the index of the first component float32 cannot hold (or ``None``)."""
    with np.errstate(over="ignore", invalid="ignore"):
        vector = np.asarray(values, dtype=VECTOR_DTYPE)
    bad = first_nonfinite(vector)
    return vector.tobytes(), bad
