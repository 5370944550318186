"""Collections in the store, on SQLite and PostgreSQL: create/read by id or name, the namespace scope,
the list, delete (refused while a cluster uses the collection), and resolving a cluster's refs."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from clusterbook.errors import Conflict, ValidationFailed
from clusterbook.models.collections import CollectionCreate
from clusterbook.models.filters import parse_filter_tree
from clusterbook.models.listing import SortSpec
from clusterbook.store.clusters import read_cluster
from clusterbook.store.collections import (
    create_collection,
    delete_collection,
    ensure_collection,
    list_collections,
    read_collection,
    resolve_collection_ids,
)
from clusterbook.store.listing import ListQuery, PageRequest
from clusterbook.store.namespaces import ensure_namespace
from clusterbook.store.seed import seed
from clusterbook.store.tables import documents
from tests.factories import make_cluster, make_collection, make_documents


def test_create_and_read_by_id_or_name(session_factory):
    with session_factory() as session, session.begin():
        created = create_collection(
            session, namespace_id="ns_default", data=CollectionCreate(collection_name="news", description="Wire")
        )
    assert created.collection_id.startswith("col_")
    assert (created.collection_name, created.description, created.vector_dimension, created.document_count) == (
        "news", "Wire", None, 0,
    )  # fmt: skip
    assert created.created_at == created.updated_at and created.created_at.tzinfo is not None
    with session_factory() as session:
        assert read_collection(session, namespace_id="ns_default", collection_ref="news") == created
        assert read_collection(session, namespace_id="ns_default", collection_ref=created.collection_id) == created
        assert read_collection(session, namespace_id="ns_default", collection_ref="News") is None
        assert read_collection(session, namespace_id="ns_default", collection_ref="news\x00") is None
        assert read_collection(session, namespace_id="ns_other", collection_ref="news") is None


def test_names_are_unique_per_namespace(session_factory):
    make_collection(session_factory, collection_name="news")
    with pytest.raises(Conflict, match="'news' already exists"), session_factory() as session, session.begin():
        create_collection(session, namespace_id="ns_default", data=CollectionCreate(collection_name="news"))
    other = make_collection(session_factory, namespace="team-b", collection_name="news")
    with session_factory() as session:
        assert read_collection(session, namespace_id=other.namespace_id, collection_ref="news") == other
        assert read_collection(session, namespace_id="ns_default", collection_ref=other.collection_id) is None


def test_ensure_collection_is_idempotent(session_factory):
    with session_factory() as session, session.begin():
        first = ensure_collection(session, namespace_id="ns_default", name="demo")
        again = ensure_collection(session, namespace_id="ns_default", name="demo")
    assert first == again


def test_list_counts_documents_and_pages(session_factory):
    made = [make_collection(session_factory, collection_name=f"c-{i}") for i in range(5)]
    make_collection(session_factory, namespace="elsewhere", collection_name="hidden")
    make_documents(session_factory, made[1], [{"document_id": f"d{i}", "text": "x"} for i in range(3)])
    make_documents(session_factory, made[3], [{"document_id": "v", "vector": [1.0, 2.0]}])
    with session_factory() as session:
        results, page = list_collections(
            session, namespace_id="ns_default", query=ListQuery(), page=PageRequest(1, 2, 0)
        )
        assert page.total == 5
        assert [c.collection_name for c in results] == ["c-4", "c-3"]  # newest first
        assert page.next_key is not None
        everything, _ = list_collections(
            session,
            namespace_id="ns_default",
            query=ListQuery(sort=SortSpec(field="collection_name", direction="asc")),
            page=PageRequest(1, 10, 0),
        )
        counts = {c.collection_name: (c.document_count, c.vector_dimension) for c in everything}
        assert counts == {"c-0": (0, None), "c-1": (3, None), "c-2": (0, None), "c-3": (1, 2), "c-4": (0, None)}
        with_vectors, _ = list_collections(
            session,
            namespace_id="ns_default",
            query=ListQuery(filter=parse_filter_tree({"vector_dimension": {"exists": True}}), terms=("c-",)),
            page=PageRequest(1, 10, 0),
        )
        assert [c.collection_name for c in with_vectors] == ["c-3"]


def test_delete_removes_the_documents(session_factory):
    doomed = make_collection(session_factory)
    kept = make_collection(session_factory)
    make_documents(session_factory, doomed, [{"document_id": "a", "text": "x"}, {"document_id": "b", "text": "y"}])
    make_documents(session_factory, kept, [{"document_id": "a", "text": "x"}])
    with session_factory() as session, session.begin():
        delete_collection(session, namespace_id="ns_default", collection_id=doomed.collection_id)
    with session_factory() as session:
        assert read_collection(session, namespace_id="ns_default", collection_ref=doomed.collection_id) is None
        remaining = session.execute(select(documents.c.collection_id, func.count()).group_by(documents.c.collection_id))
        assert dict(remaining.all()) == {kept.collection_id: 1}


def test_delete_is_refused_while_clusters_use_the_collection(session_factory):
    used = make_collection(session_factory, collection_name="used")
    make_documents(session_factory, used, [{"document_id": "a", "text": "x"}])
    make_cluster(session_factory, cluster_name="first", collection_ids=[used.collection_id])
    make_cluster(session_factory, cluster_name="second", collection_ids=["used"])
    with pytest.raises(Conflict) as caught, session_factory() as session, session.begin():
        delete_collection(session, namespace_id="ns_default", collection_id=used.collection_id)
    message = caught.value.message
    assert "'used' is used by clusters 'first', 'second'" in message
    assert "collection_ids" in message and "delete those clusters" in message
    with session_factory() as session:
        again = read_collection(session, namespace_id="ns_default", collection_ref="used")
    assert again is not None and again.document_count == 1


def test_resolving_a_clusters_collections(session_factory):
    a = make_collection(session_factory, collection_name="a")
    b = make_collection(session_factory, collection_name="b")
    foreign = make_collection(session_factory, namespace="other", collection_name="c")
    with session_factory() as session, session.begin():
        assert resolve_collection_ids(session, namespace_id="ns_default", refs=["b", a.collection_id, "a"]) == [
            b.collection_id, a.collection_id,
        ]  # fmt: skip
        assert resolve_collection_ids(session, namespace_id="ns_default", refs=[]) == []
        with pytest.raises(ValidationFailed) as caught:
            resolve_collection_ids(
                session, namespace_id="ns_default", refs=["a", "ghost", foreign.collection_id, "x\x00"]
            )
    assert [e.loc for e in caught.value.errors] == ["collection_ids[1]", "collection_ids[2]", "collection_ids[3]"]
    assert "'ghost'" in caught.value.message and "POST /v1/collections" in caught.value.message


def test_seeded_clusters_use_real_collections(engine, session_factory):
    report = seed(engine, executions_count=20, clusters_count=2, batch_size=20)
    with session_factory() as session:
        namespace = ensure_namespace(session, name="default")
        for cluster_id in report.cluster_ids:
            cluster = read_cluster(session, namespace_id=namespace.namespace_id, cluster_ref=cluster_id)
            assert cluster is not None and len(cluster.collection_ids) == 1
            found = read_collection(
                session, namespace_id=namespace.namespace_id, collection_ref=cluster.collection_ids[0]
            )
            assert found is not None and found.collection_name == cluster.cluster_name
