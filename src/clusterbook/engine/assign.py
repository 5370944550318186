"""Assign mode: place documents against a finished run's centres instead of clustering again.

``NearestCentre`` is the estimator (fitted on the centres, it assigns rows by cosine similarity to
the nearest one, leaving a row below the threshold unassigned); ``assign_documents`` wraps it into a
run's result: labels, distances, metrics over the assigned documents, the share drift from the
source run, the projection. Rows are handled in chunks of ``CHUNK`` on float32, so a million
documents against 50 centres need a few seconds and memory for one chunk of similarities; faiss
(``IndexFlatIP``, exact inner product) is used when installed, numpy's BLAS otherwise — both exact,
so the two give the same assignment (``tests/engine/test_assign.py``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from clusterbook.engine.geometry import cluster_means, distances_to_means
from clusterbook.engine.metrics import Metrics, cluster_metrics, unavailable
from clusterbook.engine.projection import empty_projection, project_2d
from clusterbook.errors import ClusteringFailed

CHUNK = 65_536
"""Rows per similarity block: 65,536 × 50 float32 similarities are 13 MB."""
BACKENDS = ("auto", "faiss", "numpy")


def faiss_available() -> bool:
    try:
        import faiss  # noqa: F401
    except ImportError:
        return False
    return True


def _norms(block: np.ndarray) -> np.ndarray:
    """Row norms in float64 (float32 squares of long vectors lose digits), as float32."""
    norms: np.ndarray = np.sqrt(np.einsum("ij,ij->i", block, block, dtype=np.float64)).astype(np.float32)
    return norms


class NearestCentre:
    """Nearest of fixed centres by cosine similarity, with a threshold below which a row is unassigned.

    ``fit(centres)`` keeps unit-length float32 copies; ``predict(X)`` returns labels (-1: below
    ``threshold``) and sets ``similarity_`` (each row's cosine similarity to its nearest centre) and
    ``distance_`` (its Euclidean distance to that centre, NaN when unassigned). One product per chunk
    gives both: the rows are not normalised (x·ĉ is largest where the cosine is), so no copy of X is made.
    ``backend``: "auto" (faiss when installed), "faiss" or "numpy"; ``backend_`` says which ran.
    """

    def __init__(self, threshold: float = 0.0, backend: str = "auto", chunk: int = CHUNK):
        self.threshold = threshold
        self.backend = backend
        self.chunk = chunk

    def fit(self, centres: np.ndarray) -> NearestCentre:
        if self.backend not in BACKENDS:
            raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got {self.backend!r}")
        if not 0.0 <= self.threshold <= 1.0:
            raise ValueError(f"threshold is a cosine similarity between 0 and 1, got {self.threshold!r}")
        centres = np.asarray(centres)
        if centres.ndim != 2 or len(centres) == 0:
            raise ValueError(f"centres must be a non-empty k × d array, got shape {centres.shape}")
        centres = np.asarray(centres, dtype=np.float32)
        self.centre_norms_ = _norms(centres)
        safe = np.where(self.centre_norms_ == 0, 1.0, self.centre_norms_).astype(np.float32)
        self.centres_ = np.ascontiguousarray(centres / safe[:, None])
        use_faiss = self.backend == "faiss" or (self.backend == "auto" and faiss_available())
        self.backend_ = "faiss" if use_faiss else "numpy"
        self.index_: Any = None
        if use_faiss:
            import faiss

            self.index_ = faiss.IndexFlatIP(self.centres_.shape[1])
            self.index_.add(self.centres_)
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        d = self.centres_.shape[1]
        if X.ndim != 2 or X.shape[1] != d:
            raise ValueError(f"rows must have the centres' {d} dimensions, got shape {X.shape}")
        labels = np.empty(len(X), dtype=np.int32)
        similarity = np.empty(len(X), dtype=np.float32)
        distance = np.empty(len(X), dtype=np.float32)
        for start in range(0, len(X), self.chunk):
            block = np.ascontiguousarray(X[start : start + self.chunk], dtype=np.float32)
            if self.index_ is not None:
                projected, best = self.index_.search(block, 1)  # x · ĉ, the largest
                best, projected = best[:, 0], projected[:, 0]
            else:
                scores = block @ self.centres_.T
                best = np.argmax(scores, axis=1)
                projected = scores[np.arange(len(block)), best]
            norms = _norms(block)
            rows = slice(start, start + len(block))
            labels[rows] = best
            similarity[rows] = np.where(norms > 0, projected / np.where(norms > 0, norms, 1), 0.0)
            # |x - c|² = |x|² + |c|² - 2 |c| (x · ĉ)
            centre_norms = self.centre_norms_[best]
            squared = norms.astype(np.float64) ** 2 + centre_norms.astype(np.float64) ** 2
            squared -= 2.0 * centre_norms * projected.astype(np.float64)
            distance[rows] = np.sqrt(np.maximum(squared, 0.0))
        unassigned = similarity < self.threshold
        labels[unassigned] = -1
        distance[unassigned] = np.nan
        self.similarity_ = similarity
        self.distance_ = distance
        return labels


@dataclass
class AssignResult:
    """An assign run's numbers: ``labels`` index the source run's clusters (-1: unassigned)."""

    labels: np.ndarray
    distances: np.ndarray
    similarity: np.ndarray
    sizes: np.ndarray
    metrics: Metrics
    unassigned_ratio: float | None
    share_drift: float | None
    """Total variation distance (0..1) between the source's cluster shares and this run's."""
    mean_similarity: float | None
    projection: dict[str, Any]
    backend: str
    timings_ms: dict[str, float] = field(default_factory=dict)


def share_drift(source_sizes: np.ndarray, sizes: np.ndarray) -> float | None:
    """Half the L1 distance between the two size distributions: 0 the same shares, 1 disjoint."""
    if source_sizes.sum() <= 0 or sizes.sum() <= 0:
        return None
    p = source_sizes / source_sizes.sum()
    q = sizes / sizes.sum()
    return float(0.5 * np.abs(p - q).sum())


def assign_documents(
    X: np.ndarray,
    centres: np.ndarray,
    source_sizes: np.ndarray,
    document_ids: list[str],
    *,
    threshold: float,
    random_state: int = 0,
    backend: str = "auto",
) -> AssignResult:
    """Assign every row of ``X`` (the clustered space of the source run: normalised when it was) to
    the nearest of ``centres`` (row n: the source's ``cl_<n>``)."""
    n, k = len(X), len(centres)
    if X.shape[1:] != centres.shape[1:]:
        raise ClusteringFailed(
            f"the documents have {X.shape[1]} dimensions but the source run's centres have {centres.shape[1]}; "
            "assign documents embedded like the source run's, or execute the cluster in full"
        )
    timings: dict[str, float] = {}
    start = time.perf_counter()
    estimator = NearestCentre(threshold, backend).fit(centres)
    labels = estimator.predict(X) if n else np.empty(0, dtype=np.int32)
    similarity = estimator.similarity_ if n else np.empty(0, dtype=np.float32)
    distances = estimator.distance_ if n else np.empty(0, dtype=np.float32)
    timings["assign"] = round((time.perf_counter() - start) * 1000, 3)
    assigned = labels >= 0
    sizes = np.bincount(labels[assigned], minlength=k)
    start = time.perf_counter()
    if not n:
        metrics = unavailable("no documents to assign")
    elif not assigned.any():
        metrics = unavailable("every document was left unassigned (below the assignment threshold)")
    else:
        means = cluster_means(X, labels, k)  # the assigned documents' own means, which the metrics are of
        metrics = cluster_metrics(X, labels, random_state, means=means, distances=distances_to_means(X, labels, means))
        if (~assigned).any():
            metrics.notes["unassigned"] = (
                f"metrics use the {int(assigned.sum()):,} assigned documents; "
                f"{int((~assigned).sum()):,} unassigned ones excluded"
            )
    timings["metrics"] = round((time.perf_counter() - start) * 1000, 3)
    start = time.perf_counter()
    projection = project_2d(X, labels, centres, document_ids, random_state) if n >= 2 else empty_projection(n)
    timings["project"] = round((time.perf_counter() - start) * 1000, 3)
    return AssignResult(
        labels=labels,
        distances=distances,
        similarity=similarity,
        sizes=sizes,
        metrics=metrics,
        unassigned_ratio=float((~assigned).mean()) if n else None,
        share_drift=share_drift(np.asarray(source_sizes, dtype=np.float64), sizes.astype(np.float64)),
        mean_similarity=float(similarity[assigned].mean()) if assigned.any() else None,
        projection=projection,
        backend=estimator.backend_,
        timings_ms=timings,
    )
