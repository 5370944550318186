"""``client.schedules``: a cluster's triggers — create (cron in a time zone, an interval, or a count
of new documents), list, read, change, pause, resume, delete — and each one's firings."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from clusterbook.client._http import AsyncTransport, Call, SyncTransport, model, no_content, route
from clusterbook.client.resources.clusters import UNSET, Unset
from clusterbook.models.schedules import ListScheduleFiringsResponse, ListSchedulesResponse, Schedule

CREATE = route("POST", "/v1/clusters/{cluster_id}/schedules")
LIST = route("GET", "/v1/clusters/{cluster_id}/schedules")
GET = route("GET", "/v1/clusters/{cluster_id}/schedules/{schedule_id}")
UPDATE = route("PATCH", "/v1/clusters/{cluster_id}/schedules/{schedule_id}")
DELETE = route("DELETE", "/v1/clusters/{cluster_id}/schedules/{schedule_id}")
FIRINGS = route("GET", "/v1/clusters/{cluster_id}/schedules/{schedule_id}/firings")


def _create(
    cluster: str,
    cron: str | None,
    timezone: str | None,
    interval_seconds: int | None,
    new_documents: int | None,
    execute: Mapping[str, Any] | None,
    paused: bool,
    name: str | None,
) -> Call[Schedule]:
    given = {"cron": cron, "timezone": timezone, "interval_seconds": interval_seconds, "new_documents": new_documents}
    body: dict[str, Any] = {key: value for key, value in given.items() if value is not None}
    if execute is not None:
        body["execute"] = dict(execute)
    if paused:
        body["paused"] = True
    if name is not None:
        body["name"] = name
    return Call.to(CREATE, model(Schedule), body=body, cluster_id=cluster)


def _update(cluster: str, schedule_id: str, fields: Mapping[str, Any]) -> Call[Schedule]:
    body = {key: value for key, value in fields.items() if value is not UNSET}
    return Call.to(UPDATE, model(Schedule), body=body, cluster_id=cluster, schedule_id=schedule_id)


class Schedules:
    """Schedules of a cluster (by id or name). Give exactly one trigger to :meth:`create`.

    >>> nightly = client.schedules.create("history", cron="0 3 * * *", timezone="Europe/Berlin")
    >>> nightly.kind, nightly.trigger == f"schedule:{nightly.schedule_id}"
    ('cron', True)
    >>> client.schedules.pause("history", nightly.schedule_id).paused
    True
    >>> client.schedules.delete("history", nightly.schedule_id)
    """

    def __init__(self, http: SyncTransport) -> None:
        self._http = http

    def create(
        self,
        cluster: str,
        *,
        cron: str | None = None,
        timezone: str | None = None,
        interval_seconds: int | None = None,
        new_documents: int | None = None,
        execute: Mapping[str, Any] | None = None,
        paused: bool = False,
        name: str | None = None,
    ) -> Schedule:
        """A new schedule; ``execute`` is the body each run is submitted with (as for ``execute``).
        A bad cron expression or time zone raises :class:`~clusterbook.errors.ValidationFailed`."""
        call = _create(cluster, cron, timezone, interval_seconds, new_documents, execute, paused, name)
        return self._http.call(call)

    def list(self, cluster: str) -> ListSchedulesResponse:
        """Every schedule of the cluster, oldest first."""
        return self._http.call(Call.to(LIST, model(ListSchedulesResponse), cluster_id=cluster))

    def get(self, cluster: str, schedule_id: str) -> Schedule:
        return self._http.call(Call.to(GET, model(Schedule), cluster_id=cluster, schedule_id=schedule_id))

    def update(
        self,
        cluster: str,
        schedule_id: str,
        *,
        name: str | None | Unset = UNSET,
        cron: str | Unset = UNSET,
        timezone: str | Unset = UNSET,
        interval_seconds: int | Unset = UNSET,
        new_documents: int | Unset = UNSET,
        execute: Mapping[str, Any] | None | Unset = UNSET,
        paused: bool | Unset = UNSET,
    ) -> Schedule:
        """Change the fields given; a new trigger (one of cron, interval_seconds, new_documents) replaces the old."""
        fields = {"name": name, "cron": cron, "timezone": timezone, "interval_seconds": interval_seconds,
                  "new_documents": new_documents, "execute": execute, "paused": paused}  # fmt: skip
        return self._http.call(_update(cluster, schedule_id, fields))

    def pause(self, cluster: str, schedule_id: str) -> Schedule:
        """Pause: its slots are recorded as skipped ('paused') until :meth:`resume`."""
        return self._http.call(_update(cluster, schedule_id, {"paused": True}))

    def resume(self, cluster: str, schedule_id: str) -> Schedule:
        return self._http.call(_update(cluster, schedule_id, {"paused": False}))

    def delete(self, cluster: str, schedule_id: str) -> None:
        """Delete the schedule; the runs it started stay in the history."""
        self._http.call(Call.to(DELETE, no_content, cluster_id=cluster, schedule_id=schedule_id))

    def firings(self, cluster: str, schedule_id: str, *, limit: int = 20) -> ListScheduleFiringsResponse:
        """The newest ``limit`` (1-100) firings: the run each started, or why it skipped."""
        call = Call.to(
            FIRINGS,
            model(ListScheduleFiringsResponse),
            params={"limit": limit},
            cluster_id=cluster,
            schedule_id=schedule_id,
        )
        return self._http.call(call)


class AsyncSchedules:
    """The async twin of :class:`Schedules`."""

    def __init__(self, http: AsyncTransport) -> None:
        self._http = http

    async def create(
        self,
        cluster: str,
        *,
        cron: str | None = None,
        timezone: str | None = None,
        interval_seconds: int | None = None,
        new_documents: int | None = None,
        execute: Mapping[str, Any] | None = None,
        paused: bool = False,
        name: str | None = None,
    ) -> Schedule:
        call = _create(cluster, cron, timezone, interval_seconds, new_documents, execute, paused, name)
        return await self._http.call(call)

    async def list(self, cluster: str) -> ListSchedulesResponse:
        return await self._http.call(Call.to(LIST, model(ListSchedulesResponse), cluster_id=cluster))

    async def get(self, cluster: str, schedule_id: str) -> Schedule:
        return await self._http.call(Call.to(GET, model(Schedule), cluster_id=cluster, schedule_id=schedule_id))

    async def update(
        self,
        cluster: str,
        schedule_id: str,
        *,
        name: str | None | Unset = UNSET,
        cron: str | Unset = UNSET,
        timezone: str | Unset = UNSET,
        interval_seconds: int | Unset = UNSET,
        new_documents: int | Unset = UNSET,
        execute: Mapping[str, Any] | None | Unset = UNSET,
        paused: bool | Unset = UNSET,
    ) -> Schedule:
        fields = {"name": name, "cron": cron, "timezone": timezone, "interval_seconds": interval_seconds,
                  "new_documents": new_documents, "execute": execute, "paused": paused}  # fmt: skip
        return await self._http.call(_update(cluster, schedule_id, fields))

    async def pause(self, cluster: str, schedule_id: str) -> Schedule:
        return await self._http.call(_update(cluster, schedule_id, {"paused": True}))

    async def resume(self, cluster: str, schedule_id: str) -> Schedule:
        return await self._http.call(_update(cluster, schedule_id, {"paused": False}))

    async def delete(self, cluster: str, schedule_id: str) -> None:
        await self._http.call(Call.to(DELETE, no_content, cluster_id=cluster, schedule_id=schedule_id))

    async def firings(self, cluster: str, schedule_id: str, *, limit: int = 20) -> ListScheduleFiringsResponse:
        call = Call.to(
            FIRINGS,
            model(ListScheduleFiringsResponse),
            params={"limit": limit},
            cluster_id=cluster,
            schedule_id=schedule_id,
        )
        return await self._http.call(call)
