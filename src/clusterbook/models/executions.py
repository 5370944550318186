"""Wire models of one execution (a run): the contract's ClusterExecutionResult and its parts."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from clusterbook.models.base import UTCDatetime, WireModel


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


TERMINAL_STATUSES = frozenset({ExecutionStatus.COMPLETED, ExecutionStatus.FAILED, ExecutionStatus.CANCELED})
FINISHED_STATUSES = frozenset({ExecutionStatus.COMPLETED, ExecutionStatus.FAILED})
"""Statuses whose duration counts in ``avg_execution_time_ms`` (the contract: completed/failed)."""


class ClusterExecutionMetrics(WireModel):
    """Quality of a clustering; each metric is null when it could not be computed."""

    silhouette_score: float | None = Field(default=None, description="-1..1, higher is better.")
    davies_bouldin_index: float | None = Field(default=None, description="0..∞, lower is better.")
    calinski_harabasz_score: float | None = Field(default=None, description="0..∞, higher is better.")


class ClusterExecutionCentroid(WireModel):
    """One cluster of a run, with its size and what it is about."""

    cluster_id: str = Field(description="'cl_<n>', numbered by size within the run.")
    num_members: int
    label: str | None = None
    summary: str | None = None
    keywords: list[str] | None = None


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
        default=None, description="completed_at - created_at in milliseconds, set when the run ends."
    )
    error_traceback: str | None = None
