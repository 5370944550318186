"""The history listing's fixed cost: two threadpool hops per request (key + namespace + cluster in
one, queries + JSON + commit in the other), and a body that is exactly the response model's JSON."""

from __future__ import annotations

from typing import Any

import anyio.to_thread
import httpx
import pytest

from clusterbook.api.background import BackgroundServer
from clusterbook.models.listing import ListClusterExecutionsResponse
from clusterbook.settings import Settings
from clusterbook.store.keys import create_api_key
from clusterbook.store.namespaces import ensure_namespace
from tests.api.helpers import assert_problem, list_path
from tests.factories import make_cluster, make_history


@pytest.fixture
def hops(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every function the app sends to the threadpool (counted, then run as usual)."""
    seen: list[str] = []
    real = anyio.to_thread.run_sync

    async def counting(func: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(getattr(func, "__name__", repr(func)))
        return await real(func, *args, **kwargs)

    monkeypatch.setattr(anyio.to_thread, "run_sync", counting)
    return seen


def test_a_listing_request_takes_two_threadpool_hops(db_url: str, session_factory, hops: list[str]):
    cluster = make_cluster(session_factory)
    make_history(session_factory, cluster, 25, error_message="Out of memory while clustering")
    with session_factory() as session, session.begin():
        ns = ensure_namespace(session, name="default")
        _, secret = create_api_key(session, namespace_ids=[ns.namespace_id])
    auth = {"Authorization": f"Bearer {secret}"}
    settings = Settings(database_url=db_url, secret_key="test-signing-key")
    with BackgroundServer(settings) as server, httpx.Client(base_url=server.url, timeout=60) as http:
        for body in (
            {},
            {"search": "memory"},
            {"filters": {"field": "status", "operator": "==", "value": "completed"}},
        ):
            http.post(list_path(cluster.cluster_id), json=body, headers=auth).raise_for_status()  # warm
            hops.clear()
            response = http.post(list_path(cluster.cluster_id), json=body, params={"page_size": 5}, headers=auth)
            assert response.status_code == 200, response.text
            assert response.headers["content-type"] == "application/json"
            # (noting the key's use, when due, runs after the response: not on the request's path)
            on_path = [hop for hop in hops if "_record_use" not in hop]
            assert len(on_path) == 2, hops  # was 7: five sync dependencies, the endpoint, the response validation
            payload = response.json()
            # serialised once, by the model: the same document the model validates and dumps again
            model = ListClusterExecutionsResponse.model_validate(payload)
            assert model.model_dump(mode="json", by_alias=True, exclude_unset=True) == payload
            assert payload["total_count"] == 25 and len(payload["results"]) == 5
        # the door and its order stay: no key → 401 even with a broken body; unknown cluster → 404
        assert_problem(http.post(list_path(cluster.cluster_id), content=b"{", headers={}), 401)
        assert_problem(http.post(list_path("clust_nope"), json={}, headers=auth), 404)
        bad_ns = http.post(list_path(cluster.cluster_id), json={}, headers={**auth, "X-Namespace": "x" * 201})
        assert bad_ns.status_code == 422
        assert_problem(http.post(list_path(cluster.cluster_id), json={}, headers={**auth, "X-Namespace": "a b"}), 400)
