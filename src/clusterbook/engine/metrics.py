"""Internal clustering metrics (silhouette, Davies-Bouldin, Calinski-Harabasz) with the reason when absent.

All three are computed on non-noise points only and equal scikit-learn's reference functions within
float tolerance (relative 1e-4; tests compare them). They are computed here rather than by scikit-learn
because at 100k+ points its versions cost more than the clustering:

- Davies-Bouldin and Calinski-Harabasz are exact formulas of the cluster means and each point's distance
  to its mean, which the pipeline has already: O(k²) once those are known, and no copy of X.
- Silhouette is quadratic, so above ``SILHOUETTE_SAMPLE_LIMIT`` points it is estimated on a seeded
  sample (the rows scikit-learn's ``silhouette_score(sample_size=…, random_state=seed)`` would pick),
  with distances in X's dtype (float32) through one matrix product per block of rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from clusterbook.engine.geometry import cluster_means, distances_to_means

# Silhouette is O(n²·d). At d=384 a 10,000-point sample cost 3.4 CPU-seconds (30% of the 11 CPU-s of a
# 100k-point, k=20 k-means fit), 5,000 points 0.8 CPU-s; the sampled estimate's standard error is ~0.003.
SILHOUETTE_SAMPLE_LIMIT = 5_000
METRIC_NAMES = ("silhouette_score", "davies_bouldin_index", "calinski_harabasz_score")
_BLOCK = 512  # sample rows per distance block of the silhouette (512 × 5,000 float32: 10 MB)


@dataclass
class Metrics:
    silhouette_score: float | None = None
    davies_bouldin_index: float | None = None
    calinski_harabasz_score: float | None = None
    notes: dict[str, str] = field(default_factory=dict)


def unavailable(reason: str) -> Metrics:
    """All three metrics None, each with ``reason``."""
    return Metrics(notes=dict.fromkeys(METRIC_NAMES, reason))


def cluster_metrics(
    X: np.ndarray,
    labels: np.ndarray,
    random_state: int = 0,
    sample_limit: int | None = None,
    *,
    means: np.ndarray | None = None,
    distances: np.ndarray | None = None,
) -> Metrics:
    """The three metrics of ``labels`` on ``X`` (noise rows excluded); None with a note when undefined.

    ``labels`` are 0..k-1 (-1 noise). ``means`` (k × d) and ``distances`` (each row's distance to its
    cluster's mean, NaN for noise) are computed when not given. ``sample_limit`` defaults to
    ``SILHOUETTE_SAMPLE_LIMIT`` (read at call time).
    """
    sample_limit = SILHOUETTE_SAMPLE_LIMIT if sample_limit is None else sample_limit
    members = labels >= 0
    n_members = int(members.sum())
    noise = len(labels) - n_members
    if n_members == 0:
        return unavailable("every document is noise; there are no clusters to score")
    sizes = np.bincount(labels[members])
    k = int((sizes > 0).sum())
    if k < 2:
        return unavailable(f"only 1 cluster{' besides noise' if noise else ''}; metrics need at least 2 clusters")
    if k >= n_members:
        return unavailable("every document is its own cluster; metrics need fewer clusters than documents")
    if means is None:
        means = cluster_means(X, labels, len(sizes))
    if distances is None:
        distances = distances_to_means(X, labels, means)
    result = Metrics()
    if noise:
        result.notes["noise"] = f"metrics use the {n_members:,} clustered points; {noise:,} noise points excluded"
    member_rows = None if not noise else np.flatnonzero(members)
    with np.errstate(all="ignore"):
        result.silhouette_score = _silhouette(X, labels, member_rows, random_state, sample_limit, result.notes)
        kept = sizes > 0
        means64, sizes_k = means[kept].astype(np.float64), sizes[kept]
        member_distances = distances[members].astype(np.float64)
        sums = np.bincount(labels[members], weights=member_distances, minlength=len(sizes))[kept]
        squares = np.bincount(labels[members], weights=member_distances**2, minlength=len(sizes))[kept]
        result.davies_bouldin_index = _finite(davies_bouldin(means64, sums / sizes_k))
        result.calinski_harabasz_score = _finite(calinski_harabasz(means64, sizes_k, float(squares.sum())))
    for name in METRIC_NAMES:
        if getattr(result, name) is None and name not in result.notes:
            result.notes[name] = "not a finite number on this data (clusters with identical centres or points)"
    return result


def davies_bouldin(means: np.ndarray, scatter: np.ndarray) -> float:
    """scikit-learn's ``davies_bouldin_score`` from the cluster means and each cluster's mean distance to its
    mean: the mean over clusters of the worst ``(s_i + s_j) / d(c_i, c_j)``."""
    centre_distances = np.sqrt(np.maximum(_squared_distances(means, means), 0))
    np.fill_diagonal(centre_distances, 0)  # rounding leaves tiny non-zeros; a centre is at 0 from itself
    if np.allclose(scatter, 0) or np.allclose(centre_distances, 0):
        return 0.0
    centre_distances[centre_distances == 0] = np.inf
    ratios = (scatter[:, None] + scatter[None, :]) / centre_distances
    return float(np.mean(np.max(ratios, axis=1)))


def calinski_harabasz(means: np.ndarray, sizes: np.ndarray, within: float) -> float:
    """scikit-learn's ``calinski_harabasz_score`` from the means, sizes and the sum of squared distances of
    points to their means: between-cluster over within-cluster dispersion, each per degree of freedom."""
    n, k = float(sizes.sum()), len(sizes)
    overall = (sizes[:, None] * means).sum(axis=0) / n
    between = float((sizes * ((means - overall) ** 2).sum(axis=1)).sum())
    return 1.0 if within == 0.0 else between * (n - k) / (within * (k - 1.0))


def silhouette_sample(n: int, sample_limit: int, random_state: int) -> np.ndarray | None:
    """The rows scikit-learn's ``silhouette_score(sample_size=sample_limit, random_state=random_state)``
    scores (in its order), or None when every row is scored."""
    if n <= sample_limit:
        return None
    return np.random.RandomState(random_state).permutation(n)[:sample_limit]


def silhouette(X: np.ndarray, labels: np.ndarray) -> float:
    """Mean silhouette of all rows of ``X`` (labels 0..k-1, no noise), as scikit-learn's ``silhouette_score``;
    a point alone in its cluster scores 0. Distances in X's dtype, one matrix product per block of rows."""
    values, codes = np.unique(labels, return_inverse=True)
    counts = np.bincount(codes).astype(np.float64)
    onehot = np.zeros((len(X), len(values)), dtype=X.dtype)
    onehot[np.arange(len(X)), codes] = 1
    squared = np.einsum("ij,ij->i", X, X)
    scores = np.empty(len(X), dtype=np.float64)
    for start in range(0, len(X), _BLOCK):
        rows = slice(start, start + _BLOCK)
        block = X[rows] @ X.T
        block *= -2
        block += squared[rows, None]
        block += squared[None, :]
        np.maximum(block, 0, out=block)
        np.sqrt(block, out=block)
        block[np.arange(block.shape[0]), np.arange(start, start + block.shape[0])] = 0  # exactly 0 to itself
        per_cluster = (block @ onehot).astype(np.float64)
        own = codes[rows]
        own_size = counts[own]
        inside = per_cluster[np.arange(len(own)), own] / np.maximum(own_size - 1, 1)
        per_cluster /= counts
        per_cluster[np.arange(len(own)), own] = np.inf
        nearest = per_cluster.min(axis=1)
        score = (nearest - inside) / np.maximum(inside, nearest)
        scores[rows] = np.where(own_size > 1, np.nan_to_num(score), 0.0)
    return float(scores.mean())


def _silhouette(
    X: np.ndarray,
    labels: np.ndarray,
    member_rows: np.ndarray | None,
    random_state: int,
    sample_limit: int,
    notes: dict[str, str],
) -> float | None:
    """Silhouette of the members; above ``sample_limit`` of them on a seeded sample (scikit-learn's rows)."""
    n = len(labels) if member_rows is None else len(member_rows)
    picked = silhouette_sample(n, sample_limit, random_state)
    rows = member_rows if picked is None or member_rows is None else member_rows[picked]
    rows = picked if member_rows is None else rows
    X_s = X if rows is None else X[rows]
    labels_s = labels if rows is None else labels[rows]
    if picked is not None:
        if len(np.unique(labels_s)) < 2:
            notes["silhouette_score"] = (
                f"the silhouette sample of {sample_limit:,} points is unusable: it holds a single cluster"
            )
            return None
        notes["silhouette_score"] = f"silhouette sampled on {sample_limit:,} of {n:,} points (seed {random_state})"
    if X_s.dtype not in (np.float32, np.float64):
        X_s = X_s.astype(np.float64)
    # Distances do not change under translation; centred coordinates lose less to float32 rounding.
    return _finite(silhouette(X_s - X_s.mean(axis=0), labels_s))


def _squared_distances(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    squared: np.ndarray = np.einsum("ij,ij->i", A, A)[:, None] - 2 * (A @ B.T) + np.einsum("ij,ij->i", B, B)[None, :]
    return squared


def _finite(value: float) -> float | None:
    value = float(value)
    return value if np.isfinite(value) else None
