"""k-means at full speed: float32 k-means++ seeding on a seeded sample, Lloyd on that sample, then Lloyd on all rows.

scikit-learn's ``KMeans`` spends most of a large fit seeding (k-means++ over every row, with distances
upcast to float64) and in Lloyd iterations from a rough start. Here seeding runs on ``SEED_SAMPLE`` rows
in float32 BLAS, Lloyd converges on the same sample first (cheap), and scikit-learn's Lloyd then
finishes on every row from those centres, usually in a few iterations. The final iterations run on the
full data to the same ``tol``, so quality matches a full fit (checked in tests and benchmarks).

Memory: with ``copy_x=False`` nothing of N × d is copied (scikit-learn centres X in place and restores
it, and the dataset's tolerance is computed in chunks instead of through ``np.var``'s full-size
temporary), so a 1M × 384 fit needs little beyond the vectors themselves.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.cluster import KMeans

SEED_SAMPLE = 20_000
"""Rows k-means++ seeds on and Lloyd warms up on; at least ``SEED_ROWS_PER_CLUSTER`` per cluster."""
SEED_ROWS_PER_CLUSTER = 50
_CHUNK_BYTES = 4 * 2**20  # float64 temporaries per step of the variance pass


def column_variance_mean(X: np.ndarray, chunk: int | None = None) -> float:
    """``np.var(X, axis=0).mean()`` in float64, read in chunks of rows (no temporary the size of X)."""
    n = X.shape[0]
    chunk = chunk or max(64, _CHUNK_BYTES // (8 * max(1, X.shape[1])))
    total = np.zeros(X.shape[1], dtype=np.float64)
    for start in range(0, n, chunk):
        total += X[start : start + chunk].sum(axis=0, dtype=np.float64)
    mean = total / n
    squares = np.zeros(X.shape[1], dtype=np.float64)
    for start in range(0, n, chunk):
        block = X[start : start + chunk].astype(np.float64) - mean
        squares += np.einsum("ij,ij->j", block, block)
    return float((squares / n).mean())


def kmeans_plusplus(X: np.ndarray, n_clusters: int, rng: np.random.Generator) -> np.ndarray:
    """Greedy k-means++ (as scikit-learn's: 2 + ln k candidates per step, keep the one lowering the
    potential most), with distances in X's dtype through one matrix product per step."""
    n = X.shape[0]
    trials = 2 + int(np.log(n_clusters))
    squared = np.einsum("ij,ij->i", X, X)
    centres = np.empty((n_clusters, X.shape[1]), dtype=X.dtype)
    first = int(rng.integers(n))
    centres[0] = X[first]
    closest = np.maximum(squared - 2 * (X @ X[first]) + squared[first], 0)
    for c in range(1, n_clusters):
        cumulative = np.cumsum(closest, dtype=np.float64)
        if cumulative[-1] <= 0:  # every row sits on a centre already: any row will do
            candidates = rng.integers(n, size=trials)
        else:
            candidates = np.minimum(np.searchsorted(cumulative, rng.random(trials) * cumulative[-1]), n - 1)
        to_candidates = squared[:, None] - 2 * (X @ X[candidates].T) + squared[candidates][None, :]
        np.maximum(to_candidates, 0, out=to_candidates)
        np.minimum(to_candidates, closest[:, None], out=to_candidates)
        best = int(np.argmin(to_candidates.sum(axis=0, dtype=np.float64)))
        closest = np.ascontiguousarray(to_candidates[:, best])
        centres[c] = X[candidates[best]]
    return centres


class _KMeansChunkedTolerance(KMeans):  # type: ignore[misc]  # scikit-learn ships no type hints
    """scikit-learn's KMeans whose dataset tolerance is computed in chunks: its own ``np.var(X, axis=0)``
    allocates a temporary as large as X (1.4 GiB at 1M × 384)."""

    def _check_params_vs_input(self, X: Any, default_n_init: Any = None) -> None:
        tol = float(getattr(self, "tol"))  # noqa: B009 - sklearn's attribute is untyped
        self.tol = 0.0  # sklearn skips the variance when tol is 0
        try:
            super()._check_params_vs_input(X)
        finally:
            self.tol = tol
        self._tol = column_variance_mean(X) * tol if tol else 0.0


class FastKMeans:
    """k-means with scikit-learn's parameters (``init`` 'k-means++' or 'random', ``n_init``, ``max_iter``,
    ``tol``) and results (``labels_``, ``cluster_centers_``, ``inertia_``, ``n_iter_``).

    ``copy_x=False`` lets the fit centre X in place and restore it (values may move by a rounding step);
    the pipeline passes it for arrays it owns. Same seed and same rows in the same order: same result.
    """

    def __init__(
        self,
        n_clusters: int = 8,
        *,
        init: str = "k-means++",
        n_init: int | str = "auto",
        max_iter: int = 300,
        tol: float = 1e-4,
        random_state: int = 0,
        copy_x: bool = True,
    ):
        self.n_clusters = n_clusters
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state
        self.copy_x = copy_x

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {name: getattr(self, name) for name in _PARAMS}

    def set_params(self, **params: Any) -> FastKMeans:
        for name, value in params.items():
            if name not in _PARAMS:
                raise ValueError(f"FastKMeans has no parameter {name!r}")
            setattr(self, name, value)
        return self

    def fit(self, X: np.ndarray) -> FastKMeans:
        X = np.asarray(X)
        if X.dtype not in (np.float32, np.float64) or not X.flags.c_contiguous:
            X = np.ascontiguousarray(X, dtype=np.float32)
            copy_x = False  # a copy of our own already
        else:
            copy_x = self.copy_x
        n, k = X.shape[0], self.n_clusters
        if n < k:
            raise ValueError(f"n_samples={n} should be >= n_clusters={k}.")
        n_init = self.n_init if self.n_init != "auto" else (1 if self.init == "k-means++" else 10)
        rng = np.random.default_rng(self.random_state)
        sample_size = max(SEED_SAMPLE, SEED_ROWS_PER_CLUSTER * k)
        best: KMeans | None = None
        for _ in range(int(n_init)):
            rows = None if n <= sample_size else np.sort(rng.choice(n, size=sample_size, replace=False))
            X_seed = X if rows is None else X[rows]
            if self.init == "k-means++":
                centres = kmeans_plusplus(X_seed, k, rng)
            else:
                centres = X_seed[np.sort(rng.choice(len(X_seed), size=k, replace=False))]
            if rows is not None:  # converge on the sample first: every full-data iteration costs n / sample as much
                centres = self._lloyd(X_seed, centres, copy_x=False).cluster_centers_.astype(X.dtype)
            fit = self._lloyd(X, centres, copy_x=copy_x)
            if best is None or fit.inertia_ < best.inertia_:
                best = fit
        assert best is not None
        self.labels_: np.ndarray = best.labels_
        self.cluster_centers_: np.ndarray = best.cluster_centers_
        self.inertia_ = float(best.inertia_)
        self.n_iter_ = int(best.n_iter_)
        return self

    def fit_predict(self, X: np.ndarray) -> np.ndarray:
        return self.fit(X).labels_

    def _lloyd(self, X: np.ndarray, centres: np.ndarray, *, copy_x: bool) -> KMeans:
        return _KMeansChunkedTolerance(
            n_clusters=self.n_clusters,
            init=centres,
            n_init=1,
            max_iter=self.max_iter,
            tol=self.tol,
            copy_x=copy_x,
            algorithm="lloyd",
        ).fit(X)


_PARAMS = ("n_clusters", "init", "n_init", "max_iter", "tol", "random_state", "copy_x")
