"""The synchronous SDK against a live server: every resource method, namespaces, headers, paging by
cursor, and each kind of error coming back as the server's exception class."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from clusterbook.api.background import BackgroundServer
from clusterbook.client import UNSET, Client, F, WaitTimeout
from clusterbook.errors import (
    Conflict,
    InvalidCursor,
    InvalidFilter,
    InvalidPagination,
    InvalidRequest,
    NotFound,
    Unauthorized,
    ValidationFailed,
)
from clusterbook.models.clusters import Cluster, VectorConfig
from clusterbook.models.collections import DocumentIn
from tests.api.helpers import NAME_OF, ZOO


class Recorder:
    """Every request an ``httpx.Client`` sends (method, path, query, headers), via its event hook."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.http = httpx.Client(event_hooks={"request": [self.requests.append]})

    def client(self, url: str, **kwargs: Any) -> Client:
        """An SDK client sending through the recorded ``httpx.Client`` (which stays the caller's to close)."""
        return Client(url, http_client=self.http, **kwargs)


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    found = Recorder()
    yield found
    found.http.close()


def test_collections_create_get_list_iter_delete(client: Client) -> None:
    created = client.collections.create("papers", description="Research papers")
    assert created.collection_name == "papers" and created.description == "Research papers"
    assert created.collection_id.startswith("col_") and created.document_count == 0
    assert client.collections.get("papers") == created
    assert client.collections.get(created.collection_id) == created
    for name in ("alpha-notes", "beta-notes", "gamma-notes"):
        client.collections.create(name)
    page = client.collections.list(search="notes", sort="collection_name", page_size=2)
    assert [c.collection_name for c in page.results] == ["alpha-notes", "beta-notes"]
    assert page.total_count == 3 and page.pagination.next_cursor
    walked = [
        c.collection_name
        for c in client.collections.iter(filters=F.field("collection_name").ends_with("-notes"), page_size=2)
    ]
    assert sorted(walked) == ["alpha-notes", "beta-notes", "gamma-notes"]
    with pytest.raises(Conflict, match="papers"):
        client.collections.create("papers")
    client.collections.delete("papers")
    with pytest.raises(NotFound, match="papers"):
        client.collections.get("papers")


def test_documents_upsert_in_batches_then_list_get_delete(
    live_server: BackgroundServer, client: Client, recorder: Recorder
) -> None:
    client.collections.create("tickets")
    docs: list[Any] = [
        {
            "document_id": f"t{i:02d}",
            "text": f"ticket number {i}",
            "metadata": {"lang": "en" if i % 2 else "fr", "n": i},
        }
        for i in range(10)
    ]
    # a wire model works as well as a dict
    docs[3] = DocumentIn(document_id="t03", text="ticket number 3", metadata={"lang": "en", "n": 3})
    with recorder.client(live_server.url) as sdk:
        result = sdk.documents.upsert("tickets", iter(docs), batch_size=4)
    uploads = [r for r in recorder.requests if r.url.path.endswith("/documents")]
    assert len(uploads) == 3  # 4 + 4 + 2
    assert (result.upserted, result.created, result.updated) == (10, 10, 0)
    assert result.collection.document_count == 10

    again = client.documents.upsert("tickets", [{"document_id": "t00", "text": "reopened"}], max_batch_bytes=1024)
    assert (again.created, again.updated, again.collection.document_count) == (0, 1, 10)
    empty = client.documents.upsert("tickets", [])
    assert empty.upserted == 0 and empty.collection.document_count == 10

    english = client.documents.list("tickets", filters=F.metadata("lang") == "en", sort="document_id", page_size=3)
    assert [d.document_id for d in english.results] == ["t01", "t03", "t05"] and english.total_count == 5
    assert {d.document_id for d in client.documents.iter("tickets", search="number", page_size=4)} == {
        f"t{i:02d}" for i in range(1, 10)
    }
    with_vectors = client.documents.list("tickets", include_vectors=True, page_size=1)
    assert with_vectors.results[0].vector is None  # text-only documents have none, even when asked
    one = client.documents.get("tickets", "t00")
    assert one.text == "reopened" and one.metadata == {}

    client.documents.upsert("tickets", [{"document_id": "a/b?c#d", "vector": [1.0, 2.0]}])
    odd = client.documents.get("tickets", "a/b?c#d", include_vector=True)
    assert odd.document_id == "a/b?c#d" and odd.vector == [1.0, 2.0]
    client.documents.delete("tickets", "a/b?c#d")
    with pytest.raises(NotFound, match="a/b"):
        client.documents.delete("tickets", "a/b?c#d")
    gone = client.documents.delete_many("tickets", ["t00", "t01", "nope"])
    assert gone.deleted == 2 and gone.collection.document_count == 8
    assert client.documents.delete_many("tickets", []).deleted == 0


def test_documents_errors_keep_the_server_location_and_the_progress(client: Client) -> None:
    client.collections.create("vectors")
    with pytest.raises(ValidationFailed) as caught:
        client.documents.upsert(
            "vectors",
            [{"document_id": "ok", "vector": [1.0]}, {"document_id": "bad", "vector": [1.0], "colour": "red"}],
            batch_size=1,
        )
    assert caught.value.extra["documents_upserted"] == 1  # the first batch landed
    assert caught.value.errors and caught.value.errors[0].loc.startswith("documents[0]")
    with pytest.raises(ValueError, match="batch_size"):
        client.documents.upsert("vectors", [], batch_size=0)
    with pytest.raises(NotFound, match="nope"):
        client.documents.list("nope")


def test_clusters_create_get_list_iter_update_delete(client: Client) -> None:
    client.collections.create("docs")
    created = client.clusters.create(
        "topics",
        collection_ids=["docs"],
        vector_config=VectorConfig(clustering_method="kmeans", algorithm_params={"n_clusters": 4}),
        filters=F.metadata("lang") == "en",
        description="Topics of the docs",
    )
    assert isinstance(created, Cluster) and created.cluster_name == "topics"
    assert created.vector_config and created.vector_config.algorithm_params == {"n_clusters": 4}
    assert created.filters == {"field": "metadata.lang", "operator": "eq", "value": "en"}
    assert client.clusters.get("topics") == client.clusters.get(created.cluster_id) == created

    by_attr = client.clusters.create(
        "by-lang", collection_ids=["docs"], cluster_type="attribute", attribute_config={"attributes": ["lang"]}
    )
    assert by_attr.cluster_type == "attribute"
    listed = client.clusters.list(sort="cluster_name")
    assert [c.cluster_name for c in listed.results] == ["by-lang", "topics"] and listed.total_count == 2
    assert [c.cluster_name for c in client.clusters.iter(search="topics")] == ["topics"]

    renamed = client.clusters.update("topics", cluster_name="themes", description=None)
    assert renamed.cluster_name == "themes" and renamed.description is None
    assert renamed.filters == created.filters  # untouched fields stay
    cleared = client.clusters.update("themes", filters=None, vector_config={"algorithm_params": {"n_clusters": 2}})
    assert (
        cleared.filters is None
        and cleared.vector_config
        and cleared.vector_config.algorithm_params == {"n_clusters": 2}
    )
    unchanged = client.clusters.update("themes", description=UNSET)  # nothing given: nothing changes
    assert unchanged.model_dump(exclude={"updated_at"}) == cleared.model_dump(exclude={"updated_at"})

    with pytest.raises(Conflict):
        client.clusters.create(
            "by-lang", collection_ids=["docs"], cluster_type="attribute", attribute_config={"attributes": ["x"]}
        )
    with pytest.raises(ValidationFailed) as bad:
        client.clusters.create("by-nothing", cluster_type="attribute")
    assert "attribute_config" in bad.value.message
    client.clusters.delete("themes")
    with pytest.raises(NotFound, match="themes"):
        client.clusters.get("themes")


def test_executions_list_iter_get_find_latest_and_cancel(
    live_server: BackgroundServer, zoo: Cluster, recorder: Recorder
) -> None:
    with recorder.client(live_server.url) as client:
        page = client.executions.list(zoo.cluster_id, page=2, page_size=3, stats_scope="all")
        assert [NAME_OF[r.run_id] for r in page.results] == ["echo", "delta", "charlie"]
        assert page.total_count == 8 and page.pagination.page == 2 and page.pagination.total_pages == 3
        assert page.stats and page.stats.total_executions == 8  # stats over every match
        assert client.executions.list(zoo.cluster_id, page=2, page_size=3).stats.total_executions == 3  # type: ignore[union-attr]

        best = client.executions.list(
            "zoo", filters=F.silhouette_score.exists(), sort=F.silhouette_score.desc(), search="billing"
        )
        assert [NAME_OF[r.run_id] for r in best.results] == ["alpha"]

        recorder.requests.clear()
        walked = [NAME_OF[r.run_id] for r in client.executions.iter("zoo", sort="created_at", page_size=3)]
        assert walked == list(ZOO)  # the zoo is in creation order
        assert len(recorder.requests) == 3
        assert "cursor" not in recorder.requests[0].url.params
        assert all("cursor" in r.url.params for r in recorder.requests[1:])

    with Client(live_server.url) as client:
        alpha = client.executions.get("zoo", "run_Alpha01")
        assert alpha.status == "completed" and alpha.metrics and alpha.metrics.silhouette_score == 0.8
        assert client.executions.find("run_Alpha01") == alpha
        latest = client.executions.latest("zoo")
        assert latest is not None and latest.run_id == "run_Hotel08"
        client.collections.create("empty")
        fresh = client.clusters.create("fresh", collection_ids=["empty"])
        assert client.executions.latest(fresh.cluster_id) is None

        canceled = client.executions.cancel("zoo", "run_Echo05")
        assert canceled.status == "canceled" and canceled.completed_at is not None
        again = client.executions.cancel("zoo", "run_Echo05")  # a repeated cancel changes nothing
        assert again.status == "canceled" and again.completed_at == canceled.completed_at
        with pytest.raises(Conflict, match="already ended"):
            client.executions.cancel("zoo", "run_Alpha01")  # a completed run stays completed
        with pytest.raises(NotFound, match="run_Nope"):
            client.executions.get("zoo", "run_Nope")
        with pytest.raises(NotFound, match="run_Nope"):
            client.executions.find("run_Nope")

        members = client.executions.members("zoo", "run_Alpha01")  # a seeded run has no member rows
        assert members.total_count == 0 and members.results == []
        assert list(client.executions.iter_members("zoo", "run_Alpha01")) == []
        with pytest.raises(NotFound, match="projection"):
            client.executions.projection("zoo", "run_Echo05")


def test_errors_carry_message_status_and_locations(client: Client, zoo: Cluster) -> None:
    with pytest.raises(NotFound) as missing:
        client.clusters.get("no-such")
    err = missing.value
    assert err.message == "cluster 'no-such' not found" and str(err) == err.message
    assert err.status == 404 and err.extra["status"] == 404 and err.extra["code"] == "not_found"
    assert err.extra["instance"] == "/v1/clusters/no-such"

    with pytest.raises(InvalidFilter) as bad_filter:
        client.executions.list("zoo", filters=F.all(F.status == "failed", F.status == "exploded"))
    assert bad_filter.value.status == 422 and bad_filter.value.code == "invalid_filter"
    assert bad_filter.value.errors[0].loc == "filters.conditions[1].value"
    assert "exploded" in bad_filter.value.errors[0].message

    with pytest.raises(InvalidFilter) as unknown_field:
        client.executions.list("zoo", filters=F.field("colour") == "red")
    assert unknown_field.value.errors[0].loc == "filters.field"

    with pytest.raises(InvalidPagination) as too_big:
        client.executions.list("zoo", page_size=100_000)
    assert too_big.value.errors[0].loc == "query.page_size"

    with pytest.raises(ValidationFailed) as bad_sort:
        client.executions.list("zoo", sort={"field": "created_at", "direction": "sideways"})
    assert bad_sort.value.errors[0].loc == "sort.direction"

    first = client.executions.list("zoo", page_size=2)
    with pytest.raises(InvalidCursor):
        client.executions.list("zoo", page_size=2, cursor=first.pagination.next_cursor, search="memory")
    with pytest.raises(InvalidCursor):
        client.executions.list("zoo", cursor="garbage")
    assert issubclass(InvalidCursor, InvalidRequest)
    with pytest.raises(ValueError, match="run_id"):
        client.executions.get("zoo", "")


def test_namespaces_scope_every_request(live_server: BackgroundServer, client: Client, zoo: Cluster) -> None:
    team = client.namespaces.create("team-a")
    assert team.namespace_name == "team-a"
    assert {"default", "team-a"} <= {ns.namespace_name for ns in client.namespaces.list()}
    with pytest.raises(Conflict):
        client.namespaces.create("team-a")
    with Client(live_server.url, namespace="team-a") as scoped:
        assert scoped.namespace == "team-a"
        assert scoped.clusters.list().total_count == 0
        with pytest.raises(NotFound):
            scoped.clusters.get("zoo")
        with pytest.raises(NotFound):
            scoped.executions.find("run_Alpha01")
        scoped.collections.create("private")
    assert [c.collection_name for c in client.collections.list().results if c.collection_name == "private"] == []
    with Client(live_server.url, namespace="nobody") as lost, pytest.raises(NotFound, match="nobody"):
        lost.clusters.list()


def test_headers_reuse_and_environment_defaults(
    live_server: BackgroundServer, monkeypatch: pytest.MonkeyPatch, recorder: Recorder
) -> None:
    with recorder.client(live_server.url, api_key="secret-key", namespace="default") as client:
        assert client.health()["status"] == "ok"
        with pytest.raises(Unauthorized):  # the server is open, but a key that is sent is checked
            client.clusters.list()
    sent = recorder.requests[-1].headers
    assert sent["authorization"] == "Bearer secret-key"
    assert sent["x-namespace"] == "default"
    assert sent["user-agent"].startswith("clusterbook-python/")

    monkeypatch.setenv("CLUSTERBOOK_URL", live_server.url)
    monkeypatch.setenv("CLUSTERBOOK_NAMESPACE", "default")
    with Client() as from_env:
        assert from_env.base_url == live_server.url and from_env.namespace == "default"
        assert from_env.health()["status"] == "ok"
        pool = from_env._transport.http._transport._pool  # type: ignore[attr-defined]
        from_env.clusters.list()
        from_env.clusters.list()
        assert len(pool.connections) == 1  # one kept-alive connection served all three requests
    assert repr(from_env) == f"Client({live_server.url!r}, namespace='default')"


def test_execute_without_workers_stays_pending_and_waiting_times_out(client: Client, zoo: Cluster) -> None:
    seen: list[str] = []
    run = client.clusters.execute("zoo", run_name="queued", random_state=7, sample_size=10)
    assert run.status == "pending" and run.run_name == "queued" and run.cluster_id == zoo.cluster_id
    with pytest.raises(WaitTimeout) as late:
        client.executions.wait(
            "zoo", run.run_id, poll_interval=0.05, timeout=0.2, on_update=lambda r: seen.append(r.status)
        )
    assert late.value.extra == {"run_id": run.run_id, "cluster_id": zoo.cluster_id, "run_status": "pending"}
    assert len(seen) >= 2 and set(seen) == {"pending"}
    with pytest.raises(WaitTimeout, match="still pending after 0.1 s"):
        client.clusters.execute("zoo", wait=True, poll_interval=0.05, timeout=0.1)
    with pytest.raises(ValidationFailed) as bad:
        client.clusters.execute("zoo", sample_size=1)
    assert bad.value.errors[0].loc == "sample_size"
    assert client.executions.cancel("zoo", run.run_id).status == "canceled"
    assert client.executions.wait("zoo", run.run_id, timeout=1).status == "canceled"
