"""Wire models of one execution (a run): the contract's ClusterExecutionResult and its parts."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import ConfigDict, Field, create_model

from clusterbook.models.base import StorableBody, UTCDatetime, WireModel
from clusterbook.models.curation import CentroidMerge, CentroidOverride, InheritedLabel
from clusterbook.models.measures import MEASURES_BY_NAME, METRIC_MEASURES, Measure


class ExecutionStatus(StrEnum):
    """Lifecycle of a run: pending → processing → completed | failed | canceled."""

    PENDING = "pending"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELED = "canceled"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL_STATUSES


API_TRIGGER = "api"
"""The ``trigger`` of a run started by a request; ``schedule:<id>`` and ``monitor:<id>`` name the others."""

TERMINAL_STATUSES = frozenset({ExecutionStatus.COMPLETED, ExecutionStatus.FAILED, ExecutionStatus.CANCELED})
FINISHED_STATUSES = frozenset({ExecutionStatus.COMPLETED, ExecutionStatus.FAILED})
"""Statuses whose duration counts in ``avg_execution_time_ms`` (the contract: completed/failed)."""


def _measure_description(measure: Measure) -> str:
    low = "-∞" if measure.minimum is None else f"{measure.minimum:g}"
    bounds = f"{low}..{'∞' if measure.maximum is None else f'{measure.maximum:g}'}"
    better = f", {measure.direction} is better" if measure.direction else ""
    return f"{measure.label} ({bounds}{better}): {measure.meaning}"


_METRIC_FIELDS: dict[str, Any] = {
    m.name: (
        float | None if m.kind == "number" else int | None,
        Field(default=None, description=_measure_description(m)),
    )
    for m in METRIC_MEASURES
}
_DeclaredMetrics: Any = create_model("_DeclaredMetrics", __base__=WireModel, **_METRIC_FIELDS)
"""One optional field per declared metric (``models/measures.py``), in declaration order."""


class ClusterExecutionMetrics(_DeclaredMetrics):  # type: ignore[misc]
    """Quality of a clustering: one field per declared metric, each null when it could not be computed."""

    notes: dict[str, str] | None = Field(default=None, description="Per metric: why it is null, or how it was sampled.")

    def value(self, name: str) -> float | None:
        """The metric called ``name`` as a float (None when absent or not computed)."""
        found = getattr(self, name, None)
        return None if found is None else float(found)


class ClusterExecutionCentroid(WireModel):
    """One cluster of a run, with its size and what it is about.

    ``label``, ``summary`` and ``keywords`` are the effective values: a curator's ``override`` wins,
    then a label ``inherited`` from the matched baseline cluster, then what the run computed
    (``computed_*``, always kept beside)."""

    cluster_id: str = Field(description="'cl_<n>', numbered by size within the run.")
    num_members: int
    label: str | None = None
    summary: str | None = None
    keywords: list[str] | None = None
    computed_label: str | None = Field(default=None, description="The label the run computed (keywords or LLM).")
    computed_summary: str | None = None
    computed_keywords: list[str] | None = None
    override: CentroidOverride | None = Field(
        default=None, description="Curated values (PATCH …/centroids/{cluster_id}), with who set them and when."
    )
    inherited: InheritedLabel | None = Field(
        default=None,
        description="A curated label carried forward from the baseline cluster matched to this one "
        "(Jaccard at least 0.5), with the run and cluster it came from.",
    )
    merged_from: list[str] | None = Field(
        default=None, description="The clusters merged into this one (POST …/centroids/merge), itself first."
    )
    # agreement with the run's baseline (absent when the run has none)
    baseline_cluster_id: str | None = Field(
        default=None,
        description="The baseline run's cluster matched to this one (one-to-one, by member overlap); "
        "null when no baseline cluster was matched to it.",
    )
    jaccard: float | None = Field(
        default=None,
        description="Shared members of this cluster and its matched baseline cluster over their union "
        "(both counted over the documents the two runs share); null when unmatched.",
    )
    baseline_label: str | None = Field(
        default=None, description="The label of the matched baseline cluster (keyword, LLM or curated)."
    )
    stability: float | None = Field(
        default=None,
        description="Bootstrap stability (0..1, higher is better): this cluster's mean best Jaccard overlap "
        "with the clusters of the re-clustered subsamples; null unless the run was executed with stability.",
    )
    vector: list[float] | None = Field(
        default=None,
        description="The cluster's centre (its members' mean in the clustered, normalised space, float32); "
        "only with ?include_vectors=true, and only for completed runs over vectors.",
    )
    representative_ids: list[str] | None = Field(
        default=None,
        description="Document ids of the members nearest this cluster's centre (at most 5, nearest first); "
        "absent on runs from before it was recorded.",
    )


class ClusterExecutionResult(WireModel):
    """One execution of a cluster: status, size, quality, centroids, timings and errors.

    The first eleven fields are the contract's; the rest are clusterbook additions (never renamed
    or retyped contract fields).
    """

    run_id: str
    cluster_id: str
    status: ExecutionStatus
    num_clusters: int
    num_points: int
    created_at: UTCDatetime
    metrics: ClusterExecutionMetrics | None = None
    centroids: list[ClusterExecutionCentroid] | None = None
    completed_at: UTCDatetime | None = None
    error_message: str | None = None
    llm_labeling_errors: list[str] | None = None
    # clusterbook additions
    run_name: str | None = None
    algorithm: str | None = None
    started_at: UTCDatetime | None = None
    duration_ms: float | None = Field(
        default=None,
        description="Execution time: completed_at - started_at in milliseconds, set when the run "
        "ends; null for a run canceled before it started. Queue time is not included (see queue_ms).",
    )
    queue_ms: float | None = Field(
        default=None, description=MEASURES_BY_NAME["queue_ms"].meaning + " (started_at - created_at, milliseconds)"
    )
    error_traceback: str | None = None
    attempts: int | None = Field(default=None, description="How many times a worker has taken this run.")
    config: dict[str, Any] | None = Field(
        default=None,
        description="The configuration the run was submitted with; once it ends, the effective one "
        "(parameters with defaults, seed, embedder, library versions, number of documents).",
    )
    timings_ms: dict[str, float] | None = Field(default=None, description="Time spent per phase of the run.")
    baseline_run_id: str | None = Field(
        default=None,
        description="The completed run this one is compared with (metrics.agreement_*): by default the "
        "cluster's latest run that had completed when this one was submitted; null when there is none.",
    )
    trigger: str = Field(
        default="api",
        description="What started the run: 'api' (a POST …/execute), 'schedule:<schedule_id>' or "
        "'monitor:<monitor_id>'; the history filters on it.",
    )
    backdated: dict[str, Any] | None = Field(
        default=None,
        description="Set on the demo's nightly history: the run was computed when the demo started and its "
        "timestamps were moved back by shift_seconds to its slot in the schedule (ran_at: when it really ran).",
    )
    merges: list[CentroidMerge] | None = Field(
        default=None, description="Merges of this run's clusters (POST …/centroids/merge), oldest first."
    )
    mode: RunMode = Field(default="cluster", description="'cluster' (a full run) or 'assign' (see execute).")
    source_run_id: str | None = Field(
        default=None, description="Assign runs: the completed run whose centres the documents were assigned to."
    )
    should_recluster: bool | None = Field(
        default=None,
        description="Assign runs, once completed: true when they left more documents unassigned, or drifted "
        "further from the source run's cluster shares, than the cluster's vector_config.recluster allows.",
    )
    recluster_reason: str | None = Field(default=None, description="Why should_recluster is true.")

    def measure_value(self, measure: Measure) -> float | None:
        """The value of a declared measure on this run (inside ``metrics`` or a top-level attribute)."""
        if measure.in_metrics:
            return self.metrics.value(measure.name) if self.metrics else None
        value = getattr(self, measure.name, None)
        return None if value is None else float(value)


MAX_RUN_NAME = 200
MAX_RUN_GPUS = 8
STABILITY_RESAMPLES = (2, 50)
STABILITY_FRACTION = (0.5, 0.95)


class StabilityRequest(StorableBody):
    """Bootstrap stability on request: re-cluster ``resamples`` seeded subsamples of ``fraction`` of
    the documents with the same algorithm and parameters, and score each cluster by how well it
    comes back (``metrics.stability``, each centroid's ``stability``)."""

    model_config = ConfigDict(extra="forbid")

    resamples: int = Field(
        default=5,
        ge=STABILITY_RESAMPLES[0],
        le=STABILITY_RESAMPLES[1],
        description=f"Subsamples to re-cluster, {STABILITY_RESAMPLES[0]} to {STABILITY_RESAMPLES[1]}; "
        "each costs about one more fit (they run in parallel within the run's thread budget).",
    )
    fraction: float = Field(
        default=0.8,
        ge=STABILITY_FRACTION[0],
        le=STABILITY_FRACTION[1],
        description=f"Share of the documents in each subsample, {STABILITY_FRACTION[0]} to {STABILITY_FRACTION[1]}.",
    )


RunMode = Literal["cluster", "assign"]
AssignDocuments = Literal["changed", "all"]
DEFAULT_ASSIGNMENT_THRESHOLD = 0.5


class ExecuteRequest(StorableBody):
    """Body of ``POST /v1/clusters/{cluster_id}/execute`` (optional): a name and one-off overrides."""

    model_config = ConfigDict(extra="forbid")

    mode: RunMode = Field(
        default="cluster",
        description="'cluster': cluster the documents from scratch. 'assign': place documents against the "
        "centres of a completed run (source_run_id) without re-clustering; documents whose cosine similarity "
        "to the nearest centre is below assignment_threshold are left unassigned.",
    )
    source_run_id: str | None = Field(
        default=None,
        max_length=64,
        description="Assign mode: the completed run of this cluster whose centres the documents are assigned "
        "to. Absent: the cluster's latest completed run.",
    )
    assignment_threshold: float | None = Field(
        default=None,
        ge=0.0,
        le=1.0,
        description=f"Assign mode: the least cosine similarity to the nearest centre (0-1, default "
        f"{DEFAULT_ASSIGNMENT_THRESHOLD}) for a document to be assigned.",
    )
    documents: AssignDocuments | None = Field(
        default=None,
        description="Assign mode: 'changed' (default) assigns the documents added or changed since the source "
        "run started; 'all' assigns every document of the cluster.",
    )

    run_name: str | None = Field(default=None, max_length=MAX_RUN_NAME)
    algorithm_params: dict[str, Any] | None = Field(
        default=None, description="Merged over the cluster's algorithm_params for this run only."
    )
    random_state: int | None = Field(default=None, ge=0, le=2**32 - 1)
    sample_size: int | None = Field(default=None, ge=2)
    baseline_run_id: str | None = Field(
        default=None,
        max_length=64,
        description="The completed run of this namespace to compare the new run with; null for none. "
        "Absent: the cluster's latest completed run.",
    )
    stability: StabilityRequest | None = Field(
        default=None,
        description='Score the clusters\' bootstrap stability, e.g. {"resamples": 5, "fraction": 0.8}; '
        "vector clusters only.",
    )
    gpus: int | None = Field(
        default=None,
        ge=1,
        le=MAX_RUN_GPUS,
        description=f"GPUs the run needs (1-{MAX_RUN_GPUS}). On the Ray runner its task declares them and the run "
        "waits pending, with the reason in error_message, until the cluster has a node with that many; the local "
        "runner has no GPU scheduling and computes it on the CPU.",
    )
