"""Diagnostics of a partition: is it usable, and which members stand for each cluster.

The internal metrics (``metrics.py``) score geometry and are undefined on exactly the partitions users most
need warning about — everything noise, one giant cluster, every cluster a single point. These diagnostics
are defined there too, from the label counts alone (O(N)):

* ``noise_ratio``: share of documents left as noise;
* ``cluster_size_entropy``: Shannon entropy of the cluster sizes over log k, 1 when every cluster is the
  same size, near 0 when one dominates (null below 2 clusters);
* ``largest_cluster_share``: share of all documents in the largest cluster;
* ``degenerate``: 1 when one cluster holds more than ``DEGENERATE_SHARE`` of the documents, every document
  is noise, or every cluster is a single document — with the reason in ``notes["degenerate"]``.

Also here: each cluster's ``representative_ids`` (its members nearest the centre) and ``reassign_noise``,
which gives noise points of a density fit to the nearest centre within a distance bound.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from sklearn.metrics import pairwise_distances_argmin_min

DEGENERATE_SHARE = 0.9
REPRESENTATIVES = 5
_CHUNK = 8_192


@dataclass
class Diagnostics:
    noise_ratio: float | None
    cluster_size_entropy: float | None
    largest_cluster_share: float | None
    degenerate: int | None
    notes: dict[str, str] = field(default_factory=dict)


def diagnose(labels: np.ndarray) -> Diagnostics:
    """The diagnostics of ``labels`` (0..k-1, -1 noise)."""
    n = len(labels)
    if n == 0:
        return Diagnostics(None, None, None, None, {"degenerate": "no documents"})
    members = labels[labels >= 0]
    sizes = np.bincount(members) if len(members) else np.zeros(0, dtype=np.int64)
    sizes = sizes[sizes > 0]
    k = len(sizes)
    noise_ratio = float((n - len(members)) / n)
    notes: dict[str, str] = {}
    entropy: float | None = None
    if k >= 2:
        p = sizes / sizes.sum()
        entropy = float(np.clip(-(p * np.log(p)).sum() / np.log(k), 0.0, 1.0))
    else:
        notes["cluster_size_entropy"] = f"{k} cluster{'' if k == 1 else 's'}; the size entropy needs at least 2"
    largest = float(sizes.max() / n) if k else 0.0
    reason = None
    if k == 0:
        reason = "every document is noise"
    elif largest > DEGENERATE_SHARE:
        reason = f"one cluster holds {largest:.1%} of the documents (more than {DEGENERATE_SHARE:.0%})"
    elif sizes.max() == 1:
        reason = f"every cluster is a single document ({k:,} clusters of 1)"
    if reason:
        notes["degenerate"] = reason + "; try other parameters or another algorithm"
    return Diagnostics(noise_ratio, entropy, largest, int(reason is not None), notes)


def representative_rows(
    labels: np.ndarray, distances: np.ndarray, k: int, per_cluster: int = REPRESENTATIVES
) -> list[list[int]]:
    """Per cluster 0..k-1, the rows of its members nearest its centre (at most ``per_cluster``, ties by row).
    Clusters without distances (no vector space) get their first members."""
    if k == 0:
        return []
    members = np.flatnonzero(labels >= 0)
    key = np.nan_to_num(distances[members].astype(np.float64), nan=np.inf)
    order = members[np.lexsort((members, key, labels[members]))]  # by cluster, then distance, then row
    starts = np.searchsorted(labels[order], np.arange(k))
    ends = np.append(starts[1:], len(order))
    return [order[s : min(e, s + per_cluster)].tolist() for s, e in zip(starts, ends, strict=True)]


def reassign_noise(X: np.ndarray, labels: np.ndarray, means: np.ndarray, max_distance: float) -> tuple[np.ndarray, int]:
    """Labels with each noise row given to its nearest mean when that is within ``max_distance`` (Euclidean),
    and how many moved. The means are the clusters' before any moved, so the order of rows does not matter."""
    noise = np.flatnonzero(labels < 0)
    if not len(noise) or not len(means):
        return labels, 0
    out = labels.copy()
    moved = 0
    for start in range(0, len(noise), _CHUNK):
        rows = noise[start : start + _CHUNK]
        nearest, dist = pairwise_distances_argmin_min(X[rows], means)
        close = dist <= max_distance
        out[rows[close]] = nearest[close]
        moved += int(close.sum())
    return out, moved
