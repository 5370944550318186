"""``client.clusters``: create, read (by id or name), list, update and delete cluster configurations,
and execute them (optionally waiting for the run to end)."""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from typing import Any, Literal

from clusterbook.client._http import AsyncTransport, Call, SyncTransport, model, no_content, route
from clusterbook.client._params import ITER_PAGE_SIZE, SortLike, list_body, page_params
from clusterbook.client.filters import FilterLike, filter_json
from clusterbook.client.resources._paging import awalk, walk
from clusterbook.client.resources.executions import DEFAULT_POLL_INTERVAL, AsyncExecutions, Executions, OnUpdate
from clusterbook.models.clusters import (
    AttributeConfig,
    Cluster,
    ListClustersResponse,
    LLMLabelingConfig,
    VectorConfig,
)
from clusterbook.models.estimates import ExecutionEstimate
from clusterbook.models.executions import ClusterExecutionResult

CREATE = route("POST", "/v1/clusters")
LIST = route("POST", "/v1/clusters/list", idempotent=True)
GET = route("GET", "/v1/clusters/{cluster_id}")
UPDATE = route("PATCH", "/v1/clusters/{cluster_id}")
DELETE = route("DELETE", "/v1/clusters/{cluster_id}")
EXECUTE = route("POST", "/v1/clusters/{cluster_id}/execute")
ESTIMATE = route("POST", "/v1/clusters/{cluster_id}/execute/estimate")


class Unset(enum.Enum):
    """Marks an argument of :meth:`Clusters.update` that was not given (``None`` clears a field)."""

    UNSET = "UNSET"


UNSET = Unset.UNSET

ConfigLike = Mapping[str, Any]


def _config(value: VectorConfig | AttributeConfig | LLMLabelingConfig | ConfigLike | None) -> Any:
    return value.to_dict() if isinstance(value, VectorConfig | AttributeConfig | LLMLabelingConfig) else value


def _create(
    cluster_name: str,
    collection_ids: Sequence[str],
    cluster_type: Literal["vector", "attribute"],
    vector_config: VectorConfig | ConfigLike | None,
    attribute_config: AttributeConfig | ConfigLike | None,
    filters: FilterLike | None,
    llm_labeling: LLMLabelingConfig | ConfigLike | None,
    description: str | None,
) -> Call[Cluster]:
    body: dict[str, Any] = {
        "cluster_name": cluster_name,
        "collection_ids": list(collection_ids),
        "cluster_type": cluster_type,
    }
    optional = {
        "vector_config": _config(vector_config),
        "attribute_config": _config(attribute_config),
        "filters": filter_json(filters),
        "llm_labeling": _config(llm_labeling),
        "description": description,
    }
    body.update({k: v for k, v in optional.items() if v is not None})
    return Call.to(CREATE, model(Cluster), body=body)


def _update(cluster: str, changes: dict[str, Any]) -> Call[Cluster]:
    body: dict[str, Any] = {
        k: (filter_json(v) if k == "filters" else _config(v)) for k, v in changes.items() if v is not UNSET
    }
    if "collection_ids" in body:
        body["collection_ids"] = list(body["collection_ids"])
    return Call.to(UPDATE, model(Cluster), body=body, cluster_id=cluster)


def _list(
    filters: FilterLike | None,
    sort: SortLike | None,
    search: str | None,
    page: int | None,
    page_size: int | None,
    cursor: str | None,
) -> Call[ListClustersResponse]:
    return Call.to(
        LIST,
        model(ListClustersResponse),
        body=list_body(filters, sort, search),
        params=page_params(page, page_size, cursor),
    )


def _page(response: ListClustersResponse) -> tuple[Sequence[Cluster], str | None]:
    return response.results, response.pagination.next_cursor


def _execute(
    cluster: str,
    run_name: str | None,
    algorithm_params: Mapping[str, Any] | None,
    random_state: int | None,
    sample_size: int | None,
    baseline_run_id: str | None | Unset = UNSET,
    stability: Mapping[str, Any] | None = None,
    assign: Mapping[str, Any] | None = None,
) -> Call[ClusterExecutionResult]:
    body: dict[str, Any] = {
        "run_name": run_name,
        "algorithm_params": None if algorithm_params is None else dict(algorithm_params),
        "random_state": random_state,
        "sample_size": sample_size,
        "stability": None if stability is None else dict(stability),
        **(assign or {}),
    }
    body = {k: v for k, v in body.items() if v is not None}
    if baseline_run_id is not UNSET:
        body["baseline_run_id"] = baseline_run_id  # None too: "no baseline"
    return Call.to(EXECUTE, model(ClusterExecutionResult), body=body, cluster_id=cluster)


def _assign(
    mode: str | None, source_run_id: str | None, assignment_threshold: float | None, documents: str | None
) -> dict[str, Any]:
    """The assign-mode fields of an execute body (the server refuses them without ``mode="assign"``)."""
    return {
        "mode": mode,
        "source_run_id": source_run_id,
        "assignment_threshold": assignment_threshold,
        "documents": documents,
    }


def _estimate(
    cluster: str, algorithm_params: Mapping[str, Any] | None, random_state: int | None, sample_size: int | None
) -> Call[ExecutionEstimate]:
    body = _execute(cluster, None, algorithm_params, random_state, sample_size).body
    return Call.to(ESTIMATE, model(ExecutionEstimate), body=body, cluster_id=cluster)


class Clusters:
    """Saved clustering configurations, and running them.

    >>> _ = client.collections.create("points")
    >>> _ = client.documents.upsert("points", [
    ...     {"document_id": f"p{i}", "vector": [i % 2 * 10 + i / 100, i % 2 * 10 - i / 100]} for i in range(20)
    ... ])
    >>> pairs = client.clusters.create(
    ...     "pairs", collection_ids=["points"],
    ...     vector_config={"clustering_method": "kmeans", "algorithm_params": {"n_clusters": 2}},
    ... )
    >>> run = client.clusters.execute("pairs", run_name="first", wait=True, timeout=120)
    >>> run.status, run.num_clusters, run.num_points
    ('completed', 2, 20)
    >>> client.clusters.update("pairs", description="two blobs").description
    'two blobs'
    >>> [c.cluster_name for c in client.clusters.list(search="pairs").results]
    ['pairs']
    >>> client.clusters.delete("pairs")
    """

    def __init__(self, http: SyncTransport, executions: Executions) -> None:
        self._http = http
        self._executions = executions

    def create(
        self,
        cluster_name: str,
        *,
        collection_ids: Sequence[str] = (),
        cluster_type: Literal["vector", "attribute"] = "vector",
        vector_config: VectorConfig | ConfigLike | None = None,
        attribute_config: AttributeConfig | ConfigLike | None = None,
        filters: FilterLike | None = None,
        llm_labeling: LLMLabelingConfig | ConfigLike | None = None,
        description: str | None = None,
    ) -> Cluster:
        """Create a cluster over ``collection_ids`` (ids or names); ``filters`` pre-filter the
        documents (``F.metadata("lang") == "en"``)."""
        return self._http.call(
            _create(
                cluster_name,
                collection_ids,
                cluster_type,
                vector_config,
                attribute_config,
                filters,
                llm_labeling,
                description,
            )
        )

    def get(self, cluster: str) -> Cluster:
        """One cluster by id or name (:class:`~clusterbook.errors.NotFound` when absent)."""
        return self._http.call(Call.to(GET, model(Cluster), cluster_id=cluster))

    def list(
        self,
        *,
        filters: FilterLike | None = None,
        sort: SortLike | None = None,
        search: str | None = None,
        page: int | None = None,
        page_size: int | None = None,
        cursor: str | None = None,
    ) -> ListClustersResponse:
        """One page of the namespace's clusters (newest first by default)."""
        return self._http.call(_list(filters, sort, search, page, page_size, cursor))

    def iter(
        self,
        *,
        filters: FilterLike | None = None,
        sort: SortLike | None = None,
        search: str | None = None,
        page_size: int = ITER_PAGE_SIZE,
    ) -> Iterator[Cluster]:
        """Every matching cluster, page by page."""
        return walk(lambda cursor: _page(self._http.call(_list(filters, sort, search, None, page_size, cursor))))

    def update(
        self,
        cluster: str,
        *,
        cluster_name: str | Unset = UNSET,
        collection_ids: Sequence[str] | Unset = UNSET,
        vector_config: VectorConfig | ConfigLike | None | Unset = UNSET,
        attribute_config: AttributeConfig | ConfigLike | None | Unset = UNSET,
        filters: FilterLike | None | Unset = UNSET,
        llm_labeling: LLMLabelingConfig | ConfigLike | None | Unset = UNSET,
        description: str | None | Unset = UNSET,
    ) -> Cluster:
        """Change only the fields given; ``None`` clears an optional one."""
        changes = {
            "cluster_name": cluster_name,
            "collection_ids": collection_ids,
            "vector_config": vector_config,
            "attribute_config": attribute_config,
            "filters": filters,
            "llm_labeling": llm_labeling,
            "description": description,
        }
        return self._http.call(_update(cluster, changes))

    def delete(self, cluster: str) -> None:
        """Delete a cluster and its whole execution history."""
        self._http.call(Call.to(DELETE, no_content, cluster_id=cluster))

    def estimate(
        self,
        cluster: str,
        *,
        algorithm_params: Mapping[str, Any] | None = None,
        random_state: int | None = None,
        sample_size: int | None = None,
    ) -> ExecutionEstimate:
        """What a run with these overrides would fit and cost, and whether the server would refuse it
        (``refused``, with the ``reason`` naming ``sample_size`` or ``pca_components``); nothing is queued.
        ``execute`` on a refused run raises :class:`~clusterbook.errors.RunTooLarge`."""
        return self._http.call(_estimate(cluster, algorithm_params, random_state, sample_size))

    def execute(
        self,
        cluster: str,
        *,
        run_name: str | None = None,
        algorithm_params: Mapping[str, Any] | None = None,
        random_state: int | None = None,
        sample_size: int | None = None,
        baseline_run_id: str | None | Unset = UNSET,
        stability: Mapping[str, Any] | None = None,
        mode: str | None = None,
        source_run_id: str | None = None,
        assignment_threshold: float | None = None,
        documents: str | None = None,
        wait: bool = False,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        timeout: float | None = None,
        on_update: OnUpdate | None = None,
    ) -> ClusterExecutionResult:
        """Submit a run (``algorithm_params`` merge over the cluster's for this run only) and return it
        pending; with ``wait=True``, poll until it ends and return it ended (completed, failed or
        canceled). A run that outlasts ``timeout`` raises :class:`~clusterbook.client.WaitTimeout`
        and keeps running. ``baseline_run_id``: the completed run to compare the new one with (None for
        none); left UNSET, the cluster's latest completed run. ``stability``: score each cluster's
        bootstrap stability, e.g. ``{"resamples": 5, "fraction": 0.8}`` (``metrics.stability`` and
        each centroid's ``stability``). ``mode="assign"``: place the documents changed since
        ``source_run_id`` (default: the latest completed run; ``documents="all"``: every one) against
        its centres, unassigned below ``assignment_threshold`` (cosine similarity, default 0.5)."""
        run = self._http.call(
            _execute(
                cluster,
                run_name,
                algorithm_params,
                random_state,
                sample_size,
                baseline_run_id,
                stability,
                _assign(mode, source_run_id, assignment_threshold, documents),
            )
        )
        if not wait:
            return run
        if on_update is not None:
            on_update(run)
        return self._executions.wait(
            run.cluster_id, run.run_id, poll_interval=poll_interval, timeout=timeout, on_update=on_update
        )


class AsyncClusters:
    """The async twin of :class:`Clusters`."""

    def __init__(self, http: AsyncTransport, executions: AsyncExecutions) -> None:
        self._http = http
        self._executions = executions

    async def create(
        self,
        cluster_name: str,
        *,
        collection_ids: Sequence[str] = (),
        cluster_type: Literal["vector", "attribute"] = "vector",
        vector_config: VectorConfig | ConfigLike | None = None,
        attribute_config: AttributeConfig | ConfigLike | None = None,
        filters: FilterLike | None = None,
        llm_labeling: LLMLabelingConfig | ConfigLike | None = None,
        description: str | None = None,
    ) -> Cluster:
        return await self._http.call(
            _create(
                cluster_name,
                collection_ids,
                cluster_type,
                vector_config,
                attribute_config,
                filters,
                llm_labeling,
                description,
            )
        )

    async def get(self, cluster: str) -> Cluster:
        return await self._http.call(Call.to(GET, model(Cluster), cluster_id=cluster))

    async def list(
        self,
        *,
        filters: FilterLike | None = None,
        sort: SortLike | None = None,
        search: str | None = None,
        page: int | None = None,
        page_size: int | None = None,
        cursor: str | None = None,
    ) -> ListClustersResponse:
        return await self._http.call(_list(filters, sort, search, page, page_size, cursor))

    def iter(
        self,
        *,
        filters: FilterLike | None = None,
        sort: SortLike | None = None,
        search: str | None = None,
        page_size: int = ITER_PAGE_SIZE,
    ) -> AsyncIterator[Cluster]:
        async def fetch(cursor: str | None) -> tuple[Sequence[Cluster], str | None]:
            return _page(await self._http.call(_list(filters, sort, search, None, page_size, cursor)))

        return awalk(fetch)

    async def update(
        self,
        cluster: str,
        *,
        cluster_name: str | Unset = UNSET,
        collection_ids: Sequence[str] | Unset = UNSET,
        vector_config: VectorConfig | ConfigLike | None | Unset = UNSET,
        attribute_config: AttributeConfig | ConfigLike | None | Unset = UNSET,
        filters: FilterLike | None | Unset = UNSET,
        llm_labeling: LLMLabelingConfig | ConfigLike | None | Unset = UNSET,
        description: str | None | Unset = UNSET,
    ) -> Cluster:
        changes = {
            "cluster_name": cluster_name,
            "collection_ids": collection_ids,
            "vector_config": vector_config,
            "attribute_config": attribute_config,
            "filters": filters,
            "llm_labeling": llm_labeling,
            "description": description,
        }
        return await self._http.call(_update(cluster, changes))

    async def delete(self, cluster: str) -> None:
        await self._http.call(Call.to(DELETE, no_content, cluster_id=cluster))

    async def estimate(
        self,
        cluster: str,
        *,
        algorithm_params: Mapping[str, Any] | None = None,
        random_state: int | None = None,
        sample_size: int | None = None,
    ) -> ExecutionEstimate:
        return await self._http.call(_estimate(cluster, algorithm_params, random_state, sample_size))

    async def execute(
        self,
        cluster: str,
        *,
        run_name: str | None = None,
        algorithm_params: Mapping[str, Any] | None = None,
        random_state: int | None = None,
        sample_size: int | None = None,
        baseline_run_id: str | None | Unset = UNSET,
        stability: Mapping[str, Any] | None = None,
        mode: str | None = None,
        source_run_id: str | None = None,
        assignment_threshold: float | None = None,
        documents: str | None = None,
        wait: bool = False,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        timeout: float | None = None,
        on_update: OnUpdate | None = None,
    ) -> ClusterExecutionResult:
        run = await self._http.call(
            _execute(
                cluster,
                run_name,
                algorithm_params,
                random_state,
                sample_size,
                baseline_run_id,
                stability,
                _assign(mode, source_run_id, assignment_threshold, documents),
            )
        )
        if not wait:
            return run
        if on_update is not None:
            on_update(run)
        return await self._executions.wait(
            run.cluster_id, run.run_id, poll_interval=poll_interval, timeout=timeout, on_update=on_update
        )
