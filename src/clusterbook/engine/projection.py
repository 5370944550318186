"""The 2-D picture of a run: seeded PCA of a seeded sample of points, with the cluster means projected.

The dashboard draws at most ``PROJECTION_SAMPLE`` points, so only those are projected and stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.decomposition import PCA

from clusterbook.engine.geometry import sample_rows

PROJECTION_SAMPLE = 2_000


def empty_projection(total: int) -> dict[str, Any]:
    return {"points": [], "centroids": [], "sampled": 0, "total": total}


def project_2d(
    X: np.ndarray,
    labels: np.ndarray,
    means: np.ndarray,
    document_ids: Sequence[str],
    random_state: int = 0,
    sample: int = PROJECTION_SAMPLE,
) -> dict[str, Any]:
    """``{"points": [{document_id, x, y, cluster_id}], "centroids": [{cluster_id, x, y}], "sampled", "total"}``."""
    rows = sample_rows(len(X), sample, random_state)
    rows = np.arange(len(X)) if rows is None else rows
    pca = PCA(n_components=min(2, X.shape[1], len(rows)), random_state=random_state).fit(X[rows])
    points = _xy(pca.transform(X[rows]))
    centres = _xy(pca.transform(means)) if len(means) else np.zeros((0, 2))
    return {
        "points": [
            {
                "document_id": document_ids[r],
                "x": float(x),
                "y": float(y),
                "cluster_id": f"cl_{labels[r]}" if labels[r] >= 0 else None,
            }
            for r, (x, y) in zip(rows.tolist(), points.tolist(), strict=True)
        ],
        "centroids": [
            {"cluster_id": f"cl_{c}", "x": float(x), "y": float(y)} for c, (x, y) in enumerate(centres.tolist())
        ],
        "sampled": len(rows),
        "total": len(X),
    }


def _xy(coords: np.ndarray) -> np.ndarray:
    """Two columns, padding y with zeros for one-dimensional data; rounded to keep stored JSON small."""
    if coords.shape[1] < 2:
        coords = np.hstack([coords, np.zeros((len(coords), 2 - coords.shape[1]))])
    return np.round(coords.astype(np.float64), 6)
