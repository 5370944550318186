"""The declared reduction step before density clustering: seeded PCA to ``pca_components`` dimensions.

Why: HDBSCAN, DBSCAN and OPTICS answer neighbourhood queries with space-partitioning trees, which stop
pruning in a few dozen dimensions; in 384 they degrade to brute force, and HDBSCAN at 100k × 384 ran
past 300 s. Embedding vectors of well-separated topics keep their structure in far fewer principal
components, so a run may opt in with ``algorithm_params.pca_components`` (never applied silently).

The PCA is fitted on a seeded sample of at most ``PCA_FIT_ROWS`` rows (randomized SVD, the run's seed)
and applied to every row in chunks, so it costs one pass over the data and bounded memory. Only the
fit sees the reduced vectors: distances, centroids and metrics stay in the original space, and the
pipeline says so in ``metrics.notes``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.decomposition import PCA

from clusterbook.engine.geometry import sample_rows

PCA_FIT_ROWS = 20_000
"""Rows the principal components are estimated from: plenty for 50 components, and a fixed cost."""
_CHUNK = 16_384
REDUCIBLE = ("hdbscan", "dbscan", "optics")
"""The algorithms that accept ``pca_components`` (the density algorithms, whose trees need few dimensions)."""


@dataclass(frozen=True)
class Reduction:
    """What the reduction did, for the run record: dimensions before and after, and the variance kept."""

    from_dims: int
    to_dims: int
    explained_variance: float

    def note(self) -> str:
        return (
            f"clustered after PCA from {self.from_dims} to {self.to_dims} dimensions (pca_components, "
            f"{self.explained_variance:.1%} of the variance kept); metrics, distances and centroids are "
            "computed in the original space"
        )

    def record(self) -> dict[str, float | int]:
        return {"from_dims": self.from_dims, "to_dims": self.to_dims, "explained_variance": self.explained_variance}


def reduce_dimensions(X: np.ndarray, components: int, random_state: int) -> tuple[np.ndarray, Reduction | None]:
    """X projected on its first ``components`` principal components (float32), or X itself (and None) when
    it has no more dimensions than that. Seeded: the same X and seed give the same array."""
    n, d = X.shape
    components = min(components, n)
    if components >= d:
        return X, None
    rows = sample_rows(n, PCA_FIT_ROWS, random_state)
    pca = PCA(n_components=components, svd_solver="randomized", random_state=random_state)
    pca.fit(X if rows is None else X[rows])
    reduced = np.empty((n, components), dtype=np.float32)
    mean = pca.mean_.astype(np.float32)
    basis = pca.components_.T.astype(np.float32)
    for start in range(0, n, _CHUNK):
        block = X[start : start + _CHUNK]
        np.matmul(block - mean, basis, out=reduced[start : start + len(block)])
    kept = round(float(pca.explained_variance_ratio_.sum()), 6)
    return reduced, Reduction(d, components, kept)
