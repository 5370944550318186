"""The catalogue: every algorithm, its parameters, the preprocessing steps and the presets, declared once.

The parameters and steps are declared where they are validated (``params.ALGORITHM_PARAMS``,
``preprocessing.STEP_PARAMS``); this module adds what a chooser needs besides — a one-line description
and family per algorithm, which options it takes — and the presets, named pipelines that expand into an
algorithm, its parameters and steps. ``GET /v1/algorithms`` serves it and the dashboard's "new cluster"
form is built from it, so no client keeps a copy that can drift.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from clusterbook.engine.params import ALGORITHM_PARAMS, ALGORITHMS, validate_algorithm_params
from clusterbook.engine.preprocessing import STEP_DESCRIPTIONS, STEP_PARAMS, STEPLESS_ALGORITHMS, validate_preprocessing

Family = Literal["centroid", "density", "hierarchical", "graph", "mixture", "mode", "metadata"]

DENSITY_ALGORITHMS: tuple[str, ...] = ("dbscan", "hdbscan", "optics")
"""The algorithms that leave noise and accept ``reassign_noise``."""


@dataclass(frozen=True)
class AlgorithmEntry:
    name: str
    family: Family
    description: str


ALGORITHM_ENTRIES: dict[str, AlgorithmEntry] = {
    e.name: e
    for e in (
        AlgorithmEntry("kmeans", "centroid", "k round clusters around centres; fast and the usual first choice."),
        AlgorithmEntry("minibatch_kmeans", "centroid", "k-means on mini-batches: for millions of documents."),
        AlgorithmEntry("dbscan", "density", "Dense regions within a fixed radius; the rest is noise."),
        AlgorithmEntry(
            "hdbscan", "density", "Dense regions at every density, no k to give; sparse documents become noise."
        ),
        AlgorithmEntry("agglomerative", "hierarchical", "Merges the closest groups until k remain (or a distance)."),
        AlgorithmEntry("spectral", "graph", "Clusters a similarity graph; finds non-convex shapes, small N only."),
        AlgorithmEntry("gaussian_mixture", "mixture", "k Gaussian components fitted by EM (soft, elliptical)."),
        AlgorithmEntry("mean_shift", "mode", "Clusters around density peaks; finds k itself, slow beyond 10k."),
        AlgorithmEntry("optics", "density", "Density clusters read from a reachability ordering; varying density."),
        AlgorithmEntry("attribute_based", "metadata", "Groups documents by the values of metadata attributes."),
    )
}


@dataclass(frozen=True)
class Preset:
    """A named pipeline: ``clustering_method: <name>`` runs ``algorithm`` with these params and steps."""

    name: str
    algorithm: str
    description: str
    cost: str
    params: dict[str, Any] = field(default_factory=dict)
    preprocessing: tuple[dict[str, Any], ...] = ()


PRESETS: dict[str, Preset] = {
    "topics": Preset(
        "topics",
        "hdbscan",
        "Topic modelling as BERTopic does it: the documents' embeddings → UMAP to 5 dimensions (cosine, "
        "min_dist 0) → HDBSCAN → c-TF-IDF keyword labels. Documents far from every topic stay noise.",
        "UMAP dominates: about a minute per 20,000 documents on one core plus a one-off ~15 s compile; "
        "UMAP is fitted on at most 20,000 documents and places the rest, and HDBSCAN in 5 dimensions is "
        "seconds. Needs clusterbook[umap].",
        params={"min_cluster_size": 10},
        preprocessing=({"step": "umap", "n_components": 5, "n_neighbors": 15, "min_dist": 0.0, "metric": "cosine"},),
    ),
}


@dataclass(frozen=True)
class Expanded:
    """What a vector configuration runs: the algorithm, its validated params, validated steps, the preset."""

    algorithm: str
    params: dict[str, Any]
    preprocessing: list[dict[str, Any]]
    preset: str | None


def expand(method: str, params: dict[str, Any], steps: list[dict[str, Any]] | None) -> Expanded:
    """The run a ``clustering_method`` and its options stand for: a preset fills its algorithm, params and
    steps (given params win; given steps replace the preset's); ValidationFailed naming every problem."""
    preset = PRESETS.get(method)
    algorithm = preset.algorithm if preset else method
    merged = {**(preset.params if preset else {}), **params}
    cleaned = validate_algorithm_params(algorithm, merged)
    chosen = steps if steps is not None else (list(preset.preprocessing) if preset else [])
    return Expanded(
        algorithm, cleaned, validate_preprocessing(chosen, algorithm, cleaned), preset.name if preset else None
    )


def accepts_preprocessing(algorithm: str) -> bool:
    return algorithm not in STEPLESS_ALGORITHMS


def catalogue() -> dict[str, Any]:
    """The whole catalogue as plain data (the API turns it into its wire model)."""
    return {
        "algorithms": [
            {
                "name": name,
                "family": ALGORITHM_ENTRIES[name].family,
                "description": ALGORITHM_ENTRIES[name].description,
                "cluster_type": "attribute" if name == "attribute_based" else "vector",
                "params": ALGORITHM_PARAMS[name],
                "defaults": validate_algorithm_params(name, {}),
                "accepts_preprocessing": accepts_preprocessing(name),
                "accepts_reassign_noise": name in DENSITY_ALGORITHMS,
            }
            for name in ALGORITHMS
        ],
        "preprocessing_steps": [
            {"name": name, "description": STEP_DESCRIPTIONS[name], "params": specs}
            for name, specs in STEP_PARAMS.items()
        ],
        "presets": [
            {
                "name": p.name,
                "algorithm": p.algorithm,
                "description": p.description,
                "cost": p.cost,
                "algorithm_params": dict(p.params),
                "preprocessing": [dict(s) for s in p.preprocessing],
            }
            for p in PRESETS.values()
        ],
    }
