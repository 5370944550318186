"""Wire models of the dashboard's aggregate views: execution trends over time and the cluster overview."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field, field_validator, model_validator

from clusterbook.models.base import StorableBody, UTCDatetime, WireModel
from clusterbook.models.executions import ClusterExecutionResult
from clusterbook.models.listing import ListRequestBase, check_group_by

TrendBucket = Literal["hour", "day", "week"]
MAX_UTC_OFFSET_MINUTES = 14 * 60
MAX_OVERVIEW_CLUSTERS = 100


class ExecutionTrendsRequest(ListRequestBase):
    """Body of ``POST /v1/clusters/{cluster_id}/executions/trends``: the listing's ``filters`` and
    ``search`` (the same language, the same compiler), grouped into buckets of ``created_at``."""

    bucket: TrendBucket = Field(default="day", description="Width of a bucket: hour, day or week (weeks start Monday).")
    utc_offset_minutes: int = Field(
        default=0,
        ge=-MAX_UTC_OFFSET_MINUTES,
        le=MAX_UTC_OFFSET_MINUTES,
        description="Where days and weeks begin: minutes east of UTC (e.g. 120 for UTC+2). Default UTC.",
    )
    group_by: str | None = Field(
        default=None,
        max_length=120,
        description="Also the same buckets per value of status, algorithm or a config.* field "
        "(config.params.n_clusters …), in the response's 'groups'.",
    )

    @field_validator("group_by")
    @classmethod
    def _group_by(cls, value: str | None) -> str | None:
        return check_group_by(value)

    @model_validator(mode="after")
    def _no_sort(self) -> ExecutionTrendsRequest:
        if self.sort is not None:
            raise ValueError("trends take no sort: buckets are always in time order")
        return self


class ExecutionTrendBucket(WireModel):
    """The runs created in one bucket: counts by status, durations of finished runs, mean silhouette."""

    start: UTCDatetime = Field(description="Start of the bucket, in the request's UTC offset.")
    total: int
    by_status: dict[str, int] = Field(description="Runs per status (statuses without runs left out).")
    avg_duration_ms: float | None = Field(description="Mean duration of completed and failed runs; null if none.")
    p50_duration_ms: float | None = Field(description="Median duration of completed and failed runs; null if none.")
    avg_silhouette_score: float | None = Field(description="Mean silhouette of runs that have one; null if none.")
    avg_num_clusters: float | None = Field(description="Mean clusters found by completed runs; null if none.")


class ExecutionTrendGroup(WireModel):
    """The trend of the runs whose ``group_by`` field has this value (null: runs without it)."""

    key: str | float | int | bool | None
    total_count: int = Field(description="Runs of this group (the sum of its buckets' totals).")
    buckets: list[ExecutionTrendBucket] = Field(
        description="One per bucket of the response's 'buckets', with the same starts (empty where the group has none)."
    )


class ExecutionTrendsResponse(WireModel):
    """Buckets in time order from the first to the last run matched; empty buckets between are included."""

    bucket: TrendBucket
    utc_offset_minutes: int
    buckets: list[ExecutionTrendBucket]
    total_count: int = Field(description="Runs matched (the sum of the buckets' totals).")
    groups: list[ExecutionTrendGroup] | None = Field(
        default=None, description="With group_by: the buckets per value, nulls last (absent otherwise)."
    )


class ClusterOverviewRequest(StorableBody):
    """Body of ``POST /v1/clusters/overview``: the clusters to summarise (ids, at most 100)."""

    model_config = ConfigDict(extra="forbid")

    cluster_ids: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(
        min_length=1, max_length=MAX_OVERVIEW_CLUSTERS
    )


class ClusterOverview(WireModel):
    """One cluster at a glance: how many runs it has, in which states, its latest and latest completed run."""

    cluster_id: str
    run_count: int
    runs_by_status: dict[str, int]
    latest_run: ClusterExecutionResult | None = None
    latest_completed_run: ClusterExecutionResult | None = Field(
        default=None, description="The newest completed run: its metrics are the cluster's current quality."
    )


class ClusterOverviewResponse(WireModel):
    """Overviews of the requested clusters of the namespace, in request order; unknown ids are left out."""

    results: list[ClusterOverview]
