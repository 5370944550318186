"""What the engine hands back: plain dataclasses of numpy arrays, numbers, strings and dicts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class CentroidResult:
    """One cluster: ``cl_0`` is the largest, then by size descending (ties: first member first)."""

    cluster_id: str
    num_members: int
    label: str
    summary: str | None
    keywords: list[str]
    stability: float | None = None
    """Mean best Jaccard with the clusters of the re-clustered subsamples; None when not asked for."""
    representative_ids: list[str] = field(default_factory=list)
    """Its members nearest the centre (at most 5), nearest first."""


@dataclass
class EngineResult:
    """A finished run.

    ``labels`` index ``centroids`` (``labels == n`` ⇔ ``cl_n``; -1 is noise). ``distances`` are Euclidean
    distances to the own cluster's mean in the clustered (normalised) space, NaN for noise and when a run
    had no vector space at all (attribute grouping without vectors or texts). ``metric_notes`` says why a
    metric is None or how it was sampled.
    """

    labels: np.ndarray
    distances: np.ndarray
    centroids: list[CentroidResult]
    silhouette_score: float | None
    davies_bouldin_index: float | None
    calinski_harabasz_score: float | None
    metric_notes: dict[str, str]
    noise_points: int
    projection: dict[str, Any]
    llm_labeling_errors: list[str]
    effective_config: dict[str, Any]
    timings_ms: dict[str, float]
    stability: float | None = None
    """The mean of the centroids' stability (the declared metric); None when not asked for or not computable."""
    centers: np.ndarray | None = None
    """float32 (k × d): cluster n's mean in the clustered space, row n; None when the run had no vectors."""
    unassigned_ratio: float | None = None
    """Assign runs: the share of documents left unassigned (below the threshold); None for a full run."""
    hierarchy: dict[str, Any] | None = None
    """The tree over the clusters (``hierarchy.py``), when the run asked for one."""
    noise_ratio: float | None = None
    cluster_size_entropy: float | None = None
    largest_cluster_share: float | None = None
    degenerate: int | None = None
    reassigned_points: int | None = None
    """Noise points moved into a cluster by ``reassign_noise``; None when it was not asked for."""
