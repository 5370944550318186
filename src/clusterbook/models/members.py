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


class HierarchyNode(WireModel):
    """One node of a run's cluster tree: the root, a group of clusters, or one of the run's clusters."""

    node_id: str = Field(description="'root', 'h<level>_<n>' for a group, or the cluster's 'cl_<n>' for a leaf.")
    parent_id: str | None = Field(description="The node above; null for the root.")
    children: list[str] = Field(description="The nodes below, largest first; empty for a leaf.")
    level: int = Field(description="0 for the root, down to `levels` for the run's clusters.")
    num_members: int = Field(description="Documents in the clusters under this node.")
    label: str
    keywords: list[str] = Field(description="c-TF-IDF keywords of the node's members' texts, against its level.")
    cluster_ids: list[str] = Field(description="The run's clusters under this node.")


class ExecutionHierarchy(WireModel):
    """The tree a run built over its clusters (``vector_config.hierarchy`` or hierarchical attribute grouping)."""

    run_id: str
    levels: int = Field(description="Levels below the root that were built (the last: the run's clusters).")
    levels_requested: int | None = Field(default=None, description="Levels asked for; more than built when k is small.")
    method: str = Field(description="How the tree was made.")
    nodes: list[HierarchyNode] = Field(description="Root first, then level by level, the run's clusters last.")
