"""The execute body's ``stability`` object is checked at submit: a 422 naming ``stability.<field>``
and the accepted range, and no run left behind; attribute clusters refuse it (their groups are fixed
by metadata); a good one is recorded in the run's submitted configuration."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy.orm import Session, sessionmaker

from tests.factories import make_cluster

BAD: list[tuple[Any, tuple[str, ...]]] = [
    ({"resamples": 1}, ("stability.resamples", "greater than or equal to 2")),
    ({"resamples": 51}, ("stability.resamples", "less than or equal to 50")),
    ({"fraction": 0.4}, ("stability.fraction", "greater than or equal to 0.5")),
    ({"fraction": 0.96}, ("stability.fraction", "less than or equal to 0.95")),
    ({"resamples": "five"}, ("stability.resamples", "integer")),
    ({"resamples": 2.5}, ("stability.resamples", "integer")),
    ({"samples": 5}, ("stability.samples",)),
    (5, ("stability",)),
    ([5, 0.8], ("stability",)),
]


def count(http: httpx.Client, cluster_id: str) -> int:
    response = http.post(f"/v1/clusters/{cluster_id}/executions/list", json={})
    assert response.status_code == 200, response.text
    return int(response.json()["total_count"])


def test_bad_stability_requests_are_422s_naming_the_field_and_range(
    http: httpx.Client, session_factory: sessionmaker[Session]
) -> None:
    cluster = make_cluster(session_factory, vector_config={"clustering_method": "kmeans"})
    for stability, names in BAD:
        response = http.post(f"/v1/clusters/{cluster.cluster_id}/execute", json={"stability": stability})
        assert response.status_code == 422, (stability, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        for name in names:
            assert name in response.text, (stability, response.text)
    assert count(http, cluster.cluster_id) == 0, "no run row was left behind"
    good = http.post(
        f"/v1/clusters/{cluster.cluster_id}/execute", json={"stability": {"resamples": 50, "fraction": 0.5}}
    )
    assert good.status_code == 202, good.text
    assert good.json()["config"]["stability"] == {"resamples": 50, "fraction": 0.5}
    bare = http.post(f"/v1/clusters/{cluster.cluster_id}/execute", json={"stability": {}})
    assert bare.status_code == 202 and bare.json()["config"]["stability"] == {"resamples": 5, "fraction": 0.8}
    none = http.post(f"/v1/clusters/{cluster.cluster_id}/execute", json={"stability": None})
    assert none.status_code == 202 and none.json()["config"]["stability"] is None


def test_an_attribute_cluster_refuses_stability(http: httpx.Client, session_factory: sessionmaker[Session]) -> None:
    cluster = make_cluster(session_factory, cluster_type="attribute", attribute_config={"attributes": ["group"]})
    response = http.post(f"/v1/clusters/{cluster.cluster_id}/execute", json={"stability": {"resamples": 3}})
    assert response.status_code == 422, response.text
    assert "attribute cluster" in response.json()["detail"] and "leave stability out" in response.json()["detail"]
    assert count(http, cluster.cluster_id) == 0
