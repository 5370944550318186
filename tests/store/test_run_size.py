"""A run's size counted in SQL before it is queued (documents after the pre-filter, vector dimensions),
agreeing with what the loader would load, and refusing what the loader would refuse — on both databases."""

from __future__ import annotations

import pytest

from clusterbook.errors import ClusteringFailed
from clusterbook.store.documents import load_run_documents
from clusterbook.store.run_size import RunSize, count_run_size
from tests.factories import make_collection, make_documents


def _size(factory, refs, filters=None, namespace="ns_default") -> RunSize:  # type: ignore[no-untyped-def]
    with factory() as session, session.begin():
        return count_run_size(session, namespace_id=namespace, collection_ids=refs, filters=filters)


def test_the_size_is_what_the_loader_loads(session_factory):
    a = make_collection(session_factory, collection_name="a")
    b = make_collection(session_factory, collection_name="b")
    make_documents(
        session_factory, a, [{"document_id": f"a{i}", "vector": [i, 1, 2], "metadata": {"k": i % 3}} for i in range(30)]
    )
    make_documents(
        session_factory, b, [{"document_id": f"b{i}", "vector": [0, i, 1], "metadata": {"k": 1}} for i in range(12)]
    )
    assert _size(session_factory, ["a", b.collection_id]) == RunSize(42, 3)
    where = {"metadata.k": {"eq": 1}}
    size = _size(session_factory, ["a", "b"], where)
    with session_factory() as session, session.begin():
        loaded = load_run_documents(
            session, namespace_id="ns_default", collection_ids=["a", "b"], filters=where, with_metadata=False
        )
    assert size == RunSize(len(loaded.document_ids), 3) == RunSize(22, 3)
    texts = make_collection(session_factory, collection_name="texts")
    make_documents(session_factory, texts, [{"document_id": f"t{i}", "text": "words"} for i in range(5)])
    assert _size(session_factory, ["texts"]) == RunSize(5, None)  # no vectors: the embedder's dimensions count
    empty = make_collection(session_factory, collection_name="empty")
    assert _size(session_factory, [empty.collection_id]) == RunSize(0, None)


def test_what_the_loader_would_refuse_is_refused_with_its_message(session_factory):
    small = make_collection(session_factory, collection_name="small")
    large = make_collection(session_factory, collection_name="large")
    texts = make_collection(session_factory, collection_name="texts")
    make_documents(session_factory, small, [{"document_id": "s", "vector": [1.0] * 4}])
    make_documents(session_factory, large, [{"document_id": "l", "vector": [1.0] * 8}])
    make_documents(session_factory, texts, [{"document_id": f"t{i}", "text": "x"} for i in range(3)])
    cases = [
        (["small", "ghost"], None, "collection 'ghost' no longer exists"),
        (["small", "large"], None, "Vectors of collection 'small' have dimension 4 but collection 'large' has 8"),
        (["small", "texts"], None, "3 of 4 documents have no vector; give every document a vector, or none"),
        (["small"], {"lang": "en"}, "the cluster's filters are invalid: filters.lang: unknown field 'lang'"),
    ]
    for refs, filters, message in cases:
        with pytest.raises(ClusteringFailed) as caught:
            _size(session_factory, refs, filters)
        assert message in caught.value.message, (refs, caught.value.message)
    with pytest.raises(ClusteringFailed, match="'small' no longer exists"):
        _size(session_factory, ["small"], namespace="ns_other")
