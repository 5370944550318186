"""The clustering algorithms: name → scikit-learn estimator, sampled and reduced fitting, automatic k.

``Clusterer`` is the one estimator the pipeline fits. It refuses inputs beyond the algorithm's declared
size limit (``limits.py``, with the way out in the message), applies the declared ``pca_components``
reduction before a density fit (``reduction.py``) and the declared ``preprocessing`` steps (``preprocessing.py``)
to the rows it fits, fits on a seeded sample when ``sample_size`` asks for it and
assigns the other rows to the nearest cluster mean, and turns scikit-learn's data-dependent warnings
(convergence, disconnected graphs, …) into notes instead of letting them escape.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.cluster import (
    DBSCAN,
    HDBSCAN,
    OPTICS,
    AgglomerativeClustering,
    MeanShift,
    MiniBatchKMeans,
    SpectralClustering,
    estimate_bandwidth,
)
from sklearn.metrics import pairwise_distances, pairwise_distances_argmin, silhouette_score
from sklearn.mixture import GaussianMixture

from clusterbook.engine.geometry import cluster_means, order_by_size, sample_rows
from clusterbook.engine.kmeans import FastKMeans
from clusterbook.engine.knn_hdbscan import KnnHDBSCAN
from clusterbook.engine.labeling import truncate
from clusterbook.engine.limits import SAMPLE_ALTERNATIVES, check_run_size, estimate_run
from clusterbook.engine.params import validate_algorithm_params
from clusterbook.engine.preprocessing import Preprocessor, StepRecord, validate_preprocessing
from clusterbook.engine.reduction import Reduction, reduce_dimensions
from clusterbook.errors import ClusteringFailed

AUTO_K_SAMPLE = 2_000  # rows scored per candidate k when kmeans has n_clusters='auto'
_OUR_PROBLEM = (FutureWarning, DeprecationWarning, PendingDeprecationWarning)  # these are about our code

Factory = Callable[[dict[str, Any], int, np.ndarray], Any]


def _kmeans(p: dict[str, Any], seed: int, X: np.ndarray) -> Any:
    return FastKMeans(
        n_clusters=p["n_clusters"],
        init=p["init"],
        n_init=p["n_init"],
        max_iter=p["max_iter"],
        tol=p["tol"],
        random_state=seed,
    )


def _minibatch_kmeans(p: dict[str, Any], seed: int, X: np.ndarray) -> Any:
    return MiniBatchKMeans(
        n_clusters=p["n_clusters"],
        batch_size=p["batch_size"],
        init=p["init"],
        n_init=p["n_init"],
        max_iter=p["max_iter"],
        max_no_improvement=p["max_no_improvement"],
        random_state=seed,
    )


def _dbscan(p: dict[str, Any], seed: int, X: np.ndarray) -> Any:
    return DBSCAN(eps=p["eps"], min_samples=p["min_samples"], metric=p["metric"])


def _hdbscan(p: dict[str, Any], seed: int, X: np.ndarray) -> Any:
    if p["implementation"] == "knn":
        if p["metric"] != "euclidean":
            raise ClusteringFailed(
                f"algorithm_params.implementation 'knn' measures euclidean distances, got metric {p['metric']!r}; "
                "set metric 'euclidean' or use implementation 'sklearn'"
            )
        return KnnHDBSCAN(
            min_cluster_size=p["min_cluster_size"],
            min_samples=p["min_samples"],
            max_cluster_size=p["max_cluster_size"],
            cluster_selection_epsilon=p["cluster_selection_epsilon"],
            cluster_selection_method=p["cluster_selection_method"],
            allow_single_cluster=p["allow_single_cluster"],
            random_state=seed,
        )
    if p["implementation"] == "hdbscan":
        return _hdbscan_package().HDBSCAN(
            min_cluster_size=p["min_cluster_size"],
            min_samples=p["min_samples"],
            max_cluster_size=p["max_cluster_size"] or 0,  # the package's "no limit"
            cluster_selection_epsilon=p["cluster_selection_epsilon"],
            cluster_selection_method=p["cluster_selection_method"],
            metric=p["metric"],
            allow_single_cluster=p["allow_single_cluster"],
            core_dist_n_jobs=1,  # the run's thread budget, like every other fit
        )
    return HDBSCAN(
        min_cluster_size=p["min_cluster_size"],
        min_samples=p["min_samples"],
        max_cluster_size=p["max_cluster_size"],
        cluster_selection_epsilon=p["cluster_selection_epsilon"],
        cluster_selection_method=p["cluster_selection_method"],
        metric=p["metric"],
        allow_single_cluster=p["allow_single_cluster"],
        copy=True,  # never modify the caller's array (and silences the 1.9 default-change warning)
    )


def _hdbscan_package() -> Any:
    """The optional hdbscan package, imported on first use; the message names the extra when it is missing."""
    try:
        import hdbscan
    except ImportError as exc:
        raise ClusteringFailed(
            "algorithm_params.implementation 'hdbscan' needs the optional hdbscan package, which is not "
            "installed where this run computes: pip install 'clusterbook[hdbscan]', or use implementation "
            "'sklearn' (the default, always available)"
        ) from exc
    return hdbscan


def _agglomerative(p: dict[str, Any], seed: int, X: np.ndarray) -> Any:
    return AgglomerativeClustering(
        n_clusters=p["n_clusters"], linkage=p["linkage"], metric=p["metric"], distance_threshold=p["distance_threshold"]
    )


def _spectral(p: dict[str, Any], seed: int, X: np.ndarray) -> Any:
    return SpectralClustering(
        n_clusters=p["n_clusters"],
        affinity=p["affinity"],
        gamma=1.0 / (X.shape[1] * float(X.var()) or 1.0) if p["gamma"] == "scale" else p["gamma"],
        n_neighbors=min(p["n_neighbors"], X.shape[0] - 1),
        assign_labels=p["assign_labels"],
        n_init=p["n_init"],
        random_state=seed,
    )


def _gaussian_mixture(p: dict[str, Any], seed: int, X: np.ndarray) -> Any:
    return GaussianMixture(
        n_components=p["n_clusters"],
        covariance_type=p["covariance_type"],
        init_params=p["init_params"],
        max_iter=p["max_iter"],
        n_init=p["n_init"],
        tol=p["tol"],
        reg_covar=p["reg_covar"],
        random_state=seed,
    )


def _mean_shift(p: dict[str, Any], seed: int, X: np.ndarray) -> Any:
    bandwidth = p["bandwidth"]
    if bandwidth is None:
        # sklearn would estimate it from all N² pairs; a seeded sample of 1,000 rows is enough. The quantile
        # must cover 2+ neighbours (a point's nearest neighbour is itself), or tiny inputs get bandwidth 0.
        n_samples = min(len(X), 1000)
        quantile = min(1.0, max(p["quantile"], 2.5 / n_samples))
        bandwidth = estimate_bandwidth(X, quantile=quantile, n_samples=n_samples, random_state=seed)
        if not bandwidth > 0:
            raise ClusteringFailed(
                "mean_shift estimated a bandwidth of 0 (the documents' vectors are nearly identical); "
                "set algorithm_params.bandwidth or raise algorithm_params.quantile"
            )
    return MeanShift(
        bandwidth=bandwidth,
        bin_seeding=p["bin_seeding"],
        min_bin_freq=p["min_bin_freq"],
        cluster_all=p["cluster_all"],
        max_iter=p["max_iter"],
    )


def _optics(p: dict[str, Any], seed: int, X: np.ndarray) -> Any:
    return OPTICS(
        min_samples=p["min_samples"],
        max_eps=np.inf if p["max_eps"] is None else p["max_eps"],
        metric=p["metric"],
        cluster_method=p["cluster_method"],
        xi=p["xi"],
        eps=p["eps"],
        min_cluster_size=p["min_cluster_size"],
    )


FACTORIES: dict[str, Factory] = {
    "kmeans": _kmeans,
    "minibatch_kmeans": _minibatch_kmeans,
    "dbscan": _dbscan,
    "hdbscan": _hdbscan,
    "agglomerative": _agglomerative,
    "spectral": _spectral,
    "gaussian_mixture": _gaussian_mixture,
    "mean_shift": _mean_shift,
    "optics": _optics,
}
"""Every algorithm that clusters vectors; ``attribute_based`` groups metadata instead (``attributes.py``)."""


class Clusterer:
    """Fits one algorithm on vectors. After ``fit``: ``labels_`` (int32, -1 noise, ordered by size),
    ``params_`` (validated, defaults filled), ``preprocessing_`` and ``step_records_`` (the validated steps
    and what each did), ``n_fit_`` (rows the estimator saw), ``chosen_n_clusters_``
    (kmeans 'auto'), ``auto_k_scores_`` and ``notes_`` (scikit-learn's warnings about this data, kept for
    the run record). Warnings are captured with ``warnings.catch_warnings``, which is process-global:
    fit one Clusterer per process at a time (the runner runs the engine in a worker process)."""

    def __init__(
        self,
        algorithm: str,
        params: dict[str, Any],
        random_state: int = 0,
        sample_size: int | None = None,
        copy: bool = True,
        size_limit_factor: float = 1.0,
        preprocessing: tuple[dict[str, Any], ...] = (),
    ):
        self.algorithm = algorithm
        self.params = params
        self.random_state = random_state
        self.sample_size = sample_size
        self.copy = copy
        """False: the estimator may work on X in place (k-means centres it and restores it), saving a copy."""
        self.size_limit_factor = size_limit_factor
        """Scales the algorithm's declared size limit (``engine/limits.py``; ``CLUSTERBOOK_SIZE_LIMIT_FACTOR``)."""
        self.preprocessing = preprocessing
        """The declared steps (``preprocessing.py``) applied, in order, to the rows the estimator fits on."""

    def fit(self, X: np.ndarray) -> Clusterer:
        self.params_ = validate_algorithm_params(self.algorithm, self.params)  # ValidationFailed before any work
        self.preprocessing_ = validate_preprocessing(list(self.preprocessing), self.algorithm, self.params_)
        n = X.shape[0]
        fit_rows = sample_rows(n, self.sample_size, self.random_state)
        self.n_fit_ = n if fit_rows is None else len(fit_rows)
        self._check_size(n, X.shape[1])
        X_fit = X if fit_rows is None else X[fit_rows]
        params = dict(self.params_)
        self.chosen_n_clusters_: int | None = None
        self.auto_k_scores_: dict[int, float] = {}
        self.reduction_: Reduction | None = None
        X_model = X_fit
        if params.get("pca_components") is not None:  # the declared reduction: the fit alone sees it
            X_model, self.reduction_ = reduce_dimensions(X_fit, params["pca_components"], self.random_state)
        self.step_records_: list[StepRecord] = []
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            if self.preprocessing_:
                steps = Preprocessor(self.preprocessing_, self.random_state)
                X_model = steps.fit_transform(X_model)
                self.step_records_ = steps.records_
            if params.get("n_clusters") == "auto":
                params["n_clusters"] = self.chosen_n_clusters_ = self._choose_k(X_model, params)
            fit_labels = order_by_size(self._fit_predict(X_model, params))
        self.notes_ = self._keep_notes(caught)
        if fit_rows is None:
            self.labels_ = fit_labels
        else:
            self.labels_ = self._assign_rest(X, fit_rows, X_fit, fit_labels)
        return self

    def _check_size(self, n: int, d: int) -> None:
        """RunTooLarge beyond the algorithm's declared limit (the runner checks the same at submit)."""
        estimate = estimate_run(
            self.algorithm,
            self.params_,
            documents=n,
            dimensions=d,
            sample_size=self.sample_size,
            factor=self.size_limit_factor,
            preprocessing=self.preprocessing_,
        )
        check_run_size(estimate)
        k = self.params_.get("n_clusters")
        if isinstance(k, int) and k > self.n_fit_:
            if self.n_fit_ < n:
                raise ClusteringFailed(
                    f"n_clusters={k} is more than the {self.n_fit_} sampled documents (sample_size); "
                    "lower n_clusters or raise sample_size"
                )
            raise ClusteringFailed(f"n_clusters={k} is more than the {n} documents; lower n_clusters or add documents")

    def _fit_predict(self, X: np.ndarray, params: dict[str, Any]) -> np.ndarray:
        estimator = FACTORIES[self.algorithm](params, self.random_state, X)
        if not self.copy and isinstance(estimator, FastKMeans):
            estimator.copy_x = False
        try:
            return np.asarray(estimator.fit_predict(X))
        except (ValueError, np.linalg.LinAlgError) as exc:
            raise ClusteringFailed(
                f"{self.algorithm} could not cluster these {len(X):,} documents: {exc}. "
                "Adjust algorithm_params or choose another algorithm."
            ) from exc
        except MemoryError as exc:
            raise ClusteringFailed(
                f"{self.algorithm} ran out of memory on {len(X):,} documents; set sample_size or use "
                f"{SAMPLE_ALTERNATIVES}."
            ) from exc

    def _choose_k(self, X: np.ndarray, params: dict[str, Any]) -> int:
        """The k in [k_min, k_max] with the best silhouette on a seeded sample (ties: smaller k)."""
        rows = sample_rows(len(X), AUTO_K_SAMPLE, self.random_state)
        X_s = X if rows is None else X[rows]
        high = min(params["k_max"], len(X_s) - 1)
        if params["k_min"] > high:
            raise ClusteringFailed(
                f"n_clusters='auto' tries k from {params['k_min']} to N-1 and needs at least "
                f"{params['k_min'] + 1} documents, got {len(X_s)}; add documents or give n_clusters"
            )
        best_k: int = params["k_min"]
        best = -np.inf
        # One distance matrix serves every candidate's silhouette (computing it is most of the cost).
        distances = pairwise_distances(X_s)
        for k in range(params["k_min"], high + 1):
            labels = _kmeans({**params, "n_clusters": k}, self.random_state, X_s).fit_predict(X_s)
            if len(np.unique(labels)) > 1:
                score = float(silhouette_score(distances, labels, metric="precomputed"))
            else:
                score = -1.0
            self.auto_k_scores_[k] = round(score, 6)
            if score > best:
                best_k, best = k, score
        return best_k

    def _assign_rest(
        self, X: np.ndarray, fit_rows: np.ndarray, X_fit: np.ndarray, fit_labels: np.ndarray
    ) -> np.ndarray:
        """Rows outside the sample join the nearest mean of a sample cluster (never noise)."""
        labels = np.full(X.shape[0], -1, dtype=np.int32)
        labels[fit_rows] = fit_labels
        k = int(fit_labels.max()) + 1 if (fit_labels >= 0).any() else 0
        if k:
            rest = np.setdiff1d(np.arange(X.shape[0]), fit_rows, assume_unique=True)
            means = cluster_means(X_fit, fit_labels, k)
            labels[rest] = pairwise_distances_argmin(X[rest], means)
        return order_by_size(labels)

    @staticmethod
    def _keep_notes(caught: list[warnings.WarningMessage]) -> list[str]:
        notes: list[str] = []
        for w in caught:
            if issubclass(w.category, _OUR_PROBLEM):
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
            elif (text := truncate(f"{w.category.__name__}: {w.message}", 300)) not in notes:
                notes.append(text)
        return notes
