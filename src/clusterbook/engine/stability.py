"""Bootstrap stability of a run's clusters (Hennig 2007): how well each cluster comes back when
seeded subsamples of the documents are clustered again with the same algorithm and parameters.

For each resample a seeded subsample of ``fraction`` × N rows (drawn without replacement) is
clustered afresh. Each original cluster is compared, over the resample's rows only, with every
cluster of the resample: Jaccard = shared rows / rows in either. Its best match is its score for that
resample, and its stability is the mean over the resamples that hold any of its rows. Noise is no
cluster: an original cluster that the resample leaves entirely as noise scores 0 there, and the
run's own noise points are in no original cluster. The run's stability is the mean over clusters.

The resamples are independent tasks, run through a ``TaskMap`` (serial here; the runner's
processes, or later a distributed backend), and reproducible: resample ``i`` draws its rows from
``(random_state, i)`` and clusters with the run's ``random_state``, whatever executes it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from clusterbook.engine.algorithms import Clusterer
from clusterbook.engine.parallel import SerialMap, TaskMap
from clusterbook.errors import ClusteringFailed

MIN_RESAMPLES, MAX_RESAMPLES = 2, 50
MIN_FRACTION, MAX_FRACTION = 0.5, 0.95
MIN_SUBSAMPLE = 2


@dataclass(frozen=True)
class StabilityConfig:
    """How many subsamples to re-cluster and what share of the documents each holds (bounds above;
    the wire model checks them at submit, ``bootstrap_stability`` again)."""

    resamples: int = 5
    fraction: float = 0.8


@dataclass
class StabilityResult:
    """``per_cluster[c]`` is cluster ``c``'s stability (None when no resample held any of its rows);
    ``mean`` their mean over clusters; ``note`` says why ``mean`` is None, or what was fixed."""

    per_cluster: list[float | None]
    mean: float | None
    note: str | None = None
    resample_clusters: list[int] = field(default_factory=list)
    """How many clusters each resample found (for the run record)."""


@dataclass(frozen=True)
class _Fit:
    """What every resample task needs besides its rows (picklable; the vectors travel as ``shared``)."""

    algorithm: str
    params: dict[str, Any]
    random_state: int
    sample_size: int | None
    preprocessing: tuple[dict[str, Any], ...] = ()


def subsample_rows(n: int, fraction: float, random_state: int, index: int) -> np.ndarray:
    """The sorted rows of resample ``index``: seeded by (random_state, index), never by call order."""
    size = max(MIN_SUBSAMPLE, int(round(fraction * n)))
    rng = np.random.default_rng([random_state, index])
    return np.sort(rng.choice(n, size=min(size, n), replace=False))


def _recluster(X: np.ndarray, task: tuple[_Fit, np.ndarray]) -> np.ndarray | str:
    """One resample's labels (int32, -1 noise), or the reason it could not be clustered (a message
    travels between processes more safely than an exception with extra state)."""
    fit, rows = task
    sample_size = None if fit.sample_size is None else min(fit.sample_size, len(rows))
    try:
        clusterer = Clusterer(
            fit.algorithm, fit.params, fit.random_state, sample_size, preprocessing=fit.preprocessing
        ).fit(X[rows])
    except ClusteringFailed as exc:
        return exc.message
    return np.asarray(clusterer.labels_, dtype=np.int32)


def best_jaccard(original: np.ndarray, resampled: np.ndarray, k: int) -> np.ndarray:
    """For each original cluster 0..k-1: its best Jaccard with a cluster of ``resampled`` over these
    rows (NaN when none of its rows is here). Both arrays label the same rows; -1 is noise."""
    size_a = np.bincount(original[original >= 0], minlength=k)[:k]
    best = np.where(size_a > 0, 0.0, np.nan)
    k_r = int(resampled.max()) + 1 if len(resampled) and resampled.max() >= 0 else 0
    if k_r == 0:
        return best
    size_b = np.bincount(resampled[resampled >= 0], minlength=k_r)
    both = (original >= 0) & (resampled >= 0)
    shared = np.bincount(original[both] * k_r + resampled[both], minlength=k * k_r).reshape(k, k_r)
    union = size_a[:, None] + size_b[None, :] - shared
    with np.errstate(invalid="ignore", divide="ignore"):
        jaccard = np.where(union > 0, shared / np.maximum(union, 1), 0.0)
    present = size_a > 0
    best[present] = jaccard[present].max(axis=1)
    return best


def bootstrap_stability(
    X: np.ndarray,
    labels: np.ndarray,
    *,
    algorithm: str,
    params: dict[str, Any],
    random_state: int,
    config: StabilityConfig,
    sample_size: int | None = None,
    tasks: TaskMap | None = None,
    preprocessing: tuple[dict[str, Any], ...] = (),
) -> StabilityResult:
    """Score each cluster of ``labels`` (size-ordered, -1 noise) by re-clustering ``config.resamples``
    subsamples of ``X`` with ``algorithm``/``params`` (give the fitted k for n_clusters='auto', so every
    resample asks the same question)."""
    _check(config)
    k = int(labels.max()) + 1 if len(labels) and labels.max() >= 0 else 0
    if k == 0:
        return StabilityResult([], None, "every document is noise: there is no cluster to score")
    n = len(labels)
    fit = _Fit(algorithm, dict(params), random_state, sample_size, tuple(preprocessing))
    row_sets = [subsample_rows(n, config.fraction, random_state, i) for i in range(config.resamples)]
    outcomes: Sequence[np.ndarray | str] = (tasks or SerialMap()).map(
        _recluster, [(fit, rows) for rows in row_sets], shared=X
    )
    failures = [o for o in outcomes if isinstance(o, str)]
    if failures:
        return StabilityResult(
            [None] * k,
            None,
            f"{len(failures)} of {config.resamples} resamples could not be clustered ({failures[0]}); "
            "raise stability.fraction or lower the number of clusters",
        )
    scores = np.vstack(
        [best_jaccard(labels[rows], np.asarray(o), k) for rows, o in zip(row_sets, outcomes, strict=True)]
    )
    held = ~np.isnan(scores)
    per_cluster: list[float | None] = [
        float(scores[held[:, c], c].mean()) if held[:, c].any() else None for c in range(k)
    ]
    known = [s for s in per_cluster if s is not None]
    counted = [int(np.asarray(o).max()) + 1 if np.asarray(o).max() >= 0 else 0 for o in outcomes]
    return StabilityResult(per_cluster, float(np.mean(known)) if known else None, None, counted)


def _check(config: StabilityConfig) -> None:
    if not MIN_RESAMPLES <= config.resamples <= MAX_RESAMPLES:
        raise ClusteringFailed(
            f"stability.resamples must be {MIN_RESAMPLES} to {MAX_RESAMPLES}, got {config.resamples}"
        )
    if not MIN_FRACTION <= config.fraction <= MAX_FRACTION:
        raise ClusteringFailed(f"stability.fraction must be {MIN_FRACTION} to {MAX_FRACTION}, got {config.fraction}")
