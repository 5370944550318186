"""``run_pipeline``: check the input, embed, cluster, measure, label, project — one call per run.

The pipeline is the only piece that knows the order of the steps; each step is a small estimator or
function from its own module. Data problems become ``ClusteringFailed`` with the cause and the fix, in
words a user can act on; the runner stores that message as the run's error.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import scipy
import sklearn

from clusterbook import __version__
from clusterbook.engine.algorithms import Clusterer
from clusterbook.engine.attributes import AttributeGrouper
from clusterbook.engine.config import EngineInput, RunConfig
from clusterbook.engine.diagnostics import diagnose, reassign_noise, representative_rows
from clusterbook.engine.embedders import make_embedder
from clusterbook.engine.geometry import cluster_means, distances_to_means, normalize_rows, order_by_size
from clusterbook.engine.hierarchy import CentreTree, attribute_groups, build_tree, tree_record
from clusterbook.engine.labeling import ClusterLabel, ClusterTexts, KeywordLabeler, gather_cluster_texts, has_text
from clusterbook.engine.llm import LLMLabeler
from clusterbook.engine.metrics import cluster_metrics, unavailable
from clusterbook.engine.parallel import TaskMap
from clusterbook.engine.params import validate_algorithm_params
from clusterbook.engine.preprocessing import fit_space_note, validate_preprocessing
from clusterbook.engine.projection import empty_projection, project_2d
from clusterbook.engine.results import CentroidResult, EngineResult
from clusterbook.engine.stability import StabilityResult, bootstrap_stability
from clusterbook.errors import ClusteringFailed, ValidationFailed

MIN_DOCUMENTS = 2
_CHUNK = 4_096  # rows per step of the whole-array passes (bounded temporaries at millions of rows)
_EXAMPLES = 3  # document ids quoted in an error message


class _Timer(dict[str, float]):
    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self[name] = round((time.perf_counter() - start) * 1000, 3)


def run_pipeline(data: EngineInput, tasks: TaskMap | None = None) -> EngineResult:
    """Cluster one run's documents; ClusteringFailed (cause and fix in the message) for unusable data.

    ``tasks`` runs the run's independent pieces (the stability resamples); the runner passes its
    process pool, and without one they run here, one after another."""
    cfg = data.config
    n = _check_input(data)
    params = _check_config(cfg)
    seed = cfg.random_state
    timings = _Timer()

    with timings.phase("embed"):
        X, embedded, owned = _space(data)
    with timings.phase("cluster"):
        labels, names, fit_record, keys = _cluster(data, X, params, owned)
        k = int(labels.max()) + 1 if labels.max() >= 0 else 0
        means: np.ndarray | None = None
        reassigned: int | None = None
        if X is not None:
            means = cluster_means(X, labels, k)
            if cfg.reassign_noise_max_distance is not None:
                labels, reassigned = reassign_noise(X, labels, means, cfg.reassign_noise_max_distance)
                if reassigned:
                    labels = order_by_size(labels)
                    means = cluster_means(X, labels, k)
                fit_record["reassign_noise"] = {"max_distance": cfg.reassign_noise_max_distance, "moved": reassigned}
            distances = distances_to_means(X, labels, means)
        else:
            distances = np.full(n, np.nan, dtype=np.float32)
        diagnostics = diagnose(labels)
    with timings.phase("metrics"):
        if X is None:
            metrics = unavailable("no vectors to measure: supply vectors, or text for every document")
        else:
            metrics = cluster_metrics(X, labels, seed, means=means, distances=distances)
            if "reduction" in fit_record:  # the fit saw reduced vectors; the metrics did not
                metrics.notes["reduction"] = fit_record.pop("reduction_note")
            if "preprocessing_note" in fit_record:
                metrics.notes["preprocessing"] = fit_record.pop("preprocessing_note")
        metrics.notes.update(diagnostics.notes)
        if reassigned is not None:
            metrics.notes["reassigned_points"] = (
                f"{reassigned:,} noise points joined the nearest cluster within distance "
                f"{cfg.reassign_noise_max_distance:g} of its centre (reassign_noise)"
            )
    stability: StabilityResult | None = None
    if cfg.stability is not None:
        with timings.phase("stability"):
            stability = _stability(cfg, X, labels, params, fit_record, tasks)
        if stability.note:
            metrics.notes["stability"] = stability.note
    with timings.phase("label"):
        texts = gather_cluster_texts(labels, distances, data.texts, cfg.random_state)
        cluster_labels, llm_errors = _label(data, texts, names)
    with timings.phase("project"):
        if X is None or means is None:
            projection = empty_projection(n)
        else:
            projection = project_2d(X, labels, means, data.document_ids, seed)

    sizes = np.bincount(labels[labels >= 0], minlength=k)
    hierarchy = None
    if cfg.hierarchy_levels is not None or cfg.hierarchical_grouping:
        with timings.phase("hierarchy"):
            hierarchy = _hierarchy(cfg, means, keys, sizes, cluster_labels, texts)
    per_cluster = stability.per_cluster if stability and stability.per_cluster else [None] * k
    representatives = representative_rows(labels, distances, k)
    centroids = [
        CentroidResult(
            f"cl_{c}",
            int(sizes[c]),
            lab.label,
            lab.summary,
            lab.keywords,
            per_cluster[c],
            [data.document_ids[r] for r in representatives[c]],
        )
        for c, lab in enumerate(cluster_labels)
    ]
    effective = {
        **_config_record(cfg, params, embedded),
        "num_documents": n,
        "dimensions": None if X is None else int(X.shape[1]),
        "num_clusters": k,
        **fit_record,
    }
    return EngineResult(
        labels=labels.astype(np.int32, copy=False),
        distances=distances,
        centroids=centroids,
        silhouette_score=metrics.silhouette_score,
        davies_bouldin_index=metrics.davies_bouldin_index,
        calinski_harabasz_score=metrics.calinski_harabasz_score,
        metric_notes=metrics.notes,
        noise_points=int((labels < 0).sum()),
        stability=None if stability is None else stability.mean,
        noise_ratio=diagnostics.noise_ratio,
        cluster_size_entropy=diagnostics.cluster_size_entropy,
        largest_cluster_share=diagnostics.largest_cluster_share,
        degenerate=diagnostics.degenerate,
        reassigned_points=reassigned,
        projection=projection,
        llm_labeling_errors=llm_errors,
        effective_config=effective,
        timings_ms=dict(timings),
        centers=None if means is None else np.ascontiguousarray(means, dtype=np.float32),
        hierarchy=hierarchy,
    )


def _cluster(
    data: EngineInput, X: np.ndarray | None, params: dict[str, Any], owned: bool
) -> tuple[np.ndarray, list[str] | None, dict[str, Any], list[tuple[str, ...]] | None]:
    """Size-ordered labels, group names and values (attribute_based only) and what the fit adds to
    effective_config. ``owned``: X is the pipeline's own array, which the fit may work on in place."""
    cfg = data.config
    if cfg.algorithm == "attribute_based":
        grouper = AttributeGrouper(cfg.attributes).fit(data.metadata)
        notes = {"fit_notes": ["sample_size is not used by attribute_based"]} if cfg.sample_size else {}
        return grouper.labels_, grouper.names_, notes, grouper.keys_
    assert X is not None  # _space embeds texts or _check_input refused, for every vector algorithm
    clusterer = Clusterer(
        cfg.algorithm,
        params,
        cfg.random_state,
        cfg.sample_size,
        copy=not owned,
        size_limit_factor=cfg.size_limit_factor,
        preprocessing=cfg.preprocessing,
    ).fit(X)
    record: dict[str, Any] = {}
    if clusterer.preprocessing_:  # the effective steps, defaults filled, and what each did
        record["preprocessing"] = [
            r.record() | s for r, s in zip(clusterer.step_records_, clusterer.preprocessing_, strict=True)
        ]
        record["preprocessing_note"] = fit_space_note(clusterer.step_records_)
    if clusterer.reduction_ is not None:
        record["reduction"] = clusterer.reduction_.record()
        record["reduction_note"] = clusterer.reduction_.note()
    if clusterer.n_fit_ < len(X):
        record["fit_rows"] = clusterer.n_fit_
    if clusterer.chosen_n_clusters_ is not None:
        record["chosen_n_clusters"] = clusterer.chosen_n_clusters_
        record["auto_k_scores"] = {str(k): v for k, v in clusterer.auto_k_scores_.items()}
    if clusterer.notes_:
        record["fit_notes"] = clusterer.notes_
    return clusterer.labels_, None, record, None


def _hierarchy(
    cfg: RunConfig,
    means: np.ndarray | None,
    keys: list[tuple[str, ...]] | None,
    sizes: np.ndarray,
    cluster_labels: list[ClusterLabel],
    texts: list[ClusterTexts],
) -> dict[str, Any] | None:
    """The tree over the clusters: by attribute for hierarchical grouping, by centres otherwise."""
    if not len(sizes):
        return None
    if cfg.algorithm == "attribute_based":
        if not cfg.hierarchical_grouping or keys is None:
            return None
        groups, names = attribute_groups(cfg.attributes, keys)
        nodes = build_tree(groups, sizes, cluster_labels, texts, names)
        return tree_record(nodes, len(cfg.attributes), "attributes in order: " + " → ".join(cfg.attributes))
    if means is None or cfg.hierarchy_levels is None:
        return None
    tree = CentreTree(cfg.hierarchy_levels).fit(means)
    nodes = build_tree(tree.groups_, sizes, cluster_labels, texts)
    return tree_record(nodes, cfg.hierarchy_levels, "ward agglomeration over the cluster centres")


def _stability(
    cfg: RunConfig,
    X: np.ndarray | None,
    labels: np.ndarray,
    params: dict[str, Any],
    fit_record: dict[str, Any],
    tasks: TaskMap | None,
) -> StabilityResult:
    """Bootstrap stability of the fitted clusters; resamples re-ask the fitted k when k was 'auto'."""
    assert cfg.stability is not None
    if cfg.algorithm == "attribute_based" or X is None:
        return StabilityResult([], None, "stability re-clusters vectors; attribute groups are fixed by metadata")
    if "chosen_n_clusters" in fit_record:
        params = {**params, "n_clusters": fit_record["chosen_n_clusters"]}
    return bootstrap_stability(
        X,
        labels,
        algorithm=cfg.algorithm,
        params=params,
        random_state=cfg.random_state,
        config=cfg.stability,
        sample_size=cfg.sample_size,
        tasks=tasks,
        preprocessing=cfg.preprocessing,  # every resample asks the same question, through the same steps
    )


def _label(
    data: EngineInput, texts: list[ClusterTexts], names: list[str] | None
) -> tuple[list[ClusterLabel], list[str]]:
    """Keyword labels, then the LLM's where configured; attribute groups keep their value names."""
    cluster_labels = KeywordLabeler().label(texts)
    errors: list[str] = []
    if data.config.llm is not None:
        llm = LLMLabeler(data.config.llm)
        cluster_labels = llm.label(texts, cluster_labels)
        errors = llm.errors_
    if names is not None:  # the LLM may still have written the summary and keywords
        cluster_labels = [
            ClusterLabel(name, lab.summary, lab.keywords) for name, lab in zip(names, cluster_labels, strict=True)
        ]
    return cluster_labels, errors


def _check_input(data: EngineInput) -> int:
    n = len(data.document_ids)
    if len(data.texts) != n or len(data.metadata) != n:
        raise ClusteringFailed(
            f"Input lengths differ: {n} document ids, {len(data.texts)} texts, {len(data.metadata)} metadata"
        )
    if n < MIN_DOCUMENTS:
        raise ClusteringFailed(
            f"Insufficient documents for clustering: {n} document{'' if n == 1 else 's'}, need at least {MIN_DOCUMENTS}"
        )
    if data.vectors is not None:
        shape = getattr(data.vectors, "shape", None)
        if shape is None or len(shape) != 2 or shape[0] != n or shape[1] < 1:
            raise ClusteringFailed(f"Vectors must be one row per document ({n} × d), got shape {shape}")
        bad = _nonfinite_rows(data.vectors)
        if len(bad):
            raise ClusteringFailed(
                f"Vectors of {len(bad)} document{'s' if len(bad) > 1 else ''} contain NaN or infinity "
                f"({_examples(data, bad)}); fix or re-embed them, or leave them out of the run"
            )
    elif data.config.algorithm != "attribute_based":
        missing = np.flatnonzero([not has_text(t) for t in data.texts])
        if len(missing):
            raise ClusteringFailed(
                f"Documents have neither vectors nor text: {len(missing)} of {n} ({_examples(data, missing)}); "
                "give them text, supply vectors for every document, or leave them out of the run"
            )
    return n


def _check_config(cfg: RunConfig) -> dict[str, Any]:
    try:
        params = validate_algorithm_params(cfg.algorithm, cfg.params)
        validate_preprocessing(list(cfg.preprocessing), cfg.algorithm, params)
    except ValidationFailed as exc:
        raise ClusteringFailed(exc.message, errors=exc.errors) from exc
    if cfg.sample_size is not None and cfg.sample_size < MIN_DOCUMENTS:
        raise ClusteringFailed(f"sample_size must be at least {MIN_DOCUMENTS}, got {cfg.sample_size}")
    if cfg.algorithm == "attribute_based" and not cfg.attributes:
        raise ClusteringFailed(
            "attribute_based groups documents by metadata attributes, but none were given; "
            "set attributes, e.g. ['topic']"
        )
    return params


def _nonfinite_rows(vectors: np.ndarray, chunk: int = _CHUNK) -> np.ndarray:
    """Rows holding NaN or infinity, checked in chunks (a full-size boolean mask would be N × d bytes)."""
    bad = [
        start + np.flatnonzero(~np.isfinite(vectors[start : start + chunk]).all(axis=1))
        for start in range(0, len(vectors), chunk)
    ]
    return np.concatenate(bad) if bad else np.empty(0, dtype=np.intp)


def _space(data: EngineInput) -> tuple[np.ndarray | None, bool, bool]:
    """The vectors to cluster (normalised when asked), whether they were embedded from texts, and whether
    the array is the pipeline's own (a copy, an embedding, or input the caller let it overwrite).

    ``attribute_based`` needs no vectors; it embeds texts for its metrics only when every document has text.
    """
    cfg = data.config
    if data.vectors is not None:
        X = np.ascontiguousarray(data.vectors, dtype=np.float32)
        owned = data.overwrite_vectors or X is not data.vectors  # a converted copy is ours
        embedded = False
    elif cfg.algorithm == "attribute_based" and not all(has_text(t) for t in data.texts):
        return None, False, False
    else:
        X = make_embedder(cfg.embedder, cfg.random_state).embed([str(t) for t in data.texts])
        owned = embedded = True
    if cfg.normalize_features:
        if not owned or not X.flags.writeable:
            X, owned = X.copy(), True
        normalize_rows(X)
    return X, embedded, owned


def _config_record(cfg: RunConfig, params: dict[str, Any], embedded: bool) -> dict[str, Any]:
    return {
        "algorithm": cfg.algorithm,
        "params": {**params, "random_state": cfg.random_state},  # RunConfig.random_state is the seed used
        "random_state": cfg.random_state,
        "embedder": cfg.embedder,
        "embedded": embedded,
        "sample_size": cfg.sample_size,
        "normalize_features": cfg.normalize_features,
        "attributes": list(cfg.attributes),
        **({"hierarchy": {"levels": cfg.hierarchy_levels}} if cfg.hierarchy_levels is not None else {}),
        **({"hierarchical_grouping": True} if cfg.hierarchical_grouping else {}),
        "stability": None
        if cfg.stability is None
        else {"resamples": cfg.stability.resamples, "fraction": cfg.stability.fraction},
        "versions": {
            "numpy": np.__version__,
            "scikit-learn": sklearn.__version__,
            "scipy": scipy.__version__,
            "clusterbook": __version__,
        },
    }


def _examples(data: EngineInput, rows: np.ndarray) -> str:
    shown = ", ".join(data.document_ids[r] for r in rows[:_EXAMPLES])
    return f"e.g. {shown}" if len(rows) > _EXAMPLES else shown
