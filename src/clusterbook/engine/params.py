"""The accepted parameters of every algorithm, declared once, and their validation.

Each algorithm has a table of ``ParamSpec``s (type, range, default). ``validate_algorithm_params`` checks
a request against that table before anything is fitted, fills defaults, and answers every problem at
once with a message naming the parameter, the accepted range and the value given — the API shows it
verbatim. ``random_state`` is accepted by every algorithm but never filled: the run's seed is
``RunConfig.random_state`` (the caller fills it from ``params.get("random_state", 0)``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Any, Literal

from clusterbook.errors import ErrorLocation, ValidationFailed

ALGORITHMS: tuple[str, ...] = (
    "kmeans",
    "minibatch_kmeans",
    "dbscan",
    "hdbscan",
    "agglomerative",
    "spectral",
    "gaussian_mixture",
    "mean_shift",
    "optics",
    "attribute_based",
)

MAX_CLUSTERS = 1000
MAX_SEED = 2**32 - 1
_NO_DEFAULT = object()  # a parameter that is checked when given but never filled in


@dataclass(frozen=True)
class ParamSpec:
    """One parameter: its kind, inclusive range (``low_open`` makes the lower bound exclusive), and extras.

    ``also`` lists literal values accepted besides the range, such as ``"auto"`` or ``None``.
    """

    name: str
    kind: Literal["int", "float", "choice", "bool"]
    default: Any = _NO_DEFAULT
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    choices: tuple[str, ...] = ()
    also: tuple[Any, ...] = ()
    meaning: str = ""
    """One line saying what the parameter changes, for the catalogue (``GET /v1/algorithms``) and the form."""

    def describe(self) -> str:
        """The accepted values in words, e.g. "an integer from 2 to 1000 or 'auto'"."""
        if self.kind == "bool":
            text = "true or false"
        elif self.kind == "choice":
            text = "one of " + ", ".join(repr(c) for c in self.choices)
        else:
            noun = "an integer" if self.kind == "int" else "a number"
            text = noun + self._range_words()
        extras = [_show(v) for v in self.also]
        return " or ".join([text, *extras])

    def _range_words(self) -> str:
        low, high = _num(self.low), _num(self.high)
        if self.low is not None and self.high is not None and not self.low_open and not self.high_open:
            return f" from {low} to {high}"
        parts = []
        if self.low is not None:
            parts.append(f"greater than {low}" if self.low_open else f"of at least {low}")
        if self.high is not None:
            parts.append(f"less than {high}" if self.high_open else f"at most {high}")
        return (" " + " and ".join(parts)) if parts else ""

    def clean(self, value: Any) -> Any:
        """The value in canonical form (int, float, str, bool or an ``also`` literal); ValueError if not accepted."""
        if any(value is a or (isinstance(a, str) and value == a) for a in self.also):
            return value
        if self.kind == "bool":
            if isinstance(value, bool):
                return value
        elif self.kind == "choice":
            if isinstance(value, str) and value in self.choices:
                return value
        elif self.kind == "int":
            if isinstance(value, Integral) and not isinstance(value, bool) and self._in_range(int(value)):
                return int(value)
        elif (
            isinstance(value, Real)
            and not isinstance(value, bool)
            and math.isfinite(float(value))
            and self._in_range(float(value))
        ):
            return float(value)
        raise ValueError(f"must be {self.describe()}, got {_show(value)}")

    def _in_range(self, v: float) -> bool:
        if self.low is not None and (v <= self.low if self.low_open else v < self.low):
            return False
        return not (self.high is not None and (v >= self.high if self.high_open else v > self.high))


def _num(v: float | None) -> str:
    return "" if v is None else (str(int(v)) if float(v).is_integer() else repr(v))


def _show(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _int(
    name: str, default: Any, low: int, high: int | None = None, also: tuple[Any, ...] = (), *, meaning: str
) -> ParamSpec:
    return ParamSpec(name, "int", default, low=low, high=high, also=also, meaning=meaning)


def _float(name: str, default: Any, low: float | None = 0.0, high: float | None = None, **kw: Any) -> ParamSpec:
    return ParamSpec(name, "float", default, low=low, high=high, **kw)


def _choice(name: str, default: str, *choices: str, meaning: str) -> ParamSpec:
    return ParamSpec(name, "choice", default, choices=choices, meaning=meaning)


def _bool(name: str, default: bool, *, meaning: str) -> ParamSpec:
    return ParamSpec(name, "bool", default, meaning=meaning)


_N_CLUSTERS = _int("n_clusters", 8, 2, MAX_CLUSTERS, meaning="How many clusters to find.")
_MAX_ITER = _int("max_iter", 300, 1, 10_000, meaning="Most iterations of the fit before it stops unconverged.")
_N_INIT_AUTO = _int(
    "n_init", "auto", 1, 100, also=("auto",), meaning="Seeded restarts; the best one is kept ('auto': 1 for k-means++)."
)
_INIT = _choice(
    "init", "k-means++", "k-means++", "random", meaning="How the first centres are picked: spread out, or at random."
)
_SEED = _int(
    "random_state", _NO_DEFAULT, 0, MAX_SEED, also=(None,), meaning="The run's seed; the same seed gives the same run."
)
_MIN_SAMPLES = "Neighbours a point needs within reach to be a core point; higher leaves more noise."
# The declared reduction step (engine/reduction.py): a seeded PCA before a density fit; opt-in, never implied.
_PCA = _int(
    "pca_components",
    None,
    2,
    4096,
    also=(None,),
    meaning="Fit on this many principal components (seeded PCA); metrics stay in the original space.",
)
_DENSITY_METRIC = "How distance between two documents is measured."

ALGORITHM_PARAMS: dict[str, tuple[ParamSpec, ...]] = {
    "kmeans": (
        _int(
            "n_clusters",
            8,
            2,
            MAX_CLUSTERS,
            also=("auto",),
            meaning="How many clusters to find; 'auto' picks the k in k_min..k_max with the best silhouette.",
        ),
        _int("k_min", 2, 2, MAX_CLUSTERS, meaning="Smallest k tried when n_clusters is 'auto'."),
        _int("k_max", 20, 2, MAX_CLUSTERS, meaning="Largest k tried when n_clusters is 'auto'."),
        _INIT,
        _N_INIT_AUTO,
        _MAX_ITER,
        _float("tol", 1e-4, 0.0, 1.0, meaning="Centre movement below which the fit counts as converged."),
    ),
    "minibatch_kmeans": (
        _N_CLUSTERS,
        _int("batch_size", 1024, 1, 1_000_000, meaning="Documents per mini-batch update; larger is steadier."),
        _INIT,
        _N_INIT_AUTO,
        _int("max_iter", 100, 1, 10_000, meaning="Most passes over the data."),
        _int(
            "max_no_improvement",
            10,
            1,
            10_000,
            also=(None,),
            meaning="Stop after this many batches without improvement (null: never stop early).",
        ),
    ),
    "dbscan": (
        _float("eps", 0.5, low_open=True, meaning="Radius of a neighbourhood; larger merges more documents."),
        _int("min_samples", 5, 1, 1_000_000, meaning=_MIN_SAMPLES),
        _choice("metric", "euclidean", "euclidean", "manhattan", "cosine", meaning=_DENSITY_METRIC),
        _PCA,
    ),
    "hdbscan": (
        _int("min_cluster_size", 5, 2, 1_000_000, meaning="Smallest group that counts as a cluster, not noise."),
        _int(
            "min_samples",
            None,
            1,
            1_000_000,
            also=(None,),
            meaning="How conservative the density estimate is (null: min_cluster_size); higher, more noise.",
        ),
        _int(
            "max_cluster_size",
            None,
            2,
            10_000_000,
            also=(None,),
            meaning="Split clusters larger than this (null: no limit).",
        ),
        _float(
            "cluster_selection_epsilon", 0.0, meaning="Merge clusters closer than this distance (0: keep them all)."
        ),
        _choice(
            "cluster_selection_method",
            "eom",
            "eom",
            "leaf",
            meaning="'eom' keeps the most persistent clusters, 'leaf' the finest ones.",
        ),
        _choice("metric", "euclidean", "euclidean", "manhattan", meaning=_DENSITY_METRIC),
        _bool("allow_single_cluster", False, meaning="Allow a result of one cluster (plus noise)."),
        _PCA,
        # 'hdbscan': the optional hdbscan package (clusterbook[hdbscan]), whose Borůvka KD-tree is much faster
        # in few dimensions; 'knn': engine/knn_hdbscan.py, near-linear where trees stop pruning (50 dimensions);
        # scikit-learn's HDBSCAN is the plain path and always available.
        _choice(
            "implementation",
            "sklearn",
            "sklearn",
            "hdbscan",
            "knn",
            meaning="scikit-learn's HDBSCAN; the hdbscan package (clusterbook[hdbscan]); or 'knn': HDBSCAN over "
            "the nearest-neighbour graph (faiss when installed), for 100k+ documents in 50 dimensions.",
        ),
    ),
    "agglomerative": (
        _int("n_clusters", 8, 2, MAX_CLUSTERS, also=(None,), meaning="How many clusters to cut the tree into."),
        _choice(
            "linkage",
            "ward",
            "ward",
            "complete",
            "average",
            "single",
            meaning="How the distance between two groups is measured when merging.",
        ),
        _choice("metric", "euclidean", "euclidean", "manhattan", "cosine", meaning=_DENSITY_METRIC),
        _float(
            "distance_threshold",
            None,
            low_open=True,
            also=(None,),
            meaning="Cut the tree at this merge distance instead of at n_clusters.",
        ),
    ),
    "spectral": (
        _N_CLUSTERS,
        _choice(
            "affinity",
            "rbf",
            "rbf",
            "nearest_neighbors",
            meaning="The similarity graph: a Gaussian kernel, or each document's nearest neighbours.",
        ),
        # 'scale' = 1 / (d · X.var()), as SVC does: 1.0 on unit vectors, and no disconnected graph (and
        # minutes in ARPACK/LOBPCG) when normalize_features is off and the features are large.
        _float(
            "gamma",
            "scale",
            low_open=True,
            also=("scale",),
            meaning="Width of the Gaussian kernel ('scale': 1 / (dimensions × variance)).",
        ),
        _int("n_neighbors", 10, 2, 10_000, meaning="Neighbours per document in the nearest_neighbors graph."),
        _choice(
            "assign_labels",
            "kmeans",
            "kmeans",
            "discretize",
            "cluster_qr",
            meaning="How clusters are read from the spectral embedding.",
        ),
        _int("n_init", 10, 1, 100, meaning="Seeded restarts of the k-means label assignment."),
    ),
    "gaussian_mixture": (
        _int("n_clusters", 8, 2, MAX_CLUSTERS, meaning="How many Gaussian components (clusters) to fit."),
        # diag, not sklearn's "full": a full covariance costs d² per component in 128–384 dimensions and
        # is singular for clusters smaller than d.
        _choice(
            "covariance_type",
            "diag",
            "full",
            "tied",
            "diag",
            "spherical",
            meaning="Shape of each component: 'diag' is cheap in many dimensions, 'full' costs d² each.",
        ),
        _choice(
            "init_params",
            "kmeans",
            "kmeans",
            "k-means++",
            "random",
            "random_from_data",
            meaning="How the components start.",
        ),
        _int("max_iter", 100, 1, 10_000, meaning="Most EM iterations."),
        _int("n_init", 1, 1, 100, meaning="Seeded restarts; the most likely fit is kept."),
        _float("tol", 1e-3, low_open=True, meaning="Likelihood gain below which EM counts as converged."),
        _float("reg_covar", 1e-6, low_open=True, meaning="Added to the covariances' diagonal to keep them invertible."),
    ),
    "mean_shift": (
        _float(
            "bandwidth",
            None,
            low_open=True,
            also=(None,),
            meaning="Kernel radius (null: estimated from a seeded sample at the given quantile).",
        ),
        _float(
            "quantile",
            0.3,
            0.0,
            1.0,
            low_open=True,
            meaning="Share of neighbours the estimated bandwidth covers; smaller gives more clusters.",
        ),
        _bool("bin_seeding", False, meaning="Start from a coarse grid of points instead of every document (faster)."),
        _int("min_bin_freq", 1, 1, 1_000_000, meaning="Documents a grid bin needs to seed a cluster (bin_seeding)."),
        _bool("cluster_all", True, meaning="Put every document in a cluster; false leaves far ones as noise."),
        _MAX_ITER,
    ),
    "optics": (
        _int("min_samples", 5, 2, 1_000_000, meaning=_MIN_SAMPLES),
        _float(
            "max_eps",
            None,
            low_open=True,
            also=(None,),
            meaning="Largest neighbourhood radius searched (null: unbounded); smaller is faster.",
        ),
        _choice("metric", "euclidean", "euclidean", "manhattan", "cosine", meaning=_DENSITY_METRIC),
        _choice(
            "cluster_method",
            "xi",
            "xi",
            "dbscan",
            meaning="Read clusters from the reachability plot by steepness ('xi') or at a fixed eps ('dbscan').",
        ),
        _float(
            "xi",
            0.05,
            0.0,
            1.0,
            low_open=True,
            high_open=True,
            meaning="Steepness that marks a cluster boundary (cluster_method 'xi').",
        ),
        _float(
            "eps",
            None,
            low_open=True,
            also=(None,),
            meaning="Radius for cluster_method 'dbscan' (null: max_eps).",
        ),
        _int(
            "min_cluster_size",
            None,
            2,
            1_000_000,
            also=(None,),
            meaning="Smallest cluster (null: min_samples).",
        ),
        _PCA,
    ),
    "attribute_based": (),
}
ALGORITHM_PARAMS = {name: (*specs, _SEED) for name, specs in ALGORITHM_PARAMS.items()}

Problems = list[tuple[str, str]]


def _kmeans_rules(given: Mapping[str, Any], p: dict[str, Any]) -> Problems:
    if p["k_min"] > p["k_max"]:
        return [("k_max", f"must be at least k_min ({p['k_min']}), got {p['k_max']}")]
    return []


def _agglomerative_rules(given: Mapping[str, Any], p: dict[str, Any]) -> Problems:
    if p["distance_threshold"] is not None and "n_clusters" not in given:
        p["n_clusters"] = None  # a threshold replaces the default cluster count
    problems: Problems = []
    if (p["n_clusters"] is None) == (p["distance_threshold"] is None):
        problems.append(("n_clusters", "give exactly one of n_clusters and distance_threshold"))
    if p["linkage"] == "ward" and p["metric"] != "euclidean":
        problems.append(("metric", f"must be 'euclidean' with linkage 'ward', got {p['metric']!r}"))
    return problems


def _optics_rules(given: Mapping[str, Any], p: dict[str, Any]) -> Problems:
    if p["eps"] is not None and p["cluster_method"] != "dbscan":
        return [("eps", "is only used with cluster_method 'dbscan'; remove it or set cluster_method to 'dbscan'")]
    return []


_RULES: dict[str, Callable[[Mapping[str, Any], dict[str, Any]], Problems]] = {
    "kmeans": _kmeans_rules,
    "agglomerative": _agglomerative_rules,
    "optics": _optics_rules,
}


def validate_spec_values(
    declared: tuple[ParamSpec, ...], given: Mapping[str, Any], owner: str
) -> tuple[dict[str, Any], Problems]:
    """``given`` cleaned against ``declared`` with defaults filled, and every problem as (name, message).
    ``owner`` names what the parameters belong to in the message for an unknown one."""
    specs = {spec.name: spec for spec in declared}
    problems: Problems = []
    accepted = ", ".join(specs) or "none"
    for name in given:
        if name not in specs:
            problems.append((str(name), f"is not a parameter of {owner}; accepted: {accepted}"))
    cleaned: dict[str, Any] = {}
    for name, spec in specs.items():
        if name in given:
            try:
                cleaned[name] = spec.clean(given[name])
            except ValueError as exc:
                problems.append((name, str(exc)))
        elif spec.default is not _NO_DEFAULT:
            cleaned[name] = spec.default
    return cleaned, problems


def has_default(spec: ParamSpec) -> bool:
    """False for a parameter that is checked when given but never filled (``random_state``)."""
    return spec.default is not _NO_DEFAULT


def validate_algorithm_params(algorithm: str, params: dict[str, Any]) -> dict[str, Any]:
    """Params with defaults filled; ValidationFailed naming every bad parameter, its range and the value.

    Idempotent: validating the result again returns the same dict, so the engine re-checks what it is given.
    """
    if algorithm not in ALGORITHM_PARAMS:
        message = f"Unknown algorithm {_show(algorithm)}; accepted: {', '.join(ALGORITHMS)}"
        raise ValidationFailed(message, errors=[ErrorLocation("algorithm", message)])
    if not isinstance(params, Mapping):
        message = f"algorithm_params must be an object, got {_show(params)}"
        raise ValidationFailed(message, errors=[ErrorLocation("algorithm_params", message)])
    cleaned, problems = validate_spec_values(ALGORITHM_PARAMS[algorithm], params, algorithm)
    if not problems and algorithm in _RULES:
        problems = _RULES[algorithm](params, cleaned)
    if problems:
        errors = [ErrorLocation(f"algorithm_params.{name}", f"algorithm_params.{name} {msg}") for name, msg in problems]
        raise ValidationFailed("; ".join(e.message for e in errors), errors=errors)
    return cleaned
