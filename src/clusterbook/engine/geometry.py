"""Shared array helpers: seeded row samples, size-ordered cluster numbering, cluster means and distances.

Cluster numbering is a contract (``cl_0`` is the largest cluster), so it is decided here once and every
other piece reads labels that are already ordered.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse


def sample_rows(n: int, size: int | None, random_state: int) -> np.ndarray | None:
    """Sorted indices of a seeded sample of ``size`` rows out of ``n``; None when no sampling is needed."""
    if size is None or size >= n:
        return None
    rng = np.random.default_rng(random_state)
    return np.sort(rng.choice(n, size=size, replace=False))


def order_by_size(labels: np.ndarray) -> np.ndarray:
    """Labels renumbered 0..k-1 by cluster size descending, ties by first member's row; -1 stays noise."""
    labels = np.asarray(labels)
    out = np.full(labels.shape[0], -1, dtype=np.int32)
    members = labels != -1
    if not members.any():
        return out
    values, first, counts = np.unique(labels[members], return_index=True, return_counts=True)
    first_row = np.flatnonzero(members)[first]
    order = np.lexsort((first_row, -counts))  # last key is primary: size desc, then first row
    rank = np.empty(len(values), dtype=np.int32)
    rank[order] = np.arange(len(values), dtype=np.int32)
    out[members] = rank[np.searchsorted(values, labels[members])]
    return out


def cluster_means(X: np.ndarray, labels: np.ndarray, n_clusters: int) -> np.ndarray:
    """Mean vector of each cluster 0..n_clusters-1 (noise excluded), via one sparse indicator product."""
    members = np.flatnonzero(labels >= 0)
    if n_clusters == 0:
        return np.zeros((0, X.shape[1]), dtype=X.dtype)
    # the indicator takes X's dtype: a float64 one would make scipy copy all of X to float64 first
    indicator = sparse.csr_matrix(
        (np.ones(len(members), dtype=X.dtype), (labels[members], members)), shape=(n_clusters, X.shape[0])
    )
    counts = np.bincount(labels[members], minlength=n_clusters)
    means: np.ndarray = np.asarray(indicator @ X) / np.maximum(counts, 1)[:, None].astype(X.dtype)
    return means


def distances_to_means(X: np.ndarray, labels: np.ndarray, means: np.ndarray, chunk: int = 4_096) -> np.ndarray:
    """Euclidean distance of each row to its own cluster's mean (float32), NaN for noise; chunked for memory."""
    out = np.full(X.shape[0], np.nan, dtype=np.float32)
    for start in range(0, X.shape[0], chunk):
        rows = slice(start, start + chunk)
        lab = labels[rows]
        keep = lab >= 0
        if keep.any():
            diff = X[rows][keep] - means[lab[keep]]
            out[start : start + chunk][keep] = np.linalg.norm(diff, axis=1)
    return out


def normalize_rows(X: np.ndarray, chunk: int = 4_096) -> None:
    """Scale every row of X to unit L2 norm in place (all-zero rows stay zero), as sklearn's ``normalize``."""
    for start in range(0, len(X), chunk):
        block = X[start : start + chunk]
        norms = np.sqrt(np.einsum("ij,ij->i", block, block, dtype=np.float64))
        norms[norms == 0] = 1.0
        block /= norms[:, None].astype(X.dtype)
