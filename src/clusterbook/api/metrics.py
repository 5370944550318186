"""``GET /metrics``: Prometheus text format (prometheus-client) for operators.

Two sources, kept apart on purpose:

* **This process**: request latency by route template (``clusterbook_http_request_duration_seconds``),
  measured by :class:`RequestMetrics`, an ASGI middleware that reads the matched route after routing,
  so ``/v1/clusters/{cluster_id}`` is one series however many clusters there are. Each app has its own
  ``CollectorRegistry`` (tests build many apps; a global registry would refuse the second).
* **The database**, read at scrape time by :class:`DatabaseCollector` (a custom collector built per
  scrape around the request's budgeted read session): runs by namespace and status, the execution
  time histogram, the queue and the workers' leases (``store/metrics.py``). Every API process answers
  the same figures, so scraping any one of them — or all of them — tells the truth about the cluster.

Protected like ``/v1``: once an API key exists, a scrape must send one (any valid key; the figures are
server-wide and carry namespace names).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import cast

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.orm import Session
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from clusterbook.api.deps import SessionDep, require_key
from clusterbook.store import metrics as store

UNMATCHED = "<unmatched>"
"""The route label of a request no route matched (404s of random paths stay one series)."""
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class RequestMetrics:
    """ASGI middleware timing each HTTP request into a histogram labelled by method, route template
    and status class (``2xx`` …)."""

    def __init__(self, app: ASGIApp, histogram: Histogram) -> None:
        self.app = app
        self.histogram = histogram

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = [500]

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or UNMATCHED
            self.histogram.labels(scope["method"], template, f"{status[0] // 100}xx").observe(
                time.perf_counter() - started
            )


def install_metrics(app: FastAPI) -> None:
    """The app's registry, its latency middleware and the ``/metrics`` route."""
    registry = CollectorRegistry(auto_describe=True)
    histogram = Histogram(
        "clusterbook_http_request_duration_seconds",
        "Time from a request's arrival to its response's end, by method, route template and status class.",
        ("method", "route", "status"),
        buckets=LATENCY_BUCKETS,
        registry=registry,
    )
    app.state.metrics_registry = registry
    app.add_middleware(RequestMetrics, histogram=histogram)
    app.include_router(router)


router = APIRouter(tags=["operations"])


@router.get(
    "/metrics",
    summary="Prometheus metrics (text format)",
    dependencies=[Depends(require_key)],
    include_in_schema=False,
)
def metrics(request: Request, session: SessionDep) -> Response:
    registry: CollectorRegistry = request.app.state.metrics_registry
    settings = request.app.state.settings
    scrape = _Scrape(registry, DatabaseCollector(session, lease_seconds=settings.lease_seconds))
    return Response(generate_latest(cast(CollectorRegistry, scrape)), media_type=CONTENT_TYPE_LATEST)


class _Scrape:
    """What ``generate_latest`` walks: this process's registry, then the database's figures."""

    def __init__(self, *collectors: Collector) -> None:
        self.collectors = collectors

    def collect(self) -> Iterator[Metric]:
        for collector in self.collectors:
            yield from collector.collect()


class DatabaseCollector(Collector):
    """The figures the database holds, read once per scrape (``store/metrics.py``)."""

    def __init__(self, session: Session, *, lease_seconds: float, now: datetime | None = None) -> None:
        self.session = session
        self.lease_seconds = lease_seconds
        self.now = now or datetime.now(UTC)

    def collect(self) -> Iterable[Metric]:
        yield from self._runs()
        yield from self._durations()
        yield from self._queue()
        yield from self._workers()
        yield from webhook_delivery_families(self.session)

    def _runs(self) -> Iterator[Metric]:
        runs = GaugeMetricFamily(
            "clusterbook_runs", "Runs in the history, by namespace and status.", labels=("namespace", "status")
        )
        for namespace, status, count in store.runs_by_namespace_status(self.session):
            runs.add_metric((namespace, status), count)
        yield runs

    def _durations(self) -> Iterator[Metric]:
        family = HistogramMetricFamily(
            "clusterbook_execution_duration_seconds",
            "Execution time of the runs (a worker taking it to its end), by namespace; buckets one octave "
            "apart from 16 ms to about 70 min, from the history's rollups.",
            labels=("namespace",),
        )
        for namespace, hist in store.duration_histograms(self.session).items():
            buckets: list[tuple[str, float]] = [(repr(edge), count) for edge, count in hist.buckets]
            buckets.append(("+Inf", hist.count))
            family.add_metric((namespace,), buckets, hist.total_seconds)
        yield family

    def _queue(self) -> Iterator[Metric]:
        state = store.queue_state(self.session)
        yield GaugeMetricFamily("clusterbook_queue_depth", "Runs waiting for a worker (pending).", value=state.pending)
        age = 0.0 if state.oldest_pending_at is None else max(0.0, (self.now - state.oldest_pending_at).total_seconds())
        yield GaugeMetricFamily(
            "clusterbook_queue_oldest_pending_age_seconds",
            "How long the oldest pending run has waited (0 when none waits).",
            value=age,
        )

    def _workers(self) -> Iterator[Metric]:
        leases = store.worker_leases(self.session)
        heartbeat = GaugeMetricFamily(
            "clusterbook_worker_last_heartbeat_timestamp_seconds",
            "When each worker computing runs last renewed a lease (its heartbeat), as Unix time; "
            "derived from the leases (expiry minus the lease length).",
            labels=("worker",),
        )
        running = GaugeMetricFamily("clusterbook_worker_runs", "Runs each worker is computing now.", labels=("worker",))
        for lease in leases:
            heartbeat.add_metric((lease.worker,), lease.lease_expires_at.timestamp() - self.lease_seconds)
            running.add_metric((lease.worker,), lease.runs)
        yield heartbeat
        yield running
        yield GaugeMetricFamily("clusterbook_workers_busy", "Workers computing at least one run.", value=len(leases))
        yield GaugeMetricFamily(
            "clusterbook_runs_lease_expired",
            "Runs still processing whose lease lapsed: their worker stopped heartbeating (the reaper requeues them).",
            value=store.expired_leases(self.session, self.now),
        )


def webhook_delivery_families(session: Session) -> Iterator[Metric]:
    """``clusterbook_webhook_deliveries{status}``: the delivery log by outcome (pending, delivering,
    delivered, failed), read at scrape time like the figures above; every status is reported, zero included."""
    family = GaugeMetricFamily(
        "clusterbook_webhook_deliveries",
        "Webhook deliveries in the log, by status (pending and delivering ones are still being tried).",
        labels=("status",),
    )
    for status, count in store.deliveries_by_status(session).items():
        family.add_metric((status,), count)
    yield family
