"""Wire models of ``POST /v1/clusters/{cluster_id}/executions/compare``: two to four completed runs
related to each other by the server (their config differences, their measures with the best marked,
and how each one's clusters map onto the first run's)."""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field, field_validator

from clusterbook.models.base import StorableBody, WireModel
from clusterbook.models.executions import ClusterExecutionResult
from clusterbook.models.measures import Direction

MIN_COMPARE_RUNS = 2
MAX_COMPARE_RUNS = 4
MAX_FLOWS = 50
"""Largest document flows returned per pair (a flow diagram stays readable; the rest are counted)."""
MOVED_SAMPLE_SIZE = 20
"""Moved documents listed per pair, the first by document id (a sample to look at, never all)."""
MAX_RUN_ID = 200


class CompareExecutionsRequest(StorableBody):
    """Body of the compare: the runs, the first being the reference the others are related to."""

    model_config = ConfigDict(extra="forbid")

    run_ids: list[str] = Field(
        json_schema_extra={"minItems": MIN_COMPARE_RUNS, "maxItems": MAX_COMPARE_RUNS},
        description=f"{MIN_COMPARE_RUNS} to {MAX_COMPARE_RUNS} distinct completed runs of the namespace (of this "
        "cluster or of any other: runs over the same documents are comparable); the first is the reference.",
    )

    @field_validator("run_ids")
    @classmethod
    def _distinct(cls, run_ids: list[str]) -> list[str]:
        if not MIN_COMPARE_RUNS <= len(run_ids) <= MAX_COMPARE_RUNS:
            raise ValueError(
                f"name {MIN_COMPARE_RUNS} to {MAX_COMPARE_RUNS} runs to compare (got {len(run_ids)}): the first is the "
                "reference, each other one is compared with it"
            )
        seen: set[str] = set()
        for i, run_id in enumerate(run_ids):
            if not run_id or len(run_id) > MAX_RUN_ID:
                raise ValueError(f"run_ids[{i}] must be a run id of 1 to {MAX_RUN_ID} characters")
            if run_id in seen:
                raise ValueError(f"run_ids[{i}]: {run_id!r} is listed twice; name each run once")
            seen.add(run_id)
        return run_ids


class ConfigDifference(WireModel):
    """One effective-config key whose value is not the same in every run."""

    key: str = Field(description="Dotted path in the effective config, e.g. 'params.n_clusters'.")
    values: list[Any] = Field(description="The value in each run, in the order of 'runs' (null when absent).")


class MeasureComparison(WireModel):
    """One declared measure (GET /v1/meta/measures) across the runs."""

    name: str = Field(description="The measure's name, as declared.")
    label: str
    direction: Direction | None = Field(description="Which way is better; null when neither is.")
    values: list[float | None] = Field(description="The value of each run, in the order of 'runs'.")
    best_run_id: str | None = Field(
        description="The run with the best value by the direction (the first of equals); null without a "
        "direction or when no run has a value."
    )


class ClusterMatch(WireModel):
    """A reference cluster and the other run's cluster it is matched to (one-to-one, by overlap)."""

    reference_cluster_id: str
    other_cluster_id: str | None = Field(description="Null when nothing could be matched to the reference cluster.")
    overlap: int = Field(description="Shared documents in both clusters.")
    jaccard: float | None = Field(description="overlap ÷ union, both clusters counted over the shared documents.")
    reference_label: str | None = None
    other_label: str | None = None


class ClusterFlow(WireModel):
    """Shared documents going from a reference cluster to an other run's cluster (null: noise)."""

    reference_cluster_id: str | None
    other_cluster_id: str | None
    documents: int


class MovedDocument(WireModel):
    """A shared document that left the cluster matched to its reference cluster."""

    document_id: str
    reference_cluster_id: str | None
    other_cluster_id: str | None


class RunPair(WireModel):
    """How one run relates to the reference run, over the documents both clustered."""

    reference_run_id: str
    other_run_id: str
    shared_documents: int
    ari: float | None = Field(description="Adjusted Rand index (scikit-learn's), noise as its own label.")
    ami: float | None = Field(description="Adjusted mutual information (scikit-learn's), noise as its own label.")
    matched_fraction: float | None = Field(description="Share of shared documents that stay in the matched cluster.")
    moved_documents: int | None = Field(description="Shared documents that did not.")
    note: str | None = Field(default=None, description="Why the scores are null (too few shared documents).")
    matches: list[ClusterMatch] = Field(
        description="One per reference cluster with shared documents (noise excluded), in its order (cl_0 is its largest)."
    )
    unmatched_other_cluster_ids: list[str] = Field(
        description="Clusters of the other run matched to no reference cluster (new, or split off)."
    )
    flows: list[ClusterFlow] = Field(description=f"The largest flows, at most {MAX_FLOWS}, largest first.")
    flow_count: int = Field(description="How many non-empty (reference, other) pairs there are in all.")
    moved_sample: list[MovedDocument] = Field(
        description=f"The first {MOVED_SAMPLE_SIZE} moved documents by document id."
    )


class CompareExecutionsResponse(WireModel):
    """The compared runs and how they differ."""

    runs: list[ClusterExecutionResult] = Field(description="The runs, in the requested order (as the listing shows).")
    config_diff: list[ConfigDifference] = Field(description="Effective-config keys that differ; equal ones left out.")
    metrics: list[MeasureComparison] = Field(description="Every declared measure, in declaration order.")
    pairs: list[RunPair] = Field(description="Each run after the first, related to the first.")
