"""The SDK's resources, one module each, mirroring the API's route groups."""

from clusterbook.client.resources.algorithms import Algorithms, AsyncAlgorithms
from clusterbook.client.resources.centroids import AsyncCentroids, Centroids
from clusterbook.client.resources.clusters import AsyncClusters, Clusters
from clusterbook.client.resources.collections import AsyncCollections, Collections
from clusterbook.client.resources.documents import AsyncDocuments, Documents
from clusterbook.client.resources.executions import AsyncExecutions, Executions
from clusterbook.client.resources.monitors import AsyncMonitors, Monitors
from clusterbook.client.resources.namespaces import AsyncNamespaces, Namespaces
from clusterbook.client.resources.schedules import AsyncSchedules, Schedules
from clusterbook.client.resources.webhooks import AsyncWebhooks, Webhooks

__all__ = [
    "Algorithms",
    "AsyncAlgorithms",
    "AsyncCentroids",
    "Centroids",
    "AsyncClusters",
    "AsyncCollections",
    "AsyncDocuments",
    "AsyncExecutions",
    "AsyncMonitors",
    "AsyncNamespaces",
    "AsyncSchedules",
    "AsyncWebhooks",
    "Clusters",
    "Collections",
    "Documents",
    "Executions",
    "Monitors",
    "Namespaces",
    "Schedules",
    "Webhooks",
]
