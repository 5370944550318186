"""Wire models of a run's per-document results: cluster memberships and the 2-D projection."""

from __future__ import annotations

from pydantic import Field

from clusterbook.models.base import WireModel
from clusterbook.models.listing import ListRequestBase, PaginationResponse


class ExecutionMember(WireModel):
    """Where one document landed in a run."""

    document_id: str
    cluster_id: str | None = Field(description="'cl_<n>' of the run, or null for a noise point.")
    distance: float | None = Field(description="Distance to its cluster's centre; null for noise.")


class ListExecutionMembersRequest(ListRequestBase):
    """Body of ``POST …/executions/{run_id}/members/list``: filter by cluster_id, document_id or
    distance; sort by distance (default: closest first), cluster_id or document_id."""


class ListExecutionMembersResponse(WireModel):
    results: list[ExecutionMember]
    pagination: PaginationResponse
    total_count: int


class ProjectionPoint(WireModel):
    document_id: str
    x: float
    y: float
    cluster_id: str | None


class ProjectionCentroid(WireModel):
    cluster_id: str
    x: float
    y: float


class ExecutionProjection(WireModel):
    """A 2-D projection of a seeded sample of a run's points plus its cluster centres."""

    run_id: str
    points: list[ProjectionPoint]
    centroids: list[ProjectionCentroid]
    sampled: int = Field(description="Points in this projection.")
    total: int = Field(description="Points the run clustered.")
