"""How far two clusterings of the same documents agree, from their contingency table alone.

Runs are related through their memberships: the store counts, in the database, how many shared
documents fall in each (reference cluster, other cluster) pair — a k × k' table, never N × N — and
everything here is computed from that table:

- ``agreement_ari`` / ``agreement_ami``: scikit-learn's ``adjusted_rand_score`` and
  ``adjusted_mutual_info_score`` on the shared documents, noise as its own label. The label arrays are
  rebuilt from the table (one int32 per shared document: 4 MB per million), so the values are exactly
  scikit-learn's, not a re-derivation of them.
- a one-to-one matching of clusters by overlap (the Hungarian assignment, scipy's
  ``linear_sum_assignment`` maximising the summed overlap); noise is never matched to a cluster.
- ``jaccard`` of a matched pair: overlap ÷ union, both clusters counted over the shared documents only
  (documents only one run clustered say nothing about agreement).
- ``matched_fraction``: share of shared documents that stay in their matched cluster (a document that
  is noise in both runs stays); ``moved_documents``: the rest.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.metrics import adjusted_mutual_info_score, adjusted_rand_score

MIN_SHARED_DOCUMENTS = 2
"""Fewer shared documents than this and agreement is undefined (null, with the reason)."""


@dataclass(frozen=True)
class Contingency:
    """Counts of shared documents per (reference cluster, other cluster); ``None`` is noise.

    ``counts[i, j]`` is the number of documents in ``rows[i]`` of the reference run and ``cols[j]`` of
    the other run. Rows and columns with no shared document are simply absent.
    """

    rows: tuple[str | None, ...]
    cols: tuple[str | None, ...]
    counts: np.ndarray

    @classmethod
    def from_cells(cls, cells: list[tuple[str | None, str | None, int]]) -> Contingency:
        """The table of ``(reference cluster, other cluster, count)`` cells, as a GROUP BY returns them."""
        rows = tuple(sorted({r for r, _, _ in cells}, key=cluster_order))
        cols = tuple(sorted({c for _, c, _ in cells}, key=cluster_order))
        row_at = {r: i for i, r in enumerate(rows)}
        col_at = {c: j for j, c in enumerate(cols)}
        counts = np.zeros((len(rows), len(cols)), dtype=np.int64)
        for r, c, n in cells:
            counts[row_at[r], col_at[c]] += int(n)
        return cls(rows=rows, cols=cols, counts=counts)

    @property
    def shared_documents(self) -> int:
        return int(self.counts.sum())


@dataclass(frozen=True)
class Match:
    """A reference cluster and the other run's cluster it is matched to (``other`` None: unmatched)."""

    reference: str
    other: str | None
    overlap: int
    jaccard: float | None


@dataclass(frozen=True)
class Agreement:
    """The agreement of two runs over their shared documents; the scores are None below
    ``MIN_SHARED_DOCUMENTS`` with ``note`` saying why."""

    shared_documents: int
    ari: float | None
    ami: float | None
    matches: tuple[Match, ...]
    """One per reference cluster (noise excluded), in the reference's cluster order."""
    matched_fraction: float | None
    moved_documents: int | None
    note: str | None = None

    def scores(self) -> dict[str, float | int | None]:
        """The run's baseline measures, keyed by their declared names (``models/measures.py``)."""
        return {
            "agreement_ari": self.ari,
            "agreement_ami": self.ami,
            "matched_fraction": self.matched_fraction,
            "moved_documents": self.moved_documents,
        }

    def match_of(self, reference: str) -> Match | None:
        return next((m for m in self.matches if m.reference == reference), None)

    @property
    def other_to_reference(self) -> dict[str, str]:
        """Matched other-run cluster → its reference cluster."""
        return {m.other: m.reference for m in self.matches if m.other is not None}


def cluster_order(cluster_id: str | None) -> tuple[int, int, str]:
    """``cl_2`` before ``cl_10``; noise (None) last."""
    if cluster_id is None:
        return (1, 0, "")
    number = cluster_id.removeprefix("cl_")
    return (0, int(number), "") if number.isdigit() else (0, 1 << 62, cluster_id)


def labels_from(table: Contingency) -> tuple[np.ndarray, np.ndarray]:
    """Two label arrays with exactly the table's counts (row index, column index per document)."""
    flat = table.counts.ravel()
    cells = np.repeat(np.arange(flat.size, dtype=np.int64), flat)
    n_cols = max(len(table.cols), 1)
    return (cells // n_cols).astype(np.int32), (cells % n_cols).astype(np.int32)


def match_clusters(table: Contingency) -> tuple[Match, ...]:
    """The one-to-one matching maximising the summed overlap (noise on either side never matched)."""
    row_ids = [i for i, r in enumerate(table.rows) if r is not None]
    col_ids = [j for j, c in enumerate(table.cols) if c is not None]
    row_sizes = table.counts.sum(axis=1)
    col_sizes = table.counts.sum(axis=0)
    pairs: dict[int, int] = {}
    if row_ids and col_ids:
        overlaps = table.counts[np.ix_(row_ids, col_ids)]
        for a, b in zip(*linear_sum_assignment(overlaps, maximize=True), strict=True):
            if overlaps[a, b] > 0:
                pairs[row_ids[a]] = col_ids[b]
    matches = []
    for i in row_ids:
        reference = table.rows[i]
        assert reference is not None
        j = pairs.get(i)
        if j is None:
            matches.append(Match(reference=reference, other=None, overlap=0, jaccard=None))
            continue
        overlap = int(table.counts[i, j])
        union = int(row_sizes[i] + col_sizes[j]) - overlap
        matches.append(Match(reference=reference, other=table.cols[j], overlap=overlap, jaccard=overlap / union))
    return tuple(matches)


def agreement(table: Contingency) -> Agreement:
    """Scores, matching and movement of the other run against the reference run."""
    shared = table.shared_documents
    if shared < MIN_SHARED_DOCUMENTS:
        note = (
            "the runs share no document"
            if shared == 0
            else f"the runs share {shared} document; agreement needs at least {MIN_SHARED_DOCUMENTS}"
        )
        return Agreement(shared, None, None, (), None, None, note=note)
    reference_labels, other_labels = labels_from(table)
    ari = float(adjusted_rand_score(reference_labels, other_labels))
    ami = float(adjusted_mutual_info_score(reference_labels, other_labels))
    del reference_labels, other_labels
    matches = match_clusters(table)
    stayed = sum(m.overlap for m in matches)
    if None in table.rows and None in table.cols:  # noise in both runs stays noise
        stayed += int(table.counts[table.rows.index(None), table.cols.index(None)])
    return Agreement(
        shared_documents=shared,
        ari=ari,
        ami=ami,
        matches=matches,
        matched_fraction=stayed / shared,
        moved_documents=shared - stayed,
    )
