"""API keys at the HTTP door: every 401, namespace binding, and the route walk — every /v1 route of the
app, found in ``app.routes``, called by tenant B with tenant A's ids must answer exactly what it
answers for an id that does not exist (and listings, totals and stats must show nothing of A)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import httpx
import numpy as np
import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from sqlalchemy import insert, select
from sqlalchemy.orm import Session, sessionmaker

from clusterbook.api.background import BackgroundServer
from clusterbook.api.deps import require_key
from clusterbook.engine.hierarchy import build_tree, tree_record
from clusterbook.engine.labeling import ClusterLabel
from clusterbook.models.monitors import MonitorCreate
from clusterbook.models.schedules import ScheduleCreate
from clusterbook.models.webhooks import WebhookCreate
from clusterbook.settings import Settings
from clusterbook.store.db import make_engine, make_sessionmaker
from clusterbook.store.keys import create_api_key, revoke_api_key
from clusterbook.store.monitors import create_monitor
from clusterbook.store.namespaces import ensure_namespace
from clusterbook.store.schedules import create_schedule
from clusterbook.store.tables import api_keys, execution_hierarchies, execution_members, execution_projections
from clusterbook.store.webhooks import create_webhook
from tests.api.helpers import assert_problem
from tests.factories import completed_fields, make_cluster, make_collection, make_documents, make_runs

# --------------------------------------------------------------------------- two tenants


@dataclass(frozen=True)
class Tenant:
    """One namespace's objects (every id and name it holds) and its key."""

    ns: str
    ns_id: str
    key: str
    key_id: str
    collection_id: str
    collection_name: str
    cluster_id: str
    cluster_name: str
    doc: str
    spare_doc: str  # deleted by the documents/delete route
    run: str  # completed, with members and a projection
    pending: str
    schedule: str
    webhook: str
    runs: tuple[str, ...] = field(default=())
    monitor_id: str = "mon_none"  # the cluster's monitor named MONITOR

    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


def writer(factory: sessionmaker[Session]) -> sessionmaker[Session]:
    """Sessions that take SQLite's write lock as they begin: a request's note of its key's use may be
    writing at the same moment (a deferred transaction would fail on it instead of waiting)."""
    return make_sessionmaker(factory.kw["bind"], writes=True)


def make_key(factory: sessionmaker[Session], *namespaces: str, name: str | None = None) -> tuple[str, str]:
    with writer(factory)() as session, session.begin():
        ids = [ensure_namespace(session, name=ns).namespace_id for ns in namespaces]
        key, secret = create_api_key(session, namespace_ids=ids, name=name)
    return key.key_id, secret


def make_tenant(factory: sessionmaker[Session], tag: str, extra_runs: int) -> Tenant:
    """A namespace ``tag`` with a collection of documents with vectors, a cluster over it, and runs:
    one completed with members and a projection, one pending, one failed, and ``extra_runs`` more."""
    collection = make_collection(factory, tag, collection_name=f"{tag}-docs")
    docs = [f"{tag}-doc-{i}" for i in range(6)]
    make_documents(
        factory,
        collection,
        [{"document_id": d, "text": f"{tag} text {i}", "vector": [i, 1.0]} for i, d in enumerate(docs)],
    )
    cluster = make_cluster(factory, tag, cluster_name=f"{tag}-cluster", collection_ids=[collection.collection_id])
    specs = [
        completed_fields(1),
        {"status": "pending", "num_points": 6, "num_clusters": 0},
        {"status": "failed", "num_points": 6, "num_clusters": 0, "error_message": f"{tag} failure"},
        *[completed_fields(10 + i) for i in range(extra_runs)],
    ]
    runs = make_runs(factory, cluster, specs)
    with factory() as session, session.begin():
        session.execute(
            insert(execution_members),
            [
                {"run_id": runs[0], "document_id": d, "cluster_id": f"cl_{i % 2}", "distance": 0.5}
                for i, d in enumerate(docs)
            ],
        )
        points = [{"document_id": d, "x": float(i), "y": 1.0, "cluster_id": f"cl_{i % 2}"} for i, d in enumerate(docs)]
        session.execute(
            insert(execution_projections).values(
                run_id=runs[0], projection={"points": points, "centroids": [], "sampled": 6, "total": 6}
            )
        )
        tree = build_tree([], np.array([4, 2]), [ClusterLabel("a", None, ["a"]), ClusterLabel("b", None, [])], [])
        session.execute(insert(execution_hierarchies).values(run_id=runs[0], hierarchy=tree_record(tree, 2, tag)))
    with writer(factory)() as session, session.begin():
        schedule = create_schedule(
            session, namespace_id=cluster.namespace_id, cluster_id=cluster.cluster_id,
            data=ScheduleCreate(interval_seconds=3600), now=datetime.now(UTC),
        ).schedule_id  # fmt: skip
    with factory() as session, session.begin():
        webhook = create_webhook(
            session,
            namespace_id=cluster.namespace_id,
            data=WebhookCreate(url=f"https://{tag}.example/hook", events=["execution.completed"]),
        ).webhook_id
        monitor = create_monitor(
            session,
            namespace_id=cluster.namespace_id,
            cluster_id=cluster.cluster_id,
            data=MonitorCreate.model_validate({"name": MONITOR, "rule": QUIET_RULE}),
        )
    key_id, key = make_key(factory, tag, name=f"{tag}-key")
    return Tenant(
        ns=tag,
        ns_id=cluster.namespace_id,
        key=key,
        key_id=key_id,
        collection_id=collection.collection_id,
        collection_name=collection.collection_name,
        cluster_id=cluster.cluster_id,
        cluster_name=cluster.cluster_name,
        doc=docs[0],
        spare_doc=docs[1],
        run=runs[0],
        pending=runs[1],
        schedule=schedule,
        webhook=webhook,
        runs=tuple(runs),
        monitor_id=monitor.monitor_id,
    )


def ghost(value: str) -> str:
    """A value of the same length that names nothing (so a response's length cannot differ)."""
    twin = value[:-4] + "zq" + value[-2:]
    assert twin != value and len(twin) == len(value)
    return twin


def ghost_tenant(t: Tenant) -> Tenant:
    changed = {
        name: ghost(getattr(t, name))
        for name in (
            "ns",
            "ns_id",
            "collection_id",
            "collection_name",
            "cluster_id",
            "cluster_name",
            "doc",
            "spare_doc",
            "run",
            "pending",
            "schedule",
            "webhook",
            "monitor_id",
        )
    }
    return replace(t, runs=tuple(ghost(r) for r in t.runs), **changed)


def substitutions(real: Tenant) -> list[tuple[str, str]]:
    fake = ghost_tenant(real)
    pairs = [
        (getattr(fake, n), getattr(real, n))
        for n in (
            "ns",
            "ns_id",
            "collection_id",
            "collection_name",
            "cluster_id",
            "cluster_name",
            "doc",
            "spare_doc",
            "run",
            "pending",
            "schedule",
            "webhook",
            "monitor_id",
        )
    ]
    pairs += list(zip(fake.runs, real.runs, strict=True))
    return sorted(set(pairs), key=lambda p: -len(p[0]))  # fmt: skip


@pytest.fixture
def tenants(session_factory: sessionmaker[Session], live_server: BackgroundServer) -> tuple[Tenant, Tenant]:
    """A (five runs) and B (three runs): alike, so a leak would show in counts as well as in ids."""
    return make_tenant(session_factory, "alpha", extra_runs=2), make_tenant(session_factory, "bravo", extra_runs=0)


# --------------------------------------------------------------------------- one call per route


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    json: Any = None
    params: dict[str, Any] | None = None
    compare: str = "bytes"  # "status": the answer holds fresh ids/timestamps (a create in B's own namespace)

    def send(self, http: httpx.Client, headers: dict[str, str]) -> httpx.Response:
        return http.request(self.method, self.path, json=self.json, params=self.params, headers=headers)


Spec = Callable[[Tenant, Tenant], list[Call]]
"""(owner of the ids, the caller) → the calls. The caller's own objects appear where a route needs
them (a path of its own with the owner's ids inside the body or a filter)."""

DOC = "{collection_id}/documents/{document_id:path}"
MONITOR = "watch"
"""Every tenant's cluster has a monitor of this name (``make_tenant``)."""
QUIET_RULE = {"kind": "no_completed_run", "for_seconds": 3600}
ROUTES: dict[tuple[str, str], Spec] = {
    ("GET", "/v1/namespaces"): lambda o, c: [Call("GET", "/v1/namespaces")],
    ("POST", "/v1/namespaces"): lambda o, c: [Call("POST", "/v1/namespaces", {"namespace_name": o.ns})],
    ("POST", "/v1/clusters"): lambda o, c: [
        Call("POST", "/v1/clusters", {"cluster_name": "copy", "collection_ids": [o.collection_id]}),
    ],
    ("POST", "/v1/clusters/list"): lambda o, c: [
        Call("POST", "/v1/clusters/list", {"filters": {"cluster_id": o.cluster_id}}),
        Call("POST", "/v1/clusters/list", {"search": o.cluster_name}),
    ],
    ("GET", "/v1/clusters/{cluster_id}"): lambda o, c: [
        Call("GET", f"/v1/clusters/{o.cluster_id}"),
        Call("GET", f"/v1/clusters/{o.cluster_name}"),
    ],
    ("PATCH", "/v1/clusters/{cluster_id}"): lambda o, c: [
        Call("PATCH", f"/v1/clusters/{o.cluster_id}", {"description": "taken over"}),
        Call("PATCH", f"/v1/clusters/{c.cluster_id}", {"collection_ids": [o.collection_id]}),
    ],
    ("DELETE", "/v1/clusters/{cluster_id}"): lambda o, c: [Call("DELETE", f"/v1/clusters/{o.cluster_id}")],
    ("POST", "/v1/collections"): lambda o, c: [
        Call("POST", "/v1/collections", {"collection_name": f"{o.ns}-more"}, compare="status")
    ],
    ("POST", "/v1/collections/list"): lambda o, c: [
        Call("POST", "/v1/collections/list", {"filters": {"collection_id": o.collection_id}}),
        Call("POST", "/v1/collections/list", {"filters": {"collection_name": o.collection_name}}),
    ],
    ("GET", "/v1/collections/{collection_id}"): lambda o, c: [Call("GET", f"/v1/collections/{o.collection_id}")],
    ("DELETE", "/v1/collections/{collection_id}"): lambda o, c: [Call("DELETE", f"/v1/collections/{o.collection_id}")],
    ("POST", "/v1/collections/{collection_id}/documents"): lambda o, c: [
        Call("POST", f"/v1/collections/{o.collection_id}/documents", {"documents": [{"document_id": o.doc, "text": "x"}]})
    ],
    ("POST", "/v1/collections/{collection_id}/documents/list"): lambda o, c: [
        Call("POST", f"/v1/collections/{o.collection_id}/documents/list", {}),
        Call("POST", f"/v1/collections/{c.collection_id}/documents/list", {"filters": {"document_id": o.doc}}),
    ],
    ("POST", "/v1/collections/{collection_id}/documents/delete"): lambda o, c: [
        Call("POST", f"/v1/collections/{o.collection_id}/documents/delete", {"document_ids": [o.spare_doc]}),
        Call("POST", f"/v1/collections/{c.collection_id}/documents/delete", {"document_ids": [o.spare_doc]}),
    ],
    ("GET", "/v1/collections/" + DOC): lambda o, c: [
        Call("GET", f"/v1/collections/{o.collection_id}/documents/{o.doc}"),
        Call("GET", f"/v1/collections/{c.collection_id}/documents/{o.doc}"),
    ],
    ("DELETE", "/v1/collections/" + DOC): lambda o, c: [
        Call("DELETE", f"/v1/collections/{o.collection_id}/documents/{o.doc}"),
        Call("DELETE", f"/v1/collections/{c.collection_id}/documents/{o.doc}"),
    ],
    ("POST", "/v1/clusters/{cluster_id}/execute"): lambda o, c: [Call("POST", f"/v1/clusters/{o.cluster_id}/execute", {})],
    ("POST", "/v1/clusters/{cluster_id}/execute/estimate"): lambda o, c: [
        Call("POST", f"/v1/clusters/{o.cluster_id}/execute/estimate", {})
    ],
    ("POST", "/v1/clusters/{cluster_id}/executions/list"): lambda o, c: [
        Call("POST", f"/v1/clusters/{o.cluster_id}/executions/list", {"stats_scope": "all"}),
        Call(
            "POST",
            f"/v1/clusters/{c.cluster_id}/executions/list",
            {"filters": {"run_id": {"in": list(o.runs)}}, "stats_scope": "all"},
        ),
        Call("POST", f"/v1/clusters/{c.cluster_id}/executions/list", {"search": o.run, "stats_scope": "all"}),
    ],
    ("GET", "/v1/clusters/{cluster_id}/executions"): lambda o, c: [Call("GET", f"/v1/clusters/{o.cluster_id}/executions")],
    ("GET", "/v1/clusters/{cluster_id}/executions/{run_id}"): lambda o, c: [
        Call("GET", f"/v1/clusters/{o.cluster_id}/executions/{o.run}"),
        Call("GET", f"/v1/clusters/{c.cluster_id}/executions/{o.run}"),
    ],
    ("POST", "/v1/clusters/{cluster_id}/executions/{run_id}/cancel"): lambda o, c: [
        Call("POST", f"/v1/clusters/{o.cluster_id}/executions/{o.pending}/cancel"),
        Call("POST", f"/v1/clusters/{c.cluster_id}/executions/{o.pending}/cancel"),
    ],
    ("POST", "/v1/clusters/{cluster_id}/executions/{run_id}/members/list"): lambda o, c: [
        Call("POST", f"/v1/clusters/{o.cluster_id}/executions/{o.run}/members/list", {}),
        Call("POST", f"/v1/clusters/{c.cluster_id}/executions/{o.run}/members/list", {}),
        Call("POST", f"/v1/clusters/{c.cluster_id}/executions/{c.run}/members/list", {"filters": {"document_id": o.doc}}),
    ],
    ("GET", "/v1/clusters/{cluster_id}/executions/{run_id}/hierarchy"): lambda o, c: [
        Call("GET", f"/v1/clusters/{o.cluster_id}/executions/{o.run}/hierarchy"),
        Call("GET", f"/v1/clusters/{c.cluster_id}/executions/{o.run}/hierarchy"),
    ],
    ("GET", "/v1/clusters/{cluster_id}/executions/{run_id}/projection"): lambda o, c: [
        Call("GET", f"/v1/clusters/{o.cluster_id}/executions/{o.run}/projection"),
        Call("GET", f"/v1/clusters/{c.cluster_id}/executions/{o.run}/projection"),
    ],
    ("PATCH", "/v1/clusters/{cluster_id}/executions/{run_id}/centroids/{centroid_id}"): lambda o, c: [
        Call("PATCH", f"/v1/clusters/{o.cluster_id}/executions/{o.run}/centroids/cl_0", {"label": "curated"}),
        Call("PATCH", f"/v1/clusters/{c.cluster_id}/executions/{o.run}/centroids/cl_0", {"label": "curated"}),
    ],
    ("POST", "/v1/clusters/{cluster_id}/executions/{run_id}/centroids/merge"): lambda o, c: [
        Call("POST", f"/v1/clusters/{o.cluster_id}/executions/{o.run}/centroids/merge", {"cluster_ids": ["cl_0", "cl_1"]}),
        Call("POST", f"/v1/clusters/{c.cluster_id}/executions/{o.run}/centroids/merge", {"cluster_ids": ["cl_0", "cl_1"]}),
    ],
    ("GET", "/v1/executions/{run_id}"): lambda o, c: [Call("GET", f"/v1/executions/{o.run}")],
    ("POST", "/v1/clusters/{cluster_id}/executions/compare"): lambda o, c: [
        Call("POST", f"/v1/clusters/{o.cluster_id}/executions/compare", {"run_ids": [o.run, o.runs[-1]]}),
        Call("POST", f"/v1/clusters/{c.cluster_id}/executions/compare", {"run_ids": [c.run, o.run]}),
        Call("POST", f"/v1/clusters/{c.cluster_id}/executions/compare", {"run_ids": [o.run, c.run]}),
    ],
    ("POST", "/v1/clusters/overview"): lambda o, c: [
        Call("POST", "/v1/clusters/overview", {"cluster_ids": [o.cluster_id, c.cluster_id]})
    ],
    ("POST", "/v1/clusters/{cluster_id}/executions/trends"): lambda o, c: [
        Call("POST", f"/v1/clusters/{o.cluster_id}/executions/trends", {}),
        Call("POST", f"/v1/clusters/{c.cluster_id}/executions/trends", {"search": o.run}),
    ],
    ("GET", "/v1/clusters/{cluster_id}/executions/config-fields"): lambda o, c: [
        Call("GET", f"/v1/clusters/{o.cluster_id}/executions/config-fields"),
    ],
    ("GET", "/v1/meta/measures"): lambda o, c: [Call("GET", "/v1/meta/measures")],
    ("POST", "/v1/clusters/{cluster_id}/schedules"): lambda o, c: [
        Call("POST", f"/v1/clusters/{o.cluster_id}/schedules", {"interval_seconds": 3600}),
    ],
    ("GET", "/v1/clusters/{cluster_id}/schedules"): lambda o, c: [Call("GET", f"/v1/clusters/{o.cluster_id}/schedules")],
    ("GET", "/v1/clusters/{cluster_id}/schedules/{schedule_id}"): lambda o, c: [
        Call("GET", f"/v1/clusters/{o.cluster_id}/schedules/{o.schedule}"),
        Call("GET", f"/v1/clusters/{c.cluster_id}/schedules/{o.schedule}"),
    ],
    ("GET", "/v1/clusters/{cluster_id}/schedules/{schedule_id}/firings"): lambda o, c: [
        Call("GET", f"/v1/clusters/{o.cluster_id}/schedules/{o.schedule}/firings"),
        Call("GET", f"/v1/clusters/{c.cluster_id}/schedules/{o.schedule}/firings"),
    ],
    ("PATCH", "/v1/clusters/{cluster_id}/schedules/{schedule_id}"): lambda o, c: [
        Call("PATCH", f"/v1/clusters/{o.cluster_id}/schedules/{o.schedule}", {"paused": True}),
        Call("PATCH", f"/v1/clusters/{c.cluster_id}/schedules/{o.schedule}", {"paused": True}),
    ],
    ("DELETE", "/v1/clusters/{cluster_id}/schedules/{schedule_id}"): lambda o, c: [
        Call("DELETE", f"/v1/clusters/{c.cluster_id}/schedules/{o.schedule}"),
        Call("DELETE", f"/v1/clusters/{o.cluster_id}/schedules/{o.schedule}"),
    ],
    ("GET", "/v1/meta/webhook-events"): lambda o, c: [Call("GET", "/v1/meta/webhook-events")],
    ("POST", "/v1/webhooks"): lambda o, c: [
        Call("POST", "/v1/webhooks", {"url": "https://example.com/x", "events": ["execution.failed"]}, compare="status")
    ],
    ("GET", "/v1/webhooks"): lambda o, c: [Call("GET", "/v1/webhooks")],
    ("GET", "/v1/webhooks/{webhook_id}"): lambda o, c: [Call("GET", f"/v1/webhooks/{o.webhook}")],
    ("PATCH", "/v1/webhooks/{webhook_id}"): lambda o, c: [Call("PATCH", f"/v1/webhooks/{o.webhook}", {"active": False})],
    ("DELETE", "/v1/webhooks/{webhook_id}"): lambda o, c: [Call("DELETE", f"/v1/webhooks/{o.webhook}")],
    ("GET", "/v1/webhooks/{webhook_id}/deliveries"): lambda o, c: [
        Call("GET", f"/v1/webhooks/{o.webhook}/deliveries"),
    ],
    ("POST", "/v1/clusters/{cluster_id}/monitors"): lambda o, c: [
        Call("POST", f"/v1/clusters/{o.cluster_id}/monitors", {"name": "m", "rule": QUIET_RULE}),
    ],
    ("GET", "/v1/clusters/{cluster_id}/monitors"): lambda o, c: [Call("GET", f"/v1/clusters/{o.cluster_id}/monitors")],
    ("GET", "/v1/clusters/{cluster_id}/monitors/{monitor_id}"): lambda o, c: [
        Call("GET", f"/v1/clusters/{o.cluster_id}/monitors/{MONITOR}"),
        Call("GET", f"/v1/clusters/{c.cluster_id}/monitors/{o.monitor_id}"),
    ],
    ("PATCH", "/v1/clusters/{cluster_id}/monitors/{monitor_id}"): lambda o, c: [
        Call("PATCH", f"/v1/clusters/{o.cluster_id}/monitors/{MONITOR}", {"paused": True}),
        Call("PATCH", f"/v1/clusters/{c.cluster_id}/monitors/{o.monitor_id}", {"paused": True}),
    ],
    ("DELETE", "/v1/clusters/{cluster_id}/monitors/{monitor_id}"): lambda o, c: [
        Call("DELETE", f"/v1/clusters/{o.cluster_id}/monitors/{MONITOR}"),
        Call("DELETE", f"/v1/clusters/{c.cluster_id}/monitors/{o.monitor_id}"),
    ],
    ("GET", "/v1/clusters/{cluster_id}/monitors/{monitor_id}/alerts"): lambda o, c: [
        Call("GET", f"/v1/clusters/{o.cluster_id}/monitors/{MONITOR}/alerts"),
        Call("GET", f"/v1/clusters/{c.cluster_id}/monitors/{o.monitor_id}/alerts"),
    ],
    ("POST", "/v1/clusters/{cluster_id}/executions/export"): lambda o, c: [
        Call("POST", f"/v1/clusters/{o.cluster_id}/executions/export", {}, {"format": "ndjson"}),
        Call("POST", f"/v1/clusters/{c.cluster_id}/executions/export", {"filters": {"run_id": o.run}}, {"format": "csv"}),
    ],
    ("GET", "/v1/clusters/{cluster_id}/executions/{run_id}/members/export"): lambda o, c: [
        Call("GET", f"/v1/clusters/{o.cluster_id}/executions/{o.run}/members/export", params={"format": "csv"}),
        Call("GET", f"/v1/clusters/{c.cluster_id}/executions/{o.run}/members/export", params={"format": "csv"}),
    ],
    ("POST", "/v1/collections/{collection_id}/documents/export"): lambda o, c: [
        Call("POST", f"/v1/collections/{o.collection_id}/documents/export", {}),
        Call("POST", f"/v1/collections/{c.collection_id}/documents/export", {"filters": {"document_id": o.doc}}),
    ],
    ("GET", "/v1/algorithms"): lambda o, c: [Call("GET", "/v1/algorithms")],
}  # fmt: skip


def _deletes(method: str, path: str) -> bool:
    return method == "DELETE" or path.endswith("/delete")


def api_routes(app: Any) -> list[tuple[str, str, Any]]:
    """Every (method, path, route) the app serves, nested routers included."""
    found = []
    for context in iter_route_contexts(app.routes):
        if isinstance(context.original_route, APIRoute):
            for method in sorted(context.methods or ()):
                found.append((method, context.path, context))
    return found


def v1_routes(app: Any) -> list[tuple[str, str, Any]]:
    return [r for r in api_routes(app) if r[1].startswith("/v1/")]


def has_key_check(route: Any) -> bool:
    return any(d.call is require_key for d in route.dependant.dependencies)


# --------------------------------------------------------------------------- the walk


def same_answer(real: httpx.Response, fake: httpx.Response, pairs: list[tuple[str, str]], call: Call) -> None:
    """Byte-identical once the ghost ids in the ghost's answer are put back to the real ones."""
    assert real.status_code == fake.status_code, (call, real.text, fake.text)
    if call.compare == "status":
        return
    body = fake.content
    for twin, value in pairs:
        body = body.replace(twin.encode(), value.encode())
    assert real.content == body, (call, real.text, fake.text)
    drop = {"date", "content-length"}
    assert {k: v for k, v in real.headers.items() if k not in drop} == {
        k: v for k, v in fake.headers.items() if k not in drop
    }, call
    assert real.headers.get("content-length") == fake.headers.get("content-length"), call


def leaks(response: httpx.Response, owner: Tenant, call: Call) -> list[str]:
    """The owner's ids and names in a successful answer. (A refusal may quote the request back: the
    byte comparison covers those. A create in the caller's namespace echoes the name it was given.)"""
    if response.status_code >= 400:
        return []
    words = [owner.ns_id, owner.collection_id, owner.cluster_id, *owner.runs, f"{owner.ns} text", f"{owner.ns} failure"]
    if call.compare != "status":
        words += [owner.doc, owner.collection_name, owner.cluster_name]
    return [w for w in words if w in response.text]


def test_every_v1_route_is_behind_the_key_check_and_in_the_walk(live_server: BackgroundServer):
    routes = v1_routes(live_server.app)
    assert len(routes) >= 26, routes
    missing = [(m, p) for m, p, r in routes if not has_key_check(r)]
    assert not missing, f"routes without the API-key dependency: {missing}"
    served = {(m, p) for m, p, _ in routes}
    assert served == set(ROUTES), (
        f"routes without a spec in the isolation walk: {sorted(served - set(ROUTES))}; "
        f"specs of routes that are gone: {sorted(set(ROUTES) - served)}"
    )
    others = [(m, p) for m, p, _ in api_routes(live_server.app) if not p.startswith("/v1/")]
    assert ("GET", "/healthz") in others
    assert all(not p.startswith("/v1") for _, p in others)


def test_no_route_lets_one_tenant_see_another(tenants: tuple[Tenant, Tenant], http: httpx.Client):
    a, b = tenants
    pairs = substitutions(a)
    walked = 0
    for (method, _path), spec in ROUTES.items():
        for call, twin in zip(spec(a, b), spec(ghost_tenant(a), b), strict=True):
            assert call.method == method
            real = call.send(http, b.auth())
            fake = twin.send(http, b.auth())
            same_answer(real, fake, pairs, call)
            assert real.status_code < 500, (call, real.text)
            assert not leaks(real, a, call), (call, real.text)
            walked += 1
    # X-Namespace naming the other tenant's namespace: as if it did not exist.
    for spec in ROUTES.values():
        for call in spec(b, b):
            real = call.send(http, {**b.auth(), "X-Namespace": a.ns})
            fake = call.send(http, {**b.auth(), "X-Namespace": ghost(a.ns)})
            same_answer(real, fake, pairs, replace(call, compare="bytes"))
            assert not leaks(real, a, call), (call, real.text)
            real = call.send(http, {**b.auth(), "X-Namespace": a.ns_id})
            fake = call.send(http, {**b.auth(), "X-Namespace": ghost(a.ns_id)})
            same_answer(real, fake, pairs, replace(call, compare="bytes"))
    # The owner's own key finds every one of those objects: the walk used real ids (deletes last).
    ordered = sorted(  # deletes last, the deepest first (a schedule before its cluster)
        ROUTES.items(),
        key=lambda item: (_deletes(*item[0]), -item[0][1].count("/") if _deletes(*item[0]) else 0),
    )
    ordered = sorted(ROUTES.items(), key=_deletes_last)
    for _route, spec in ordered:
        call = spec(a, a)[0]
        response = call.send(http, a.auth())
        assert response.status_code != 404 and response.status_code < 500, (call, response.text)
    assert walked >= 40


def _deletes_last(item: tuple[tuple[str, str], Spec]) -> tuple[bool, int]:
    """Deletes after everything else, and of nested objects (a monitor) before their parents (its cluster)."""
    (method, path), _ = item
    deletes = method == "DELETE" or path.endswith("/delete")
    return deletes, -path.count("/") if deletes else 0


def test_listings_totals_and_stats_show_only_the_callers_namespace(tenants: tuple[Tenant, Tenant], http: httpx.Client):
    a, b = tenants
    for tenant, other, runs in ((b, a, 3), (a, b, 5)):
        auth = tenant.auth()
        assert [ns["namespace_name"] for ns in http.get("/v1/namespaces", headers=auth).json()] == [tenant.ns]
        clusters = http.post("/v1/clusters/list", json={}, params={"page_size": 1}, headers=auth).json()
        assert clusters["total_count"] == 1 and clusters["results"][0]["cluster_id"] == tenant.cluster_id
        collections = http.post("/v1/collections/list", json={}, params={"page_size": 1}, headers=auth).json()
        assert collections["total_count"] == 1 and collections["results"][0]["collection_id"] == tenant.collection_id
        history = http.post(
            f"/v1/clusters/{tenant.cluster_id}/executions/list", json={"stats_scope": "all"}, headers=auth
        ).json()
        assert history["total_count"] == runs and history["stats"]["total_executions"] == runs
        assert {r["run_id"] for r in history["results"]} == set(tenant.runs)
        overview = http.post(
            "/v1/clusters/overview", json={"cluster_ids": [tenant.cluster_id, other.cluster_id]}, headers=auth
        ).json()
        assert [o["cluster_id"] for o in overview["results"]] == [tenant.cluster_id]
        members = http.post(
            f"/v1/clusters/{tenant.cluster_id}/executions/{tenant.run}/members/list", json={}, headers=auth
        )
        assert members.json()["total_count"] == 6
        assert all(m["document_id"].startswith(tenant.ns) for m in members.json()["results"])


def test_names_are_per_namespace_and_say_nothing_of_others(tenants: tuple[Tenant, Tenant], http: httpx.Client):
    a, b = tenants
    collection = http.post("/v1/collections", json={"collection_name": a.collection_name}, headers=b.auth())
    assert collection.status_code == 201 and collection.json()["namespace_id"] == b.ns_id
    cluster = http.post(
        "/v1/clusters",
        json={"cluster_name": a.cluster_name, "collection_ids": [a.collection_name]},
        headers=b.auth(),
    )
    assert cluster.status_code == 201, cluster.text
    assert cluster.json()["collection_ids"] == [collection.json()["collection_id"]]
    mine = http.get(f"/v1/clusters/{a.cluster_name}", headers=b.auth()).json()
    assert mine["cluster_id"] == cluster.json()["cluster_id"] != a.cluster_id


# --------------------------------------------------------------------------- 401


def assert_unauthorized(response: httpx.Response) -> None:
    assert_problem(response, 401, "unauthorized")
    assert response.headers["www-authenticate"] == "Bearer"


def test_every_route_refuses_a_missing_garbage_or_revoked_key(
    tenants: tuple[Tenant, Tenant], http: httpx.Client, session_factory: sessionmaker[Session]
):
    a, b = tenants
    key_id, revoked = make_key(session_factory, b.ns)
    with writer(session_factory)() as session, session.begin():
        revoke_api_key(session, key_id=key_id)
    wrong: list[dict[str, str]] = [
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer garbage"},
        {"Authorization": f"Bearer {b.key}x"},
        {"Authorization": f"Bearer {b.key[:-1]}"},
        {"Authorization": f"Basic {b.key}"},
        {"Authorization": b.key},
        {"Authorization": f"Bearer {revoked}"},
        {"Authorization": "Bearer " + "x" * 5000},
    ]
    for spec in ROUTES.values():
        call = spec(b, b)[0]
        for headers in wrong:
            assert_unauthorized(call.send(http, headers))
    # a key is sent as "bearer" in any case
    assert http.get("/v1/namespaces", headers={"Authorization": f"bearer {b.key}"}).status_code == 200


def test_open_paths_need_no_key(tenants: tuple[Tenant, Tenant], http: httpx.Client, live_server: BackgroundServer):
    assert http.get("/healthz").status_code == 200
    for page in ("/", f"/clusters/{tenants[0].cluster_id}", "/openapi.json", "/docs"):
        assert http.get(page).status_code == 200, page
    prefix = live_server.app.state.assets_prefix
    assert http.get(f"{prefix}/js/api.js").status_code == 200
    schema = http.get("/openapi.json").json()
    assert schema["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"


def test_a_revoked_key_is_refused_on_its_next_request(
    tenants: tuple[Tenant, Tenant], http: httpx.Client, session_factory
):
    a, _ = tenants
    assert http.get(f"/v1/clusters/{a.cluster_id}", headers=a.auth()).status_code == 200
    with writer(session_factory)() as session, session.begin():
        revoke_api_key(session, key_id=a.key_id)
    assert_unauthorized(http.get(f"/v1/clusters/{a.cluster_id}", headers=a.auth()))


def test_revoking_every_key_keeps_a_loopback_server_closed(
    http: httpx.Client, session_factory: sessionmaker[Session], live_server: BackgroundServer
):
    assert live_server.app.state.settings.host == "127.0.0.1" and not live_server.app.state.settings.insecure
    seen = http.post("/v1/namespaces", json={"namespace_name": "secret-team"})  # open: no key has ever existed
    assert seen.status_code == 201, seen.text
    key_id, key = make_key(session_factory, "default")
    with writer(session_factory)() as session, session.begin():
        revoke_api_key(session, key_id=key_id)
    # the revoked key, no key, an unknown key: all refused; nothing is listed
    for headers in ({"Authorization": f"Bearer {key}"}, {}, {"Authorization": "Bearer nope"}):
        assert_unauthorized(http.post("/v1/clusters/list", json={}, headers=headers))
        listed = http.get("/v1/namespaces", headers=headers)
        assert_unauthorized(listed)
        assert "secret-team" not in listed.text
    detail = assert_problem(http.get("/v1/namespaces"), 401)["detail"]
    assert "revoked" in detail and "keys create" in detail and "--insecure" in detail
    # a new key opens the door for its holder only
    _, fresh = make_key(session_factory, "default")
    assert http.get("/v1/namespaces", headers={"Authorization": f"Bearer {fresh}"}).status_code == 200
    assert_unauthorized(http.get("/v1/namespaces"))


def test_insecure_opens_a_server_whose_keys_are_revoked_but_still_refuses_a_revoked_key(db_url: str):
    factory = make_sessionmaker(make_engine(db_url), writes=True)
    key_id, key = make_key(factory, "default")
    with factory() as session, session.begin():
        revoke_api_key(session, key_id=key_id)
    factory.kw["bind"].dispose()
    settings = Settings(database_url=db_url, secret_key="k", insecure=True)
    with BackgroundServer(settings) as server, httpx.Client(base_url=server.url) as client:
        assert [ns["namespace_name"] for ns in client.get("/v1/namespaces").json()] == ["default"]
        assert client.post("/v1/clusters/list", json={}).status_code == 200
        assert_unauthorized(client.get("/v1/namespaces", headers={"Authorization": f"Bearer {key}"}))


def test_a_key_that_is_sent_is_checked_even_while_the_api_is_open(http: httpx.Client):
    assert http.post("/v1/clusters/list", json={}).status_code == 200  # no key has ever existed: open
    for headers in ({"Authorization": "Bearer nope"}, {"Authorization": "Basic abc"}, {"Authorization": "Bearer"}):
        response = http.post("/v1/clusters/list", json={}, headers=headers)
        assert_unauthorized(response)
        assert "not valid" in response.json()["detail"]


def test_without_keys_a_server_beyond_loopback_answers_nothing(db_url: str):
    for host, insecure, status in (("0.0.0.0", False, 401), ("192.168.1.20", False, 401), ("0.0.0.0", True, 200),
                                   ("localhost", False, 200), ("::1", False, 200)):  # fmt: skip
        settings = Settings(database_url=db_url, secret_key="k", host=host, insecure=insecure)
        with BackgroundServer(settings) as server, httpx.Client(base_url=server.url) as http:
            response = http.post("/v1/clusters/list", json={})
            assert response.status_code == status, (host, insecure, response.text)
            if status == 401:
                assert "keys create" in assert_problem(response, 401)["detail"]
            assert http.get("/healthz").status_code == 200


# --------------------------------------------------------------------------- namespace binding


def test_a_key_acts_only_in_its_namespaces(tenants: tuple[Tenant, Tenant], http: httpx.Client, session_factory):
    a, b = tenants
    # without X-Namespace, a key of one namespace acts in it
    assert http.get(f"/v1/clusters/{a.cluster_id}", headers=a.auth()).json()["cluster_name"] == a.cluster_name
    # a key of both: the header picks; without it, 'default' (which this key does not hold) is not found
    _, both = make_key(session_factory, a.ns, b.ns)
    auth = {"Authorization": f"Bearer {both}"}
    for tenant in (a, b):
        got = http.get(f"/v1/clusters/{tenant.cluster_id}", headers={**auth, "X-Namespace": tenant.ns})
        assert got.status_code == 200
    assert [ns["namespace_name"] for ns in http.get("/v1/namespaces", headers=auth).json()] == [a.ns, b.ns]
    missing = http.post("/v1/clusters/list", json={}, headers=auth)
    assert assert_problem(missing, 404)["detail"].startswith("namespace 'default' not found")
    # the default namespace exists, but a key without it cannot tell
    other = http.post("/v1/clusters/list", json={}, headers={**a.auth(), "X-Namespace": "default"})
    nowhere = http.post("/v1/clusters/list", json={}, headers={**a.auth(), "X-Namespace": "defaulx"})
    assert other.content == nowhere.content.replace(b"defaulx", b"default")


def test_keys_cannot_create_namespaces_they_do_not_hold(tenants: tuple[Tenant, Tenant], http: httpx.Client):
    a, b = tenants
    taken = http.post("/v1/namespaces", json={"namespace_name": a.ns}, headers=b.auth())
    free = http.post("/v1/namespaces", json={"namespace_name": "zulu"}, headers=b.auth())
    assert_problem(taken, 403, "forbidden")
    assert taken.content == free.content
    assert_problem(http.post("/v1/namespaces", json={"namespace_name": b.ns}, headers=b.auth()), 409, "conflict")


def test_a_key_records_when_it_was_last_used(tenants: tuple[Tenant, Tenant], http: httpx.Client, session_factory):
    a, _ = tenants

    def last_used() -> Any:
        with session_factory() as session:
            return session.execute(select(api_keys.c.last_used_at).where(api_keys.c.key_id == a.key_id)).scalar_one()

    assert last_used() is None
    assert http.get("/v1/namespaces", headers=a.auth()).status_code == 200
    deadline = time.monotonic() + 10
    while last_used() is None:  # written after the response, in a transaction of its own
        assert time.monotonic() < deadline
        time.sleep(0.05)
    first = last_used()
    assert http.get("/v1/namespaces", headers=a.auth()).status_code == 200
    time.sleep(0.2)
    assert last_used() == first  # at most once a minute
