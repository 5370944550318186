"""Wire models of clusters (saved clustering configurations) and namespaces."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field, field_validator, model_validator

from clusterbook.models.base import StorableBody, UTCDatetime, WireModel
from clusterbook.models.filters import parse_filter_tree
from clusterbook.models.listing import PaginationResponse

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9 _.\-]{0,127}$"
NAMESPACE_NAME_PATTERN = r"^[a-z0-9][a-z0-9_\-]{0,62}$"


class ReclusterPolicy(WireModel):
    """When the assign runs of a cluster say it is time for a full run again (``should_recluster``)."""

    model_config = ConfigDict(extra="forbid")

    max_unassigned_ratio: float = Field(
        default=0.2,
        ge=0.0,
        le=1.0,
        description="More than this share of an assign run's documents left unassigned: re-cluster.",
    )
    max_drift: float = Field(
        default=0.3,
        ge=0.0,
        le=1.0,
        description="An assign run's cluster shares further than this from the source run's (total variation "
        "distance, 0 the same shares, 1 disjoint): re-cluster.",
    )


HIERARCHY_LEVELS = (2, 5)


class HierarchyConfig(WireModel):
    """A tree over the flat clusters, built after them (agglomeration over the centres)."""

    model_config = ConfigDict(extra="forbid")

    levels: int = Field(
        ge=HIERARCHY_LEVELS[0],
        le=HIERARCHY_LEVELS[1],
        description=f"Levels below the root, {HIERARCHY_LEVELS[0]}-{HIERARCHY_LEVELS[1]}, the last being the flat "
        "clusters; level l has about k^(l/levels) groups (fewer levels when k is too small to tell them apart).",
    )


class ReassignNoise(WireModel):
    """Give noise points of a density run to the nearest cluster centre within ``max_distance``."""

    model_config = ConfigDict(extra="forbid")

    max_distance: float = Field(
        gt=0,
        le=1e6,
        allow_inf_nan=False,
        description="Largest Euclidean distance (in the clustered, normalised space) from a noise point to a "
        "cluster's centre for it to join that cluster; unit vectors are at most 2 apart.",
    )


class VectorConfig(WireModel):
    """How a vector cluster runs: algorithm (or preset), its parameters, preprocessing, sampling and normalisation.

    The algorithms, their parameters, the steps and the presets are listed by ``GET /v1/algorithms``."""

    model_config = ConfigDict(extra="forbid")

    clustering_method: str = Field(
        default="kmeans", min_length=1, max_length=64, description="An algorithm or a preset such as 'topics'."
    )
    algorithm_params: dict[str, Any] = Field(default_factory=dict)
    preprocessing: list[dict[str, Any]] | None = Field(
        default=None,
        max_length=16,
        description='Ordered steps applied to the vectors the fit sees, e.g. [{"step": "pca", "n_components": '
        "50}]; null: none, or the preset's. Metrics stay in the original space.",
    )
    reassign_noise: ReassignNoise | None = Field(
        default=None, description="Density algorithms only: reassign noise to the nearest centre within a bound."
    )
    sample_size: int | None = Field(
        default=None, ge=2, description="Opt into sampling: fit on this many documents, assign the rest."
    )
    normalize_features: bool = True
    embedder: str = Field(
        default="tfidf-svd",
        description="How vectors are computed from text when documents carry none: 'tfidf-svd' or 'minilm'.",
    )
    recluster: ReclusterPolicy = Field(
        default_factory=ReclusterPolicy, description="When assign runs report should_recluster."
    )
    hierarchy: HierarchyConfig | None = Field(
        default=None,
        description='Build a labelled tree over the clusters, e.g. {"levels": 2}: GET …/executions/{run_id}/hierarchy.',
    )


class AttributeConfig(WireModel):
    """How an attribute cluster groups documents: by one or more metadata attributes."""

    model_config = ConfigDict(extra="forbid")

    attributes: list[str] = Field(min_length=1)
    hierarchical_grouping: bool = Field(
        default=False,
        description="Nest the groups by the attributes in order (country → city), one tree level per attribute: "
        "GET …/executions/{run_id}/hierarchy.",
    )


class LLMLabelingConfig(WireModel):
    """Optional LLM labeling of the clusters a run finds."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = False
    provider: str | None = None
    model_name: str | None = None
    base_url: str | None = Field(
        default=None,
        max_length=500,
        description="An OpenAI-compatible API (…/v1); default CLUSTERBOOK_LLM_BASE_URL. The key comes "
        "from CLUSTERBOOK_LLM_API_KEY, never from the cluster.",
    )
    include_summary: bool = True
    include_keywords: bool = True


def check_type_config(cluster_type: str, attribute_config: object) -> None:
    """Attribute clusters need an attribute_config; vector clusters may not have one."""
    if cluster_type == "attribute" and attribute_config is None:
        raise ValueError('cluster_type \'attribute\' needs attribute_config: {"attributes": ["metadata field", ...]}')
    if cluster_type == "vector" and attribute_config is not None:
        raise ValueError("attribute_config applies only to cluster_type 'attribute'; drop it or change cluster_type")


class _ClusterFields(StorableBody):
    model_config = ConfigDict(extra="forbid")

    @field_validator("cluster_name", check_fields=False)
    @classmethod
    def _not_an_id(cls, value: str | None) -> str | None:
        # Clusters are addressed by id or name in one path segment; a name shaped like an id could
        # shadow another cluster.
        if value is not None and value.startswith("clust_"):
            raise ValueError("cluster_name may not start with 'clust_' (that prefix is reserved for cluster ids)")
        return value

    @field_validator("filters", check_fields=False)
    @classmethod
    def _valid_filters(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        parse_filter_tree(value)
        return value


class ClusterCreate(_ClusterFields):
    """Body of ``POST /v1/clusters``."""

    cluster_name: str = Field(pattern=NAME_PATTERN, description="Unique within the namespace.")
    collection_ids: list[str] = Field(default_factory=list)
    cluster_type: Literal["vector", "attribute"] = "vector"
    vector_config: VectorConfig | None = None
    attribute_config: AttributeConfig | None = None
    filters: dict[str, Any] | None = None
    llm_labeling: LLMLabelingConfig | None = None
    description: str | None = Field(default=None, max_length=2000)

    @model_validator(mode="after")
    def _config_matches_type(self) -> ClusterCreate:
        if self.cluster_type == "attribute" and self.attribute_config is None:
            raise ValueError(
                'cluster_type \'attribute\' needs attribute_config: {"attributes": ["metadata field", ...]}'
            )
        if self.cluster_type == "vector" and self.attribute_config is not None:
            raise ValueError(
                "attribute_config applies only to cluster_type 'attribute'; drop it or change cluster_type"
            )
        return self


class ClusterUpdate(_ClusterFields):
    """Body of ``PATCH /v1/clusters/{id}``: only the fields present change; an explicit null clears
    an optional field (``cluster_name`` and ``collection_ids`` cannot be cleared)."""

    cluster_name: str | None = Field(default=None, pattern=NAME_PATTERN)
    collection_ids: list[str] | None = None
    vector_config: VectorConfig | None = None
    attribute_config: AttributeConfig | None = None
    filters: dict[str, Any] | None = None
    llm_labeling: LLMLabelingConfig | None = None
    description: str | None = Field(default=None, max_length=2000)

    @model_validator(mode="after")
    def _required_stay_set(self) -> ClusterUpdate:
        for name in ("cluster_name", "collection_ids"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null; leave it out to keep the current value")
        return self


class Cluster(WireModel):
    """A saved cluster configuration."""

    cluster_id: str
    cluster_name: str
    namespace_id: str
    collection_ids: list[str]
    cluster_type: Literal["vector", "attribute"]
    vector_config: VectorConfig | None = None
    attribute_config: AttributeConfig | None = None
    filters: dict[str, Any] | None = None
    llm_labeling: LLMLabelingConfig | None = None
    description: str | None = None
    created_at: UTCDatetime
    updated_at: UTCDatetime
    should_recluster: bool = Field(
        default=False,
        description="The verdict of the cluster's latest assign run (cleared by a completed full run): too "
        "many documents unassigned, or cluster shares drifted too far from the source run.",
    )
    recluster_reason: str | None = Field(default=None, description="Why should_recluster is true.")
    recluster_run_id: str | None = Field(default=None, description="The assign run that said so.")


class ListClustersResponse(WireModel):
    """A page of clusters, in the same envelope as the execution listing."""

    results: list[Cluster]
    pagination: PaginationResponse
    total_count: int
    stats: None = None


class NamespaceCreate(StorableBody):
    """Body of ``POST /v1/namespaces``."""

    model_config = ConfigDict(extra="forbid")

    namespace_name: str = Field(pattern=NAMESPACE_NAME_PATTERN)


class Namespace(WireModel):
    """A tenant scope: every cluster and run belongs to exactly one."""

    namespace_id: str
    namespace_name: str
    created_at: UTCDatetime
