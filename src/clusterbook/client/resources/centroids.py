"""``client.centroids``: curate a completed run's clusters — a curated label, summary or keywords
beside the computed ones, and merging clusters (the server rescores the run)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from clusterbook.client._http import AsyncTransport, Call, SyncTransport, model, route
from clusterbook.models.executions import ClusterExecutionResult

UPDATE = route("PATCH", "/v1/clusters/{cluster_id}/executions/{run_id}/centroids/{centroid_id}")
MERGE = route("POST", "/v1/clusters/{cluster_id}/executions/{run_id}/centroids/merge")


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()
"""Leave a field as it is (``None`` removes its override)."""


def _update(
    cluster_id: str, run_id: str, centroid_id: str, label: Any, summary: Any, keywords: Any
) -> Call[ClusterExecutionResult]:
    if isinstance(keywords, str):  # a lone word would be sent as one keyword per character
        raise TypeError("keywords must be a list of words, e.g. ['billing', 'refunds']")
    fields = {"label": label, "summary": summary, "keywords": keywords}
    body = {name: value for name, value in fields.items() if value is not UNSET}
    if body.get("keywords") is not None:
        body["keywords"] = list(body["keywords"])
    return Call.to(
        UPDATE, model(ClusterExecutionResult), body=body, cluster_id=cluster_id, run_id=run_id, centroid_id=centroid_id
    )


def _merge(cluster_id: str, run_id: str, cluster_ids: Sequence[str], label: str | None) -> Call[ClusterExecutionResult]:
    if isinstance(cluster_ids, str):
        raise TypeError("cluster_ids must be a list of cluster ids, e.g. ['cl_0', 'cl_3']")
    body: dict[str, Any] = {"cluster_ids": list(cluster_ids)}
    if label is not None:
        body["label"] = label
    return Call.to(MERGE, model(ClusterExecutionResult), body=body, cluster_id=cluster_id, run_id=run_id)


class Centroids:
    """The clusters of a completed run, curated by hand."""

    def __init__(self, http: SyncTransport) -> None:
        self._http = http

    def update(
        self,
        cluster_id: str,
        run_id: str,
        centroid_id: str,
        *,
        label: str | None = UNSET,
        summary: str | None = UNSET,
        keywords: Sequence[str] | None = UNSET,
    ) -> ClusterExecutionResult:
        """Curate one cluster (``centroid_id``, e.g. ``"cl_0"``) of a completed run: the fields given
        override the computed ones (``None`` removes that override). Returns the run, whose centroid
        shows ``label`` (effective), ``computed_label`` and ``override`` (who, when).
        :class:`~clusterbook.errors.Conflict` when the run has not completed."""
        return self._http.call(_update(cluster_id, run_id, centroid_id, label, summary, keywords))

    def merge(
        self, cluster_id: str, run_id: str, cluster_ids: Sequence[str], *, label: str | None = None
    ) -> ClusterExecutionResult:
        """Merge clusters of a completed run into the first one named; the server rewrites the
        memberships, rescores the run and records the merge in ``merges``. ``label`` becomes the
        merged cluster's curated label. :class:`~clusterbook.errors.ValidationFailed` names an unknown id."""
        return self._http.call(_merge(cluster_id, run_id, cluster_ids, label))


class AsyncCentroids:
    """:class:`Centroids` for ``AsyncClusterbook``."""

    def __init__(self, http: AsyncTransport) -> None:
        self._http = http

    async def update(
        self,
        cluster_id: str,
        run_id: str,
        centroid_id: str,
        *,
        label: str | None = UNSET,
        summary: str | None = UNSET,
        keywords: Sequence[str] | None = UNSET,
    ) -> ClusterExecutionResult:
        return await self._http.call(_update(cluster_id, run_id, centroid_id, label, summary, keywords))

    async def merge(
        self, cluster_id: str, run_id: str, cluster_ids: Sequence[str], *, label: str | None = None
    ) -> ClusterExecutionResult:
        return await self._http.call(_merge(cluster_id, run_id, cluster_ids, label))
