"""A cluster's configuration → the run configuration a run is submitted with, and back to the
engine's ``RunConfig``. Validating here, at cluster creation and at submit, means a bad parameter is
a 422 naming it, never a run that fails minutes later."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from clusterbook.engine import EMBEDDERS, LLMSettings, RunConfig, StabilityConfig, validate_algorithm_params
from clusterbook.engine.catalogue import DENSITY_ALGORITHMS, Expanded, expand
from clusterbook.errors import ClusteringFailed, ValidationFailed
from clusterbook.models.clusters import HIERARCHY_LEVELS, AttributeConfig, Cluster, LLMLabelingConfig, VectorConfig
from clusterbook.models.executions import ExecuteRequest

ATTRIBUTE_ALGORITHM = "attribute_based"


def validate_cluster_config(
    cluster_type: str, vector_config: VectorConfig | None, attribute_config: AttributeConfig | None
) -> None:
    """Raise ValidationFailed (naming the field and accepted values) for a configuration no run could use."""
    if cluster_type == "attribute":
        return
    config = vector_config or VectorConfig()
    if config.embedder not in EMBEDDERS:
        raise ValidationFailed(
            f"vector_config.embedder {config.embedder!r} is unknown; accepted: {', '.join(EMBEDDERS)}"
        )
    if config.clustering_method == ATTRIBUTE_ALGORITHM:
        raise ValidationFailed(
            "vector_config.clustering_method 'attribute_based' needs cluster_type 'attribute' with an "
            'attribute_config: {"attributes": ["metadata field", ...]}'
        )
    _expanded(config, config.algorithm_params)


def _expanded(config: VectorConfig, params: dict[str, Any]) -> Expanded:
    """The algorithm, params and steps ``config`` runs with (a preset expanded); ValidationFailed naming the
    field (``vector_config.…``) for a bad parameter, step, combination or noise reassignment."""
    expanded: Expanded = _prefixed(lambda: expand(config.clustering_method, params, config.preprocessing))
    if config.reassign_noise is not None and expanded.algorithm not in DENSITY_ALGORITHMS:
        raise ValidationFailed(
            f"vector_config.reassign_noise applies to the density algorithms ({', '.join(DENSITY_ALGORITHMS)}), "
            f"which leave noise; {expanded.algorithm} puts every document in a cluster: remove reassign_noise"
        )
    return expanded


def _prefixed(check: Any) -> Any:
    try:
        return check()
    except ValidationFailed as exc:
        message = exc.message if exc.message.startswith("vector_config") else f"vector_config: {exc.message}"
        raise ValidationFailed(message) from exc


def run_config_for(cluster: Cluster, request: ExecuteRequest | None) -> dict[str, Any]:
    """The configuration a new run of ``cluster`` carries: frozen at submit, so editing the cluster
    later never changes what a queued run does or what a history row says it did."""
    request = request or ExecuteRequest()
    base: dict[str, Any] = {
        "cluster_type": cluster.cluster_type,
        "collection_ids": list(cluster.collection_ids),
        "filters": cluster.filters,
        "llm": _llm_snapshot(cluster.llm_labeling),
        **({"gpus": request.gpus} if request.gpus else {}),  # only when asked: older rows have no key
    }
    if cluster.cluster_type == "attribute":
        assert cluster.attribute_config is not None
        if request.stability is not None:
            raise ValidationFailed(
                "stability re-clusters vectors, and an attribute cluster's groups are fixed by metadata; "
                "leave stability out of the execute body for this cluster"
            )
        return {
            **base,
            "algorithm": ATTRIBUTE_ALGORITHM,
            "params": validate_algorithm_params(ATTRIBUTE_ALGORITHM, {}),
            "attributes": list(cluster.attribute_config.attributes),
            **({"hierarchical_grouping": True} if cluster.attribute_config.hierarchical_grouping else {}),
            "embedder": "tfidf-svd",
            "random_state": request.random_state or 0,
            "sample_size": None,
            "normalize_features": True,
        }
    vector = cluster.vector_config or VectorConfig()
    if request.mode == "assign":  # prepare_assign (runner/assign.py) adds the source run's settings
        return {
            **base,
            "algorithm": vector.clustering_method,
            "params": {},
            "attributes": [],
            "embedder": vector.embedder,
            "random_state": request.random_state or 0,
            "sample_size": None,
            "normalize_features": vector.normalize_features,
            "stability": None,
        }
    expanded = _expanded(vector, {**vector.algorithm_params, **(request.algorithm_params or {})})
    params = expanded.params
    random_state = request.random_state if request.random_state is not None else params.get("random_state", 0)
    return {
        **base,
        "algorithm": expanded.algorithm,
        "params": params,
        # only when used: older rows and plain runs carry no keys for them
        **({"preset": expanded.preset} if expanded.preset else {}),
        **({"preprocessing": expanded.preprocessing} if expanded.preprocessing else {}),
        **({"reassign_noise": vector.reassign_noise.model_dump()} if vector.reassign_noise else {}),
        "attributes": [],
        "embedder": vector.embedder,
        "random_state": int(random_state if isinstance(random_state, int) else 0),
        "sample_size": request.sample_size or vector.sample_size,
        "normalize_features": vector.normalize_features,
        "stability": None if request.stability is None else request.stability.model_dump(),
        **({"hierarchy": vector.hierarchy.model_dump()} if vector.hierarchy is not None else {}),
    }


def _llm_snapshot(config: LLMLabelingConfig | None) -> dict[str, Any] | None:
    if config is None or not config.enabled:
        return None
    return {
        "provider": config.provider,
        "model": config.model_name,
        "base_url": config.base_url,
        "include_summary": config.include_summary,
        "include_keywords": config.include_keywords,
    }


class StabilitySnapshot(BaseModel):
    """A run's stored stability request (bounds checked again by the engine)."""

    model_config = ConfigDict(extra="ignore")

    resamples: int
    fraction: float


class HierarchySnapshot(BaseModel):
    """A run's stored hierarchy request (bounds checked again here: a hand-written row may be wrong)."""

    model_config = ConfigDict(extra="ignore")

    levels: int = Field(ge=HIERARCHY_LEVELS[0], le=HIERARCHY_LEVELS[1])


class RunSnapshot(BaseModel):
    """The shape of a run's stored configuration (``run_config_for`` writes it at submit). Checked
    again when a worker picks the run up, because a row may come from elsewhere (an older version,
    a hand-written row): a bad one must fail the run with a message, not crash the worker."""

    model_config = ConfigDict(extra="ignore")

    algorithm: str
    params: dict[str, Any] | None = None
    random_state: int | None = None
    embedder: str | None = None
    sample_size: int | None = None
    normalize_features: bool = True
    attributes: list[str] | None = None
    collection_ids: list[str] | None = None
    filters: dict[str, Any] | None = None
    llm: dict[str, Any] | None = None
    stability: StabilitySnapshot | None = None
    hierarchy: HierarchySnapshot | None = None
    hierarchical_grouping: bool = False
    preprocessing: list[dict[str, Any]] | None = None
    """The validated preprocessing steps (checked again by the engine)."""
    reassign_noise: dict[str, float] | None = None
    size_limit_factor: float | None = None
    """The size-limit factor the run was admitted with (``runner/limits.py``); the engine checks it again."""


RESUBMIT = "submit a new run (POST /v1/clusters/{cluster_id}/execute), which records a complete configuration"


def read_snapshot(snapshot: Any) -> RunSnapshot:
    """The run's configuration, or ClusteringFailed saying which part is missing or wrong."""
    if not snapshot:
        raise ClusteringFailed(
            "This run has no configuration to run with (it was not created by a submit, e.g. written by "
            f"`clusterbook seed` or by hand); {RESUBMIT}"
        )
    try:
        return RunSnapshot.model_validate(snapshot)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'config'}: {e['msg']}" for e in exc.errors())
        raise ClusteringFailed(f"This run's configuration is not usable ({problems}); {RESUBMIT}") from None


def engine_config(snapshot: Any, *, llm_base_url: str | None, llm_api_key: str | None) -> RunConfig:
    """The engine's RunConfig for a submitted run (the LLM key comes from the server, never the DB)."""
    run = snapshot if isinstance(snapshot, RunSnapshot) else read_snapshot(snapshot)
    llm = run.llm
    llm_settings = None
    if llm and (llm.get("base_url") or llm_base_url):
        llm_settings = LLMSettings(
            base_url=llm.get("base_url") or llm_base_url or "",
            model=llm.get("model") or "gpt-4o-mini",
            api_key=llm_api_key,
            include_summary=bool(llm.get("include_summary", True)),
            include_keywords=bool(llm.get("include_keywords", True)),
        )
    return RunConfig(
        algorithm=run.algorithm,
        params=dict(run.params or {}),
        random_state=run.random_state or 0,
        embedder=run.embedder or "tfidf-svd",
        sample_size=run.sample_size,
        normalize_features=run.normalize_features,
        attributes=tuple(run.attributes or ()),
        llm=llm_settings,
        stability=None
        if run.stability is None
        else StabilityConfig(resamples=run.stability.resamples, fraction=run.stability.fraction),
        size_limit_factor=run.size_limit_factor or 1.0,
        hierarchy_levels=None if run.hierarchy is None else run.hierarchy.levels,
        hierarchical_grouping=run.hierarchical_grouping,
        preprocessing=tuple(run.preprocessing or ()),
        reassign_noise_max_distance=(run.reassign_noise or {}).get("max_distance"),
    )
