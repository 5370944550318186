"""``client.monitors``: a cluster's saved alert rules, their state and their alert history.

A rule is a dict (or a rule model of ``clusterbook.models.monitors``), e.g.
``{"kind": "failure_rate", "last_runs": 10, "above": 0.3}``,
``{"kind": "metric", "measure": "silhouette_score", "below": 0.25}``,
``{"kind": "metric", "measure": "stability", "below_median": {"last_runs": 5, "delta": 0.05}}``,
``{"kind": "no_completed_run", "for_seconds": 86400}``. The server validates it (422 naming the field).
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from typing import Any

from clusterbook.client._http import AsyncTransport, Call, SyncTransport, model, no_content, route
from clusterbook.models.monitors import (
    FailureRateRule,
    ListMonitorAlertsResponse,
    ListMonitorsResponse,
    MetricRule,
    Monitor,
    NoCompletedRunRule,
)

CREATE = route("POST", "/v1/clusters/{cluster_id}/monitors")
LIST = route("GET", "/v1/clusters/{cluster_id}/monitors")
GET = route("GET", "/v1/clusters/{cluster_id}/monitors/{monitor_id}")
UPDATE = route("PATCH", "/v1/clusters/{cluster_id}/monitors/{monitor_id}")
DELETE = route("DELETE", "/v1/clusters/{cluster_id}/monitors/{monitor_id}")
ALERTS = route("GET", "/v1/clusters/{cluster_id}/monitors/{monitor_id}/alerts")

RuleLike = FailureRateRule | MetricRule | NoCompletedRunRule | Mapping[str, Any]


def _rule(rule: RuleLike) -> Any:
    return rule.to_dict() if isinstance(rule, FailureRateRule | MetricRule | NoCompletedRunRule) else dict(rule)


def _create(cluster: str, name: str, rule: RuleLike, paused: bool) -> Call[Monitor]:
    body = {"name": name, "rule": _rule(rule), "paused": paused}
    return Call.to(CREATE, model(Monitor), body=body, cluster_id=cluster)


def _update(cluster: str, monitor: str, name: str | None, rule: RuleLike | None, paused: bool | None) -> Call[Monitor]:
    body: dict[str, Any] = {"name": name, "rule": None if rule is None else _rule(rule), "paused": paused}
    body = {k: v for k, v in body.items() if v is not None}
    return Call.to(UPDATE, model(Monitor), body=body, cluster_id=cluster, monitor_id=monitor)


def _alerts(cluster: str, monitor: str, page: int | None, page_size: int | None) -> Call[ListMonitorAlertsResponse]:
    return Call.to(
        ALERTS,
        model(ListMonitorAlertsResponse),
        params={"page": page, "page_size": page_size},
        cluster_id=cluster,
        monitor_id=monitor,
    )


class Monitors:
    """Monitors of a cluster (by id or name), each found by id or name.

    >>> m = client.monitors.create("history", "failures", {"kind": "failure_rate", "last_runs": 10, "above": 0.3})
    >>> m.state
    'ok'
    >>> [a.event for a in client.monitors.alerts("history", "failures").results]
    []
    """

    def __init__(self, http: SyncTransport) -> None:
        self._http = http

    def create(self, cluster: str, name: str, rule: RuleLike, *, paused: bool = False) -> Monitor:
        """Save a monitor (409 :class:`~clusterbook.errors.Conflict` on a taken name)."""
        return self._http.call(_create(cluster, name, rule, paused))

    def list(self, cluster: str) -> builtins.list[Monitor]:
        """Every monitor of the cluster with its state."""
        return self._http.call(Call.to(LIST, model(ListMonitorsResponse), cluster_id=cluster)).results

    def get(self, cluster: str, monitor: str) -> Monitor:
        return self._http.call(Call.to(GET, model(Monitor), cluster_id=cluster, monitor_id=monitor))

    def update(
        self,
        cluster: str,
        monitor: str,
        *,
        name: str | None = None,
        rule: RuleLike | None = None,
        paused: bool | None = None,
    ) -> Monitor:
        """Change what is given; a new ``rule`` starts the monitor over in ``ok``."""
        return self._http.call(_update(cluster, monitor, name, rule, paused))

    def pause(self, cluster: str, monitor: str) -> Monitor:
        return self.update(cluster, monitor, paused=True)

    def resume(self, cluster: str, monitor: str) -> Monitor:
        return self.update(cluster, monitor, paused=False)

    def delete(self, cluster: str, monitor: str) -> None:
        self._http.call(Call.to(DELETE, no_content, cluster_id=cluster, monitor_id=monitor))

    def alerts(
        self, cluster: str, monitor: str, *, page: int | None = None, page_size: int | None = None
    ) -> ListMonitorAlertsResponse:
        """One page of the monitor's alert history, newest first."""
        return self._http.call(_alerts(cluster, monitor, page, page_size))


class AsyncMonitors:
    """The async twin of :class:`Monitors`."""

    def __init__(self, http: AsyncTransport) -> None:
        self._http = http

    async def create(self, cluster: str, name: str, rule: RuleLike, *, paused: bool = False) -> Monitor:
        return await self._http.call(_create(cluster, name, rule, paused))

    async def list(self, cluster: str) -> builtins.list[Monitor]:
        return (await self._http.call(Call.to(LIST, model(ListMonitorsResponse), cluster_id=cluster))).results

    async def get(self, cluster: str, monitor: str) -> Monitor:
        return await self._http.call(Call.to(GET, model(Monitor), cluster_id=cluster, monitor_id=monitor))

    async def update(
        self,
        cluster: str,
        monitor: str,
        *,
        name: str | None = None,
        rule: RuleLike | None = None,
        paused: bool | None = None,
    ) -> Monitor:
        return await self._http.call(_update(cluster, monitor, name, rule, paused))

    async def pause(self, cluster: str, monitor: str) -> Monitor:
        return await self.update(cluster, monitor, paused=True)

    async def resume(self, cluster: str, monitor: str) -> Monitor:
        return await self.update(cluster, monitor, paused=False)

    async def delete(self, cluster: str, monitor: str) -> None:
        await self._http.call(Call.to(DELETE, no_content, cluster_id=cluster, monitor_id=monitor))

    async def alerts(
        self, cluster: str, monitor: str, *, page: int | None = None, page_size: int | None = None
    ) -> ListMonitorAlertsResponse:
        return await self._http.call(_alerts(cluster, monitor, page, page_size))
