"""Wire models shared by the API, the SDK and the CLI (pydantic v2, no SQL)."""

from clusterbook.models.base import WireModel
from clusterbook.models.clusters import (
    AttributeConfig,
    Cluster,
    ClusterCreate,
    ClusterUpdate,
    ListClustersResponse,
    LLMLabelingConfig,
    Namespace,
    NamespaceCreate,
    VectorConfig,
)
from clusterbook.models.executions import (
    ClusterExecutionCentroid,
    ClusterExecutionMetrics,
    ClusterExecutionResult,
    ExecutionStatus,
)
from clusterbook.models.filters import Condition, Group, parse_filter_tree
from clusterbook.models.listing import (
    ClusterExecutionListStats,
    ListClusterExecutionsRequest,
    ListClusterExecutionsResponse,
    ListClustersRequest,
    PaginationResponse,
    SortSpec,
)

__all__ = [
    "AttributeConfig",
    "Cluster",
    "ClusterCreate",
    "ClusterExecutionCentroid",
    "ClusterExecutionListStats",
    "ClusterExecutionMetrics",
    "ClusterExecutionResult",
    "ClusterUpdate",
    "Condition",
    "ExecutionStatus",
    "Group",
    "parse_filter_tree",
    "LLMLabelingConfig",
    "ListClusterExecutionsRequest",
    "ListClusterExecutionsResponse",
    "ListClustersRequest",
    "ListClustersResponse",
    "Namespace",
    "NamespaceCreate",
    "PaginationResponse",
    "SortSpec",
    "VectorConfig",
    "WireModel",
]
