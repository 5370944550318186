"""The declared preprocessing steps a vector run may take before its fit: ``pca``, ``normalize``, ``umap``.

Why: density algorithms (HDBSCAN, DBSCAN, OPTICS) answer neighbourhood queries with trees that stop pruning
in a few dozen dimensions, and embedding vectors of separate topics keep their structure in far fewer; the
topic-modelling pipeline users know (BERTopic) reduces with UMAP before HDBSCAN. The steps are declared like
the algorithms (``STEP_PARAMS``, the same ``ParamSpec``s), validated once (``validate_preprocessing``) at
cluster create, at submit and again by the engine, and applied in order to the rows the estimator fits on.
Only the fit sees the reduced vectors: centroids, distances and metrics stay in the original space.

Every step is seeded with the run's seed. UMAP comes from the optional ``umap-learn`` package
(``clusterbook[umap]``), imported on first use; it is fitted on a seeded sample of at most
``UMAP_FIT_ROWS`` rows and the other rows are placed with its ``transform``, so its cost is bounded.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from clusterbook.engine.geometry import normalize_rows, sample_rows
from clusterbook.engine.params import ParamSpec, validate_spec_values
from clusterbook.engine.reduction import reduce_dimensions
from clusterbook.errors import ClusteringFailed, ErrorLocation, ValidationFailed

MAX_STEPS = 4
"""Most steps in one list: every useful pipeline (PCA → UMAP → normalize) is shorter."""
UMAP_FIT_ROWS = 20_000
"""Rows UMAP is fitted on; the others are placed by ``transform`` (its graph costs grow faster than N)."""
_TRANSFORM_CHUNK = 8_192

STEP_PARAMS: dict[str, tuple[ParamSpec, ...]] = {
    "pca": (
        ParamSpec(
            "n_components",
            "int",
            50,
            low=2,
            high=4096,
            meaning="Principal components kept (seeded randomized PCA); the fit sees only these.",
        ),
    ),
    "normalize": (),
    "umap": (
        ParamSpec("n_components", "int", 5, low=2, high=100, meaning="Dimensions of the UMAP embedding the fit sees."),
        ParamSpec(
            "n_neighbors",
            "int",
            15,
            low=2,
            high=200,
            meaning="Neighbours per document in UMAP's graph: larger keeps more global structure.",
        ),
        ParamSpec(
            "min_dist",
            "float",
            0.0,
            low=0.0,
            high=1.0,
            meaning="How tightly UMAP packs neighbours; 0 suits clustering best.",
        ),
        ParamSpec(
            "metric",
            "choice",
            "cosine",
            choices=("cosine", "euclidean", "manhattan"),
            meaning="Distance UMAP's neighbour graph uses.",
        ),
    ),
}
"""Every preprocessing step and its parameters, in the order the catalogue lists them."""

STEP_DESCRIPTIONS: dict[str, str] = {
    "pca": "Project the vectors on their first principal components before the fit (one pass, bounded memory).",
    "normalize": "Scale each (reduced) vector to unit length before the fit, so distances follow cosine.",
    "umap": "Embed the vectors with UMAP (umap-learn, clusterbook[umap]) before the fit: the reduction "
    "topic models use before HDBSCAN. Costs about a minute per 20,000 rows on one core.",
}
REDUCING_STEPS = ("pca", "umap")
"""The steps that change the number of dimensions (a second one must reduce further)."""
STEPLESS_ALGORITHMS = ("attribute_based",)
"""Algorithms that fit no vectors, so no step applies."""


def validate_preprocessing(steps: Any, algorithm: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    """The steps with defaults filled; ValidationFailed naming every bad step (``preprocessing[i].name``).

    Refused: an unknown step or parameter, more than ``MAX_STEPS``, any step for an algorithm that fits no
    vectors, a step given twice, a reduction that does not reduce below the previous one, and a ``pca`` step
    together with ``algorithm_params.pca_components`` (one PCA, said once). Idempotent."""
    if steps is None:
        return []
    if not isinstance(steps, Sequence) or isinstance(steps, str | bytes):
        raise _failed([("preprocessing", f"must be a list of steps, got {type(steps).__name__}")])
    if steps and algorithm in STEPLESS_ALGORITHMS:
        raise _failed([("preprocessing", f"{algorithm} fits no vectors, so no preprocessing step applies; remove it")])
    if len(steps) > MAX_STEPS:
        raise _failed([("preprocessing", f"has {len(steps)} steps; at most {MAX_STEPS} are accepted")])
    problems: list[tuple[str, str]] = []
    cleaned: list[dict[str, Any]] = []
    for i, step in enumerate(steps):
        where = f"preprocessing[{i}]"
        name = step.get("step") if isinstance(step, Mapping) else None
        if not isinstance(name, str) or name not in STEP_PARAMS:
            accepted = ", ".join(repr(s) for s in STEP_PARAMS)
            problems.append((where, f'must be an object {{"step": one of {accepted}, ...}}, got {_brief(step)}'))
            continue
        assert isinstance(step, Mapping)
        values = {k: v for k, v in step.items() if k != "step"}
        filled, step_problems = validate_spec_values(STEP_PARAMS[name], values, f"the {name} step")
        problems.extend((f"{where}.{param}", msg) for param, msg in step_problems)
        cleaned.append({"step": name, **filled})
    if not problems:
        problems = _order_rules(cleaned, params or {})
    if problems:
        raise _failed(problems)
    return cleaned


def _order_rules(steps: list[dict[str, Any]], params: Mapping[str, Any]) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    seen: set[str] = set()
    dims: int | None = None
    for i, step in enumerate(steps):
        name = step["step"]
        if name in seen:
            problems.append((f"preprocessing[{i}]", f"repeats the {name} step; give each step at most once"))
        seen.add(name)
        if name in REDUCING_STEPS:
            if dims is not None and step["n_components"] >= dims:
                problems.append(
                    (
                        f"preprocessing[{i}].n_components",
                        f"must be less than the {dims} dimensions the step before leaves, got {step['n_components']}",
                    )
                )
            dims = step["n_components"]
    if "pca" in seen and params.get("pca_components") is not None:
        problems.append(
            (
                "algorithm_params.pca_components",
                "and a pca preprocessing step both ask for a PCA; keep the pca step and remove pca_components",
            )
        )
    return problems


def _failed(problems: list[tuple[str, str]]) -> ValidationFailed:
    errors = [ErrorLocation(loc, f"{loc} {msg}") for loc, msg in problems]
    return ValidationFailed("; ".join(e.message for e in errors), errors=errors)


def _brief(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


@dataclass(frozen=True)
class StepRecord:
    """What one step did, for the run record."""

    step: str
    from_dims: int
    to_dims: int
    detail: dict[str, Any]

    def record(self) -> dict[str, Any]:
        return {"step": self.step, "from_dims": self.from_dims, "to_dims": self.to_dims, **self.detail}


class Preprocessor:
    """Applies validated steps in order. After ``fit_transform``: ``records_`` (one ``StepRecord`` per step)."""

    def __init__(self, steps: Sequence[Mapping[str, Any]], random_state: int = 0):
        self.steps = steps
        self.random_state = random_state

    def fit_transform(self, X: np.ndarray) -> np.ndarray:
        """The rows of X in the space the estimator fits in (float32); X itself when there are no steps."""
        self.records_: list[StepRecord] = []
        owned = False
        for step in self.steps:
            d = X.shape[1]
            detail: dict[str, Any] = {}
            if step["step"] == "pca":
                reduced, reduction = reduce_dimensions(X, step["n_components"], self.random_state)
                owned = owned or reduced is not X
                X = reduced
                if reduction is not None:
                    detail["explained_variance"] = reduction.explained_variance
            elif step["step"] == "umap":
                X, owned = self._umap(X, step), True
            else:
                if not owned:
                    X, owned = np.array(X, dtype=np.float32), True
                normalize_rows(X)
            self.records_.append(StepRecord(step["step"], d, int(X.shape[1]), detail))
        return X

    def _umap(self, X: np.ndarray, step: Mapping[str, Any]) -> np.ndarray:
        n = X.shape[0]
        components = step["n_components"]
        if n <= components + 1:
            raise ClusteringFailed(
                f"the umap step embeds in {components} dimensions and needs more than {components + 1} "
                f"documents, got {n}; lower preprocessing n_components or add documents"
            )
        model = umap_package().UMAP(
            n_components=components,
            n_neighbors=min(step["n_neighbors"], n - 1),
            min_dist=step["min_dist"],
            metric=step["metric"],
            random_state=self.random_state,
            n_jobs=1,  # seeded UMAP is single-threaded anyway; saying so keeps it from warning
            init="spectral" if n > components + 2 else "random",
        )
        rows = sample_rows(n, UMAP_FIT_ROWS, self.random_state)
        if rows is None:
            return np.ascontiguousarray(model.fit_transform(X), dtype=np.float32)
        out = np.empty((n, components), dtype=np.float32)
        out[rows] = model.fit_transform(X[rows])
        rest = np.setdiff1d(np.arange(n), rows, assume_unique=True)
        for start in range(0, len(rest), _TRANSFORM_CHUNK):
            chunk = rest[start : start + _TRANSFORM_CHUNK]
            out[chunk] = model.transform(X[chunk])
        return out


def umap_package() -> Any:
    """The optional umap-learn package, imported on first use; the message names the extra when missing."""
    try:
        import umap
    except ImportError as exc:
        raise ClusteringFailed(
            "the umap preprocessing step needs the optional umap-learn package, which is not installed where "
            "this run computes: pip install 'clusterbook[umap]', or use a pca step instead"
        ) from exc
    return umap


def fit_space_note(records: Sequence[StepRecord]) -> str:
    """The run's ``metrics.notes`` entry: which steps the fit saw, and that the metrics did not."""
    chain = " → ".join(f"{r.step} ({r.from_dims}→{r.to_dims})" if r.from_dims != r.to_dims else r.step for r in records)
    return (
        f"clustered after preprocessing: {chain}; metrics, distances and centroids are computed in the original space"
    )
