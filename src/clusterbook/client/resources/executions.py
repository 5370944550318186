"""``client.executions``: a cluster's execution history (list, walk), one run, the latest run, cancel,
waiting for a run to end, comparing runs, trends, the config fields present, and a run's
per-document results (members, projection)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import Literal

from clusterbook.client._errors import WaitTimeout
from clusterbook.client._http import AsyncTransport, Call, SyncTransport, Target, model, optional_model, route
from clusterbook.client._params import ITER_PAGE_SIZE, SortLike, list_body, page_params
from clusterbook.client.filters import FilterLike
from clusterbook.client.resources._paging import awalk, walk
from clusterbook.client.resources.exports import MemberFormat, RunFormat, members_call, runs_call
from clusterbook.models.compare import CompareExecutionsResponse
from clusterbook.models.config_fields import ExecutionConfigFieldsResponse
from clusterbook.models.executions import ClusterExecutionResult, ExecutionStatus
from clusterbook.models.listing import ListClusterExecutionsResponse
from clusterbook.models.members import (
    ExecutionHierarchy,
    ExecutionMember,
    ExecutionProjection,
    ListExecutionMembersResponse,
)
from clusterbook.models.trends import ExecutionTrendsResponse

LIST = route("POST", "/v1/clusters/{cluster_id}/executions/list", idempotent=True)
LATEST = route("GET", "/v1/clusters/{cluster_id}/executions")
GET = route("GET", "/v1/clusters/{cluster_id}/executions/{run_id}")
CANCEL = route("POST", "/v1/clusters/{cluster_id}/executions/{run_id}/cancel")
MEMBERS = route("POST", "/v1/clusters/{cluster_id}/executions/{run_id}/members/list", idempotent=True)
PROJECTION = route("GET", "/v1/clusters/{cluster_id}/executions/{run_id}/projection")
HIERARCHY = route("GET", "/v1/clusters/{cluster_id}/executions/{run_id}/hierarchy")
FIND = route("GET", "/v1/executions/{run_id}")
COMPARE = route("POST", "/v1/clusters/{cluster_id}/executions/compare", idempotent=True)  # reads only
TRENDS = route("POST", "/v1/clusters/{cluster_id}/executions/trends", idempotent=True)  # reads only
CONFIG_FIELDS = route("GET", "/v1/clusters/{cluster_id}/executions/config-fields")

StatsScope = Literal["page", "all"]
TrendBucket = Literal["hour", "day", "week"]
OnUpdate = Callable[[ClusterExecutionResult], None]
DEFAULT_POLL_INTERVAL = 0.5


def _list(
    cluster_id: str,
    filters: FilterLike | None,
    sort: SortLike | None,
    search: str | None,
    stats_scope: StatsScope | None,
    page: int | None,
    page_size: int | None,
    cursor: str | None,
    group_by: str | None = None,
    percentiles: Sequence[float] | None = None,
) -> Call[ListClusterExecutionsResponse]:
    return Call.to(
        LIST,
        model(ListClusterExecutionsResponse),
        body=list_body(
            filters,
            sort,
            search,
            stats_scope=stats_scope,
            group_by=group_by,
            percentiles=None if percentiles is None else list(percentiles),
        ),
        params=page_params(page, page_size, cursor),
        cluster_id=cluster_id,
    )


def _runs(response: ListClusterExecutionsResponse) -> tuple[Sequence[ClusterExecutionResult], str | None]:
    return response.results, response.pagination.next_cursor


def _members(
    cluster_id: str,
    run_id: str,
    filters: FilterLike | None,
    sort: SortLike | None,
    search: str | None,
    page: int | None,
    page_size: int | None,
    cursor: str | None,
) -> Call[ListExecutionMembersResponse]:
    return Call.to(
        MEMBERS,
        model(ListExecutionMembersResponse),
        body=list_body(filters, sort, search),
        params=page_params(page, page_size, cursor),
        cluster_id=cluster_id,
        run_id=run_id,
    )


def _member_page(response: ListExecutionMembersResponse) -> tuple[Sequence[ExecutionMember], str | None]:
    return response.results, response.pagination.next_cursor


def _get(cluster_id: str, run_id: str, include_vectors: bool = False) -> Call[ClusterExecutionResult]:
    params = {"include_vectors": "true"} if include_vectors else None
    return Call.to(GET, model(ClusterExecutionResult), params=params, cluster_id=cluster_id, run_id=run_id)


def _compare(cluster_id: str, run_ids: Sequence[str]) -> Call[CompareExecutionsResponse]:
    if isinstance(run_ids, str):  # a lone id would be sent as one list item per character
        raise TypeError("run_ids must be a list of run ids, e.g. [reference_run_id, other_run_id]")
    return Call.to(COMPARE, model(CompareExecutionsResponse), body={"run_ids": list(run_ids)}, cluster_id=cluster_id)


def _trends(
    cluster_id: str,
    filters: FilterLike | None,
    search: str | None,
    bucket: TrendBucket | None,
    utc_offset_minutes: int | None,
    group_by: str | None,
) -> Call[ExecutionTrendsResponse]:
    body = list_body(filters, None, search, bucket=bucket, utc_offset_minutes=utc_offset_minutes, group_by=group_by)
    return Call.to(TRENDS, model(ExecutionTrendsResponse), body=body, cluster_id=cluster_id)


def _config_fields(cluster_id: str) -> Call[ExecutionConfigFieldsResponse]:
    return Call.to(CONFIG_FIELDS, model(ExecutionConfigFieldsResponse), cluster_id=cluster_id)


def is_finished(run: ClusterExecutionResult) -> bool:
    """Whether the run has ended: completed, failed or canceled."""
    return ExecutionStatus(run.status).is_terminal


def _pause(run: ClusterExecutionResult, deadline: float | None, poll_interval: float, timeout: float | None) -> float:
    """Seconds to sleep before the next poll of an unfinished run; WaitTimeout once the deadline passed."""
    if deadline is None:
        return poll_interval
    left = deadline - time.monotonic()
    if left <= 0:
        raise WaitTimeout(
            f"execution {run.run_id} is still {run.status} after {timeout or 0.0:g} s; it keeps running "
            "(wait again, or cancel it)",
            extra={"run_id": run.run_id, "cluster_id": run.cluster_id, "run_status": str(run.status)},
        )
    return min(poll_interval, left)


class Executions:
    """Runs of a cluster (the cluster addressed by id or name). Below, ``cluster`` is a cluster with
    some completed runs.

    >>> history = client.executions.list(cluster.cluster_id, filters=F.status == "completed", sort="-created_at")
    >>> history.total_count >= 1, {run.status for run in history.results}
    (True, {'completed'})
    >>> best = next(client.executions.iter(cluster.cluster_id, sort=F.silhouette_score.desc()))
    >>> client.executions.get(cluster.cluster_id, best.run_id).run_id == best.run_id
    True
    >>> client.executions.find(best.run_id).cluster_id == cluster.cluster_id
    True
    """

    def __init__(self, http: SyncTransport) -> None:
        self._http = http

    def list(
        self,
        cluster_id: str,
        *,
        filters: FilterLike | None = None,
        sort: SortLike | None = None,
        search: str | None = None,
        page: int | None = None,
        page_size: int | None = None,
        stats_scope: StatsScope | None = None,
        cursor: str | None = None,
        group_by: str | None = None,
        percentiles: Sequence[float] | None = None,
    ) -> ListClusterExecutionsResponse:
        """One page of the execution history with its total and stats.

        ``filters``: an ``F`` expression or a raw filter dict; ``sort``: ``"-metrics.silhouette_score"``,
        ``F.created_at.asc()`` or a dict; ``search``: whitespace-separated terms, all required;
        ``stats_scope="all"``: stats over every match instead of this page; ``cursor``: the
        ``pagination.next_cursor`` of the previous page (same filters, sort, search and page size).
        With ``stats_scope="all"``: ``group_by`` (``"status"``, ``"algorithm"``, ``"config.params.n_clusters"`` …)
        adds the same stats per value in ``groups``; ``percentiles=[50, 95]`` adds those percentiles of
        execution time and each metric in ``percentiles``.
        """
        call = _list(cluster_id, filters, sort, search, stats_scope, page, page_size, cursor, group_by, percentiles)
        return self._http.call(call)

    def iter(
        self,
        cluster_id: str,
        *,
        filters: FilterLike | None = None,
        sort: SortLike | None = None,
        search: str | None = None,
        page_size: int = ITER_PAGE_SIZE,
    ) -> Iterator[ClusterExecutionResult]:
        """Every matching run, walking the history by keyset cursor (stable while new runs arrive)."""
        return walk(
            lambda cursor: _runs(
                self._http.call(_list(cluster_id, filters, sort, search, None, None, page_size, cursor))
            )
        )

    def export(
        self,
        cluster_id: str,
        *,
        to: Target,
        format: RunFormat = "csv",
        filters: FilterLike | None = None,
        sort: SortLike | None = None,
        search: str | None = None,
        config_fields: Sequence[str] | None = None,
    ) -> int:
        """Export every run matching ``filters``/``sort``/``search`` (as :meth:`list` takes them) into
        ``to`` — a path (written as ``<name>.part`` and renamed once complete) or a binary file — as
        ``"csv"``, ``"ndjson"`` (the listing's rows) or ``"parquet"`` (typed columns). ``config_fields``
        adds columns such as ``"config.params.n_clusters"`` to CSV and Parquet. Streamed to disk; returns
        the bytes written."""
        return self._http.download(runs_call(cluster_id, format, filters, sort, search, config_fields), to)

    def export_members(
        self,
        cluster_id: str,
        run_id: str,
        *,
        to: Target,
        format: MemberFormat = "csv",
        fields: Sequence[str] | None = None,
    ) -> int:
        """Export where each document of the run landed (document id, cluster id, label, distance, and the
        ``metadata.<key>`` ``fields`` asked for) into ``to`` as ``"csv"`` or ``"parquet"``; returns the bytes written."""
        return self._http.download(members_call(cluster_id, run_id, format, fields), to)

    def get(self, cluster_id: str, run_id: str, *, include_vectors: bool = False) -> ClusterExecutionResult:
        """One run of the cluster (:class:`~clusterbook.errors.NotFound` when it has no such run);
        ``include_vectors``: each centroid's centre in ``vector``."""
        return self._http.call(_get(cluster_id, run_id, include_vectors))

    def find(self, run_id: str) -> ClusterExecutionResult:
        """One run by its id alone, whatever its cluster (within the client's namespace)."""
        return self._http.call(Call.to(FIND, model(ClusterExecutionResult), run_id=run_id))

    def latest(self, cluster_id: str) -> ClusterExecutionResult | None:
        """The cluster's newest run, or ``None`` when it has never run."""
        return self._http.call(Call.to(LATEST, optional_model(ClusterExecutionResult), cluster_id=cluster_id))

    def cancel(self, cluster_id: str, run_id: str) -> ClusterExecutionResult:
        """Cancel a pending or processing run (:class:`~clusterbook.errors.Conflict` once it has ended)."""
        return self._http.call(Call.to(CANCEL, model(ClusterExecutionResult), cluster_id=cluster_id, run_id=run_id))

    def compare(self, cluster_id: str, run_ids: Sequence[str]) -> CompareExecutionsResponse:
        """Relate 2-4 completed runs of the namespace to the first one (computed by the server):
        ``config_diff``, ``metrics`` with each measure's ``best_run_id``, and per other run a ``pairs``
        entry with ARI/AMI, the cluster ``matches`` (Jaccard, both labels), the largest ``flows`` and a
        ``moved_sample``. :class:`~clusterbook.errors.ValidationFailed` names an unknown or unfinished run."""
        return self._http.call(_compare(cluster_id, run_ids))

    def trends(
        self,
        cluster_id: str,
        *,
        filters: FilterLike | None = None,
        search: str | None = None,
        bucket: TrendBucket | None = None,
        utc_offset_minutes: int | None = None,
        group_by: str | None = None,
    ) -> ExecutionTrendsResponse:
        """The matching runs in hour/day/week buckets of ``created_at`` (the server's default: days in UTC):
        counts by status, mean and median duration, mean silhouette. ``group_by`` (``"status"``,
        ``"algorithm"``, ``"config.params.n_clusters"`` …) adds the same buckets per value in ``groups``."""
        return self._http.call(_trends(cluster_id, filters, search, bucket, utc_offset_minutes, group_by))

    def config_fields(self, cluster_id: str) -> ExecutionConfigFieldsResponse:
        """The ``config.*`` fields the cluster's runs carry (declared ones, then each parameter found), with
        their value type and run count: the names ``F.config``/``F.param``, ``group_by`` and columns take."""
        return self._http.call(_config_fields(cluster_id))

    def wait(
        self,
        cluster_id: str,
        run_id: str,
        *,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        timeout: float | None = None,
        on_update: OnUpdate | None = None,
    ) -> ClusterExecutionResult:
        """Poll the run every ``poll_interval`` seconds until it ends and return it; ``on_update`` sees
        every polled state. :class:`~clusterbook.client.WaitTimeout` after ``timeout`` seconds."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            run = self.get(cluster_id, run_id)
            if on_update is not None:
                on_update(run)
            if is_finished(run):
                return run
            time.sleep(_pause(run, deadline, poll_interval, timeout))

    def members(
        self,
        cluster_id: str,
        run_id: str,
        *,
        filters: FilterLike | None = None,
        sort: SortLike | None = None,
        search: str | None = None,
        page: int | None = None,
        page_size: int | None = None,
        cursor: str | None = None,
    ) -> ListExecutionMembersResponse:
        """One page of where the run put each document (closest to its centre first by default);
        filter on ``cluster_id`` (``None`` for noise), ``document_id`` or ``distance``."""
        return self._http.call(_members(cluster_id, run_id, filters, sort, search, page, page_size, cursor))

    def iter_members(
        self,
        cluster_id: str,
        run_id: str,
        *,
        filters: FilterLike | None = None,
        sort: SortLike | None = None,
        search: str | None = None,
        page_size: int = ITER_PAGE_SIZE,
    ) -> Iterator[ExecutionMember]:
        """Every matching member of the run, page by page."""
        return walk(
            lambda cursor: _member_page(
                self._http.call(_members(cluster_id, run_id, filters, sort, search, None, page_size, cursor))
            )
        )

    def projection(self, cluster_id: str, run_id: str) -> ExecutionProjection:
        """A 2-D projection of a sample of the run's points and its cluster centres (completed runs only)."""
        return self._http.call(Call.to(PROJECTION, model(ExecutionProjection), cluster_id=cluster_id, run_id=run_id))

    def hierarchy(self, cluster_id: str, run_id: str) -> ExecutionHierarchy:
        """The labelled tree the run built over its clusters (:class:`~clusterbook.errors.NotFound` without one)."""
        return self._http.call(Call.to(HIERARCHY, model(ExecutionHierarchy), cluster_id=cluster_id, run_id=run_id))


class AsyncExecutions:
    """The async twin of :class:`Executions`."""

    def __init__(self, http: AsyncTransport) -> None:
        self._http = http

    async def list(
        self,
        cluster_id: str,
        *,
        filters: FilterLike | None = None,
        sort: SortLike | None = None,
        search: str | None = None,
        page: int | None = None,
        page_size: int | None = None,
        stats_scope: StatsScope | None = None,
        cursor: str | None = None,
        group_by: str | None = None,
        percentiles: Sequence[float] | None = None,
    ) -> ListClusterExecutionsResponse:
        call = _list(cluster_id, filters, sort, search, stats_scope, page, page_size, cursor, group_by, percentiles)
        return await self._http.call(call)

    def iter(
        self,
        cluster_id: str,
        *,
        filters: FilterLike | None = None,
        sort: SortLike | None = None,
        search: str | None = None,
        page_size: int = ITER_PAGE_SIZE,
    ) -> AsyncIterator[ClusterExecutionResult]:
        async def fetch(cursor: str | None) -> tuple[Sequence[ClusterExecutionResult], str | None]:
            return _runs(await self._http.call(_list(cluster_id, filters, sort, search, None, None, page_size, cursor)))

        return awalk(fetch)

    async def export(
        self,
        cluster_id: str,
        *,
        to: Target,
        format: RunFormat = "csv",
        filters: FilterLike | None = None,
        sort: SortLike | None = None,
        search: str | None = None,
        config_fields: Sequence[str] | None = None,
    ) -> int:
        return await self._http.download(runs_call(cluster_id, format, filters, sort, search, config_fields), to)

    async def export_members(
        self,
        cluster_id: str,
        run_id: str,
        *,
        to: Target,
        format: MemberFormat = "csv",
        fields: Sequence[str] | None = None,
    ) -> int:
        return await self._http.download(members_call(cluster_id, run_id, format, fields), to)

    async def get(self, cluster_id: str, run_id: str, *, include_vectors: bool = False) -> ClusterExecutionResult:
        return await self._http.call(_get(cluster_id, run_id, include_vectors))

    async def find(self, run_id: str) -> ClusterExecutionResult:
        return await self._http.call(Call.to(FIND, model(ClusterExecutionResult), run_id=run_id))

    async def latest(self, cluster_id: str) -> ClusterExecutionResult | None:
        return await self._http.call(Call.to(LATEST, optional_model(ClusterExecutionResult), cluster_id=cluster_id))

    async def cancel(self, cluster_id: str, run_id: str) -> ClusterExecutionResult:
        return await self._http.call(
            Call.to(CANCEL, model(ClusterExecutionResult), cluster_id=cluster_id, run_id=run_id)
        )

    async def compare(self, cluster_id: str, run_ids: Sequence[str]) -> CompareExecutionsResponse:
        return await self._http.call(_compare(cluster_id, run_ids))

    async def trends(
        self,
        cluster_id: str,
        *,
        filters: FilterLike | None = None,
        search: str | None = None,
        bucket: TrendBucket | None = None,
        utc_offset_minutes: int | None = None,
        group_by: str | None = None,
    ) -> ExecutionTrendsResponse:
        return await self._http.call(_trends(cluster_id, filters, search, bucket, utc_offset_minutes, group_by))

    async def config_fields(self, cluster_id: str) -> ExecutionConfigFieldsResponse:
        return await self._http.call(_config_fields(cluster_id))

    async def wait(
        self,
        cluster_id: str,
        run_id: str,
        *,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        timeout: float | None = None,
        on_update: OnUpdate | None = None,
    ) -> ClusterExecutionResult:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            run = await self.get(cluster_id, run_id)
            if on_update is not None:
                on_update(run)
            if is_finished(run):
                return run
            await asyncio.sleep(_pause(run, deadline, poll_interval, timeout))

    async def members(
        self,
        cluster_id: str,
        run_id: str,
        *,
        filters: FilterLike | None = None,
        sort: SortLike | None = None,
        search: str | None = None,
        page: int | None = None,
        page_size: int | None = None,
        cursor: str | None = None,
    ) -> ListExecutionMembersResponse:
        return await self._http.call(_members(cluster_id, run_id, filters, sort, search, page, page_size, cursor))

    def iter_members(
        self,
        cluster_id: str,
        run_id: str,
        *,
        filters: FilterLike | None = None,
        sort: SortLike | None = None,
        search: str | None = None,
        page_size: int = ITER_PAGE_SIZE,
    ) -> AsyncIterator[ExecutionMember]:
        async def fetch(cursor: str | None) -> tuple[Sequence[ExecutionMember], str | None]:
            call = _members(cluster_id, run_id, filters, sort, search, None, page_size, cursor)
            return _member_page(await self._http.call(call))

        return awalk(fetch)

    async def projection(self, cluster_id: str, run_id: str) -> ExecutionProjection:
        return await self._http.call(
            Call.to(PROJECTION, model(ExecutionProjection), cluster_id=cluster_id, run_id=run_id)
        )

    async def hierarchy(self, cluster_id: str, run_id: str) -> ExecutionHierarchy:
        return await self._http.call(
            Call.to(HIERARCHY, model(ExecutionHierarchy), cluster_id=cluster_id, run_id=run_id)
        )
