"""HDBSCAN over the k-nearest-neighbour graph: ``algorithm_params.implementation: "knn"``.

Why: exact HDBSCAN needs every point's core distance and the minimum spanning tree of the complete
mutual-reachability graph. Its KD-tree answers both fast in a handful of dimensions, but after PCA to 50
it no longer prunes: scikit-learn's and the hdbscan package's fits of 100k × 50 take minutes (the package
fitted 20k × 50 in ~10 s and grows near n²). The spanning tree of a density-based clustering runs almost
entirely along short edges, so this implementation keeps only each point's ``k`` nearest neighbours
(``k`` = max(min_samples, 16)): core distances are exact when the neighbours are, the tree is the minimum
spanning tree of the kNN graph, and the graph's separate components (one per well-separated blob, typically)
are joined by their shortest bridges, found Borůvka-style on a seeded sample of each component. The tree then
goes through scikit-learn's own HDBSCAN (``metric="precomputed"`` on the sparse graph), so the condensed
tree, the cluster selection and every parameter mean exactly what they mean for the default implementation.

Neighbours come from faiss (``clusterbook[assign]``, imported on first use): exact (``IndexFlatL2``) up to
``EXACT_ROWS`` rows, then an inverted-file index (``IndexIVFFlat``; a list per 256 rows, trained on a seeded
sample, 1/16 of them probed — recall above 0.99 on the benchmark blobs), single-threaded and seeded, so the same
rows and seed give the same labels. Without faiss the neighbours are scikit-learn's exact brute-force ones
(slower, same answers up to ties). Quality against scikit-learn's exact HDBSCAN on the same reduced array is
checked in ``tests/engine/test_knn_hdbscan.py`` and printed by ``benchmarks/bench_hdbscan.py``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse.csgraph import connected_components
from sklearn.cluster import HDBSCAN
from sklearn.neighbors import NearestNeighbors

from clusterbook.engine.geometry import sample_rows

MIN_NEIGHBOURS = 16
"""Neighbours kept per point at least (more when min_samples asks for more)."""
EXACT_ROWS = 20_000
"""Up to this many rows the neighbours are exact (a flat search is cheap there)."""
ROWS_PER_LIST = 256
"""Beyond ``EXACT_ROWS``: one inverted list per this many rows (390 lists at 100k)."""
PROBED_SHARE = 16
"""A query searches 1/16 of the lists (at least 4): ~6% of the rows, the true neighbours of clustered data."""
BRIDGE_SAMPLE = 4_000
"""Rows (over all components) the bridges between the graph's components are searched among."""
_FLOOR = 1e-12  # a distance of exactly 0 (duplicate rows) would vanish from a sparse matrix
_CHUNK = 4_096


class KnnHDBSCAN:
    """scikit-learn-style HDBSCAN estimator over the kNN graph (euclidean). After ``fit``: ``labels_``,
    ``n_neighbors_``, ``n_components_`` (of the kNN graph before bridging) and ``backend_`` (faiss or sklearn)."""

    def __init__(
        self,
        min_cluster_size: int = 5,
        min_samples: int | None = None,
        max_cluster_size: int | None = None,
        cluster_selection_epsilon: float = 0.0,
        cluster_selection_method: str = "eom",
        allow_single_cluster: bool = False,
        random_state: int = 0,
    ):
        self.min_cluster_size = min_cluster_size
        self.min_samples = min_samples
        self.max_cluster_size = max_cluster_size
        self.cluster_selection_epsilon = cluster_selection_epsilon
        self.cluster_selection_method = cluster_selection_method
        self.allow_single_cluster = allow_single_cluster
        self.random_state = random_state

    def fit_predict(self, X: np.ndarray) -> np.ndarray:
        return self.fit(X).labels_

    def fit(self, X: np.ndarray) -> KnnHDBSCAN:
        X = np.ascontiguousarray(X, dtype=np.float32)
        n = X.shape[0]
        min_samples = self.min_samples or self.min_cluster_size
        if n <= min_samples:
            raise ValueError(f"min_samples ({min_samples}) must be less than the {n} documents fitted")
        k = min(n, max(min_samples, MIN_NEIGHBOURS) + 1)  # +1: a point is its own nearest neighbour
        distances, neighbours = self._neighbours(X, k)
        graph = _symmetric_graph(distances, neighbours, n)
        self.n_neighbors_ = k - 1
        self.n_components_, component = connected_components(graph, directed=False)
        if self.n_components_ > 1:
            graph = _bridge(graph, X, component, self.n_components_, self.random_state)
        # The graph holds no self-distances, so the core distance (scikit-learn counts the point itself
        # among min_samples) is the (min_samples - 1)-th stored neighbour.
        model = HDBSCAN(
            min_cluster_size=self.min_cluster_size,
            min_samples=max(1, min_samples - 1),
            max_cluster_size=self.max_cluster_size,
            cluster_selection_epsilon=self.cluster_selection_epsilon,
            cluster_selection_method=self.cluster_selection_method,
            allow_single_cluster=self.allow_single_cluster,
            metric="precomputed",
            copy=False,
        )
        self.labels_ = np.asarray(model.fit_predict(graph), dtype=np.int64)
        return self

    def _neighbours(self, X: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        try:
            import faiss
        except ImportError:
            self.backend_ = "sklearn"
            nn = NearestNeighbors(n_neighbors=k, algorithm="brute").fit(X)
            distances, neighbours = nn.kneighbors(X)
            return distances.astype(np.float32), neighbours
        self.backend_ = "faiss"
        faiss.omp_set_num_threads(1)  # the run's thread budget; single-threaded search is also deterministic
        n, d = X.shape
        exact = faiss.IndexFlatL2(d)
        if n <= EXACT_ROWS:
            exact.add(X)
            squared, neighbours = exact.search(X, k)
        else:
            nlist = min(4_096, max(16, n // ROWS_PER_LIST))
            index = faiss.IndexIVFFlat(exact, d, nlist)
            index.cp.seed = self.random_state
            train = sample_rows(n, 64 * nlist, self.random_state)
            index.train(X if train is None else X[train])
            index.add(X)
            index.nprobe = max(4, nlist // PROBED_SHARE)
            squared, neighbours = index.search(X, k)
            short = np.flatnonzero((neighbours < 0).any(axis=1))  # lists held fewer than k points: search exactly
            if len(short):
                flat = faiss.IndexFlatL2(d)
                flat.add(X)
                squared[short], neighbours[short] = flat.search(X[short], k)
        return np.sqrt(np.maximum(squared, 0.0)), neighbours


def _symmetric_graph(distances: np.ndarray, neighbours: np.ndarray, n: int) -> csr_matrix:
    rows = np.repeat(np.arange(n), neighbours.shape[1])
    cols = neighbours.ravel()
    keep = cols != rows
    data = np.maximum(distances.ravel()[keep], _FLOOR)
    graph = coo_matrix((data, (rows[keep], cols[keep])), shape=(n, n)).tocsr()
    graph.sum_duplicates()
    return graph.maximum(graph.T).tocsr()


def _bridge(graph: csr_matrix, X: np.ndarray, component: np.ndarray, m: int, seed: int) -> csr_matrix:
    """The graph plus the shortest edges joining its ``m`` components, found Borůvka-style (each round joins
    every group to its nearest other group) among a seeded sample of each component."""
    rng = np.random.default_rng(seed)
    per = max(1, BRIDGE_SAMPLE // m)
    picked = []
    for c in range(m):
        members = np.flatnonzero(component == c)
        picked.append(members if len(members) <= per else np.sort(rng.choice(members, per, replace=False)))
    rows = np.concatenate(picked)
    S = X[rows]
    norms = np.einsum("ij,ij->i", S, S)
    group = component[rows].copy()  # components merged so far, on the sample
    edges: list[tuple[int, int, float]] = []
    while len(np.unique(group)) > 1:
        best_d = np.full(len(rows), np.inf, dtype=np.float64)
        best_j = np.zeros(len(rows), dtype=np.int64)
        for start in range(0, len(rows), _CHUNK):
            stop = min(start + _CHUNK, len(rows))
            sq = norms[start:stop, None] + norms[None, :] - 2.0 * (S[start:stop] @ S.T)
            sq[group[start:stop, None] == group[None, :]] = np.inf
            j = np.argmin(sq, axis=1)
            best_j[start:stop] = j
            best_d[start:stop] = sq[np.arange(stop - start), j]
        merged = False
        for g in np.unique(group):
            inside = np.flatnonzero(group == g)
            if not len(inside):  # merged into another group earlier in this round
                continue
            i = inside[np.argmin(best_d[inside])]
            j = best_j[i]
            if group[j] == group[i]:  # joined earlier in this round
                continue
            edges.append((int(rows[i]), int(rows[j]), math.sqrt(max(float(best_d[i]), 0.0))))
            group[group == group[j]] = group[i]
            merged = True
        if not merged:  # cannot happen while two groups remain; a guard against looping forever
            break
    i, j, d = (np.array(v) for v in zip(*edges, strict=True))
    data = np.maximum(d, _FLOOR)
    bridges = coo_matrix((np.concatenate([data, data]), (np.concatenate([i, j]), np.concatenate([j, i]))), graph.shape)
    return graph.maximum(bridges.tocsr()).tocsr()


def describe(model: Any) -> str:
    """The run's note for a knn fit: neighbours kept, components bridged, where the neighbours came from."""
    return (
        f"hdbscan over the {model.n_neighbors_}-nearest-neighbour graph ({model.backend_} neighbours"
        f"{', approximate' if model.backend_ == 'faiss' and len(model.labels_) > EXACT_ROWS else ''}); "
        f"{model.n_components_} graph component(s) joined by their shortest sampled bridges"
    )
