"""Shared helpers of the HTTP contract tests: calling the listing, checking problem documents, and a
small fixed execution history ("the zoo") whose every value is known, so expectations can be
written by hand or computed by a plain Python reference."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from sqlalchemy.orm import Session, sessionmaker

from clusterbook.models.clusters import Cluster
from tests.factories import BASE_TIME, make_runs

PROBLEM_KEYS = {"type", "title", "status", "detail", "code"}


def make_collections(http: httpx.Client, *names: str, headers: dict[str, str] | None = None) -> list[str]:
    """Create (empty) collections over HTTP; returns their ids in order."""
    found = []
    for name in names:
        response = http.post("/v1/collections", json={"collection_name": name}, headers=headers)
        assert response.status_code == 201, response.text
        found.append(response.json()["collection_id"])
    return found


def list_path(cluster_id: str) -> str:
    return f"/v1/clusters/{cluster_id}/executions/list"


def post_list(
    http: httpx.Client,
    cluster_id: str,
    body: Any = None,
    *,
    headers: dict[str, str] | None = None,
    **params: Any,
) -> httpx.Response:
    """POST the listing with a JSON body ({} when None) and query params."""
    return http.post(list_path(cluster_id), json={} if body is None else body, params=params, headers=headers)


def ok_list(http: httpx.Client, cluster_id: str, body: Any = None, **params: Any) -> dict[str, Any]:
    response = post_list(http, cluster_id, body, **params)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


def ids(data: dict[str, Any]) -> list[str]:
    return [row["run_id"] for row in data["results"]]


def query_of(url: str) -> dict[str, str]:
    """The query parameters of a URL, one value each (fails if a parameter repeats)."""
    parsed = parse_qs(urlsplit(url).query)
    assert all(len(v) == 1 for v in parsed.values()), url
    return {k: v[0] for k, v in parsed.items()}


def assert_problem(response: httpx.Response, status: int, code: str | None = None, *, sent: str = "") -> dict[str, Any]:
    """A problem-details document (RFC 9457 + code) with this status, free of traces and SQL.

    ``sent`` is user input the problem may quote back (it may itself look like SQL)."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers
    body: dict[str, Any] = response.json()
    assert set(body) >= PROBLEM_KEYS, body
    assert body["status"] == status
    assert isinstance(body["detail"], str) and body["detail"]
    assert body["type"].endswith(body["code"])
    if code is not None:
        assert body["code"] == code, body
    text = json.dumps(body)
    if sent:
        text = text.replace(json.dumps(sent)[1:-1], "")
    assert "Traceback" not in text
    assert "SELECT" not in text.upper().replace("SELECTED", "")
    return body


def assert_invalid(
    response: httpx.Response, loc: str, *fragments: str, code: str | None = None, sent: str = ""
) -> dict[str, Any]:
    """A 422 whose first error sits at ``loc`` and whose message names every fragment."""
    body = assert_problem(response, 422, code, sent=sent)
    assert body["errors"], body
    first = body["errors"][0]
    assert first["loc"] == loc, body
    for fragment in fragments:
        assert fragment in first["message"], (fragment, first["message"])
    return body


# --------------------------------------------------------------------------- the zoo

T = BASE_TIME
BILLING = {
    "cluster_id": "cl_0",
    "num_members": 30,
    "label": "Billing",
    "summary": "Invoices and refunds",
    "keywords": ["invoice", "refund"],
}
LOGIN = {"cluster_id": "cl_1", "num_members": 20, "label": "Login", "summary": "Password resets", "keywords": ["2fa"]}
SHIPPING = {
    "cluster_id": "cl_0",
    "num_members": 150,
    "label": "Shipping delays",
    "summary": "Late parcels",
    "keywords": ["courier", "tracking"],
}
REFUNDS = {"cluster_id": "cl_0", "num_members": 101, "label": "Refund requests", "summary": None, "keywords": None}


def _metrics(sil: float | None, dbi: float | None, chs: float | None) -> dict[str, float | None]:
    return {"silhouette_score": sil, "davies_bouldin_index": dbi, "calinski_harabasz_score": chs}


ZOO: dict[str, dict[str, Any]] = {
    "alpha": {
        "run_id": "run_Alpha01", "status": "completed", "created_at": T,
        "started_at": T,
        "completed_at": T + timedelta(seconds=2), "num_clusters": 3, "num_points": 50,
        "metrics": _metrics(0.8, 0.5, 300.0), "centroids": [BILLING, LOGIN],
    },
    "bravo": {
        "run_id": "run_Bravo02", "status": "completed", "created_at": T + timedelta(minutes=1),
        "started_at": T + timedelta(minutes=1),
        "completed_at": T + timedelta(minutes=1, seconds=10), "num_clusters": 5, "num_points": 150,
        "metrics": _metrics(0.2, 1.5, 100.0), "centroids": [SHIPPING],
    },
    "charlie": {
        "run_id": "run_Charlie03", "status": "failed", "created_at": T + timedelta(minutes=2),
        "started_at": T + timedelta(minutes=2),
        "completed_at": T + timedelta(minutes=2, seconds=1), "num_clusters": 0, "num_points": 500,
        "error_message": "Out of memory: spectral clustering needs 104 GiB",
    },
    "delta": {
        "run_id": "run_Delta04", "status": "failed", "created_at": T + timedelta(minutes=3),
        "started_at": T + timedelta(minutes=3),
        "completed_at": T + timedelta(minutes=3, seconds=30), "num_clusters": 0, "num_points": 1000,
        "error_message": "Worker lost: heartbeat missed 3 times",
    },
    "echo": {
        "run_id": "run_Echo05", "status": "pending", "created_at": T + timedelta(minutes=4),
        "num_clusters": 0, "num_points": 10,
    },
    "foxtrot": {
        "run_id": "run_Foxtrot06", "status": "processing", "created_at": T + timedelta(minutes=5),
        "started_at": T + timedelta(minutes=5, seconds=1), "num_clusters": 0, "num_points": 200,
    },
    "golf": {
        "run_id": "run_Golf07", "status": "canceled", "created_at": T + timedelta(minutes=6),
        "started_at": T + timedelta(minutes=6),
        "completed_at": T + timedelta(minutes=6, seconds=5), "num_clusters": 0, "num_points": 300,
    },
    "hotel": {
        "run_id": "run_Hotel08", "status": "completed", "created_at": T + timedelta(minutes=7),
        "started_at": T + timedelta(minutes=7),
        "completed_at": T + timedelta(minutes=7, seconds=3), "num_clusters": 2, "num_points": 101,
        "metrics": _metrics(None, 2.0, 50.0), "centroids": [REFUNDS],
    },
}  # fmt: skip
"""Eight runs, one per line of the truth tables; execution times (ms, completed_at - started_at): alpha
2000, bravo 10000, charlie 1000, delta 30000, golf 5000, hotel 3000; echo and foxtrot have none. Every
run that started did so as it was created (queue time 0) except foxtrot (1000)."""

NAME_OF = {spec["run_id"]: name for name, spec in ZOO.items()}


def make_zoo(factory: sessionmaker[Session], cluster: Cluster) -> None:
    make_runs(factory, cluster, list(ZOO.values()))


def names(data: dict[str, Any]) -> list[str]:
    """The zoo names of a listing's results, in order."""
    return [NAME_OF[run_id] for run_id in ids(data)]


def zoo_value(name: str, field: str) -> Any:
    """What a zoo run holds for a filter/sort field (None when absent)."""
    spec = ZOO[name]
    if field.startswith("metrics."):
        return (spec.get("metrics") or {}).get(field.removeprefix("metrics."))
    if field == "duration":  # execution time
        done, started = spec.get("completed_at"), spec.get("started_at")
        return None if done is None or started is None else (done - started).total_seconds() * 1000.0
    if field == "queue_ms":
        started = spec.get("started_at")
        return None if started is None else (started - spec["created_at"]).total_seconds() * 1000.0
    return spec.get(field)


def reference_order(field: str, direction: str, candidates: list[str] | None = None) -> list[str]:
    """Zoo names sorted by ``field``: nulls last in both directions, ties by run_id the same way."""
    pool = list(ZOO) if candidates is None else candidates
    desc = direction == "desc"
    present = [n for n in pool if zoo_value(n, field) is not None]
    absent = [n for n in pool if zoo_value(n, field) is None]
    present.sort(key=lambda n: (zoo_value(n, field), ZOO[n]["run_id"]), reverse=desc)
    absent.sort(key=lambda n: ZOO[n]["run_id"], reverse=desc)
    return present + absent


def walk_by_page(http: httpx.Client, cluster_id: str, body: Any, page_size: int) -> list[str]:
    """Every run id, page after page via ?page=, checking the pagination block as it goes."""
    seen: list[str] = []
    page = 1
    while True:
        data = ok_list(http, cluster_id, body, page=page, page_size=page_size)
        assert data["pagination"]["page"] == page
        seen.extend(ids(data))
        if data["pagination"]["next_page"] is None:
            assert len(seen) == data["total_count"]
            return seen
        page += 1
        assert page < 1000


def walk_by_cursor(http: httpx.Client, cluster_id: str, body: Any, page_size: int) -> list[str]:
    """Every run id, following pagination.next_cursor until it is null."""
    data = ok_list(http, cluster_id, body, page_size=page_size)
    seen = ids(data)
    while data["pagination"]["next_cursor"] is not None:
        data = ok_list(http, cluster_id, body, cursor=data["pagination"]["next_cursor"])
        seen.extend(ids(data))
        assert len(seen) < 10_000
    assert data["pagination"]["next_page"] is None
    return seen
