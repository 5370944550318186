"""The run's bulk paths on SQLite and PostgreSQL: loading (raw sqlite3 rows; PostgreSQL binary rows)
returns every vector bit for bit, and persisting (binary COPY; raw executemany) stores every
membership as given — noise, zero members, many batches — and only for the holder of the token,
with nothing left behind when the completion fails."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from clusterbook.models.clusters import Cluster
from clusterbook.store import documents as documents_module
from clusterbook.store.db import is_sqlite, make_sessionmaker, transaction
from clusterbook.store.documents import load_run_documents
from clusterbook.store.executions import read_execution
from clusterbook.store.queue import RunOutcome, claim_next_execution, complete_execution, submit_execution
from clusterbook.store.tables import execution_members
from tests.factories import make_cluster, make_collection, make_documents


@pytest.fixture
def writes(engine: Engine) -> sessionmaker[Session]:
    return make_sessionmaker(engine, writes=True)


def _held_run(writes: sessionmaker[Session], cluster: Cluster) -> tuple[str, str]:
    with transaction(writes) as session:
        submit_execution(
            session, namespace_id=cluster.namespace_id, cluster_id=cluster.cluster_id, config={"algorithm": "kmeans"}
        )
        held = claim_next_execution(session, worker_id="test-host:1", lease_seconds=60)
    assert held is not None
    return held.run_id, held.token


def _outcome(ids: list[str], clusters: list[str | None], distances: list[float | None]) -> RunOutcome:
    return RunOutcome(
        num_clusters=len({c for c in clusters if c is not None}),
        num_points=len(ids),
        metrics={},
        centroids=[],
        llm_labeling_errors=[],
        config={"algorithm": "kmeans"},
        details={},
        member_ids=ids,
        member_clusters=clusters,
        member_distances=distances,
    )


def _members(writes: sessionmaker[Session], run_id: str) -> list[tuple[str, str | None, float | None]]:
    m = execution_members.c
    with transaction(writes) as session:
        rows = session.execute(
            select(m.document_id, m.cluster_id, m.distance).where(m.run_id == run_id).order_by(m.document_id)
        ).all()
    return [tuple(r) for r in rows]  # type: ignore[misc]


# ---------------------------------------------------------------- loading


@pytest.mark.parametrize("snapshot", [False, True], ids=["rows", "snapshot"])
def test_loaded_vectors_texts_and_metadata_are_the_stored_ones_bit_for_bit(
    engine, session_factory, monkeypatch, snapshot
):
    """Both PostgreSQL paths: vectors in the binary rows, and (one snapshot) by binary COPY."""
    monkeypatch.setattr(documents_module, "LOAD_BATCH", 7)  # 53 documents: 7 full batches and a partial one
    rng = np.random.default_rng(5)
    values = (rng.normal(size=(53, 24)) * 10.0 ** rng.integers(-30, 30, size=(53, 1))).astype(np.float32)
    values[0, :5] = [-0.0, 1e-45, np.finfo(np.float32).max, -np.finfo(np.float32).tiny, 0.1]
    docs = [
        {
            "document_id": f"doc-{i:03d}",
            "text": None if i % 5 == 0 else f"text {i} ünïcødé ✓",
            "metadata": {"i": i, "tags": ["a", "b"], "nested": {"x": None}} if i % 2 else None,
            "vector": row.tolist(),
        }
        for i, row in enumerate(values)
    ]
    collection = make_collection(session_factory)
    make_documents(session_factory, collection, docs)
    reads = make_sessionmaker(engine, snapshot=snapshot)
    for with_metadata in (True, False):
        with reads() as session:
            loaded = load_run_documents(
                session,
                namespace_id=collection.namespace_id,
                collection_ids=[collection.collection_id],
                filters=None,
                with_metadata=with_metadata,
            )
        assert loaded.vectors is not None and loaded.vectors.dtype == np.float32 and loaded.vectors.shape == (53, 24)
        assert np.array_equal(loaded.vectors.view(np.uint32), values.view(np.uint32))  # every bit, -0.0 included
        assert loaded.document_ids == [d["document_id"] for d in docs]
        assert loaded.texts == [d["text"] for d in docs]
        expected_metadata = [d["metadata"] or {} for d in docs] if with_metadata else [{} for _ in docs]
        assert loaded.metadata == expected_metadata


def test_a_filtered_load_over_two_collections_keeps_the_order_and_the_rows(session_factory, monkeypatch):
    monkeypatch.setattr(documents_module, "LOAD_BATCH", 3)
    first, second = make_collection(session_factory), make_collection(session_factory)
    make_documents(session_factory, first, [
        {"document_id": f"a{i}", "metadata": {"keep": i % 2 == 0}, "vector": [float(i), 0.5]} for i in range(10)
    ])  # fmt: skip
    make_documents(session_factory, second, [
        {"document_id": f"b{i}", "metadata": {"keep": True}, "vector": [-float(i), 0.25]} for i in range(4)
    ])  # fmt: skip
    with session_factory() as session:
        loaded = load_run_documents(
            session,
            namespace_id=first.namespace_id,
            collection_ids=[first.collection_id, second.collection_id],
            filters={"field": "metadata.keep", "operator": "eq", "value": True},
        )
    assert loaded.document_ids == ["a0", "a2", "a4", "a6", "a8", "b0", "b1", "b2", "b3"]
    assert loaded.vectors is not None
    assert loaded.vectors.tolist() == [[0, 0.5], [2, 0.5], [4, 0.5], [6, 0.5], [8, 0.5]] + [
        [-i, 0.25] for i in range(4)
    ]
    assert loaded.metadata == [{"keep": True}] * 9


def test_a_snapshot_load_reads_the_collection_as_it_was_when_the_transaction_began(engine, session_factory):
    """Documents added and a vector replaced while the run loads: one snapshot, so the run gets the
    collection as it was, whole and consistent (ids, texts and vectors of the same rows), no error."""
    collection = make_collection(session_factory)
    make_documents(session_factory, collection, [
        {"document_id": f"d{i:02d}", "text": f"t{i}", "vector": [float(i), 1.0, -1.0]} for i in range(3, 40)
    ])  # fmt: skip
    with make_sessionmaker(engine, snapshot=True)() as session, session.begin():
        session.execute(select(func.count()).select_from(execution_members)).scalar_one()  # the snapshot starts
        make_documents(session_factory, collection, [
            {"document_id": d, "text": "new", "vector": [99.0, 99.0, 99.0]} for d in ("d00", "d05", "d99")
        ])  # fmt: skip
        loaded = load_run_documents(
            session, namespace_id=collection.namespace_id, collection_ids=[collection.collection_id], filters=None
        )
        if not is_sqlite(engine):  # the whole-collection plan setting is put back
            assert session.connection().exec_driver_sql("SHOW enable_sort").scalar_one() == "on"
    assert loaded.document_ids == [f"d{i:02d}" for i in range(3, 40)]
    assert loaded.texts == [f"t{i}" for i in range(3, 40)]
    assert loaded.vectors is not None
    assert loaded.vectors.tolist() == [[float(i), 1.0, -1.0] for i in range(3, 40)]


def test_rows_read_after_a_load_come_back_in_their_usual_types(session_factory, writes):
    """The binary format is this statement's only: the connection's next queries read as before."""
    collection = make_collection(session_factory)
    make_documents(session_factory, collection, [{"document_id": "d", "vector": [1.0, 2.0]}])
    cluster = make_cluster(session_factory, collection_ids=[collection.collection_id])
    run_id, _ = _held_run(writes, cluster)
    with session_factory() as session:
        load_run_documents(
            session, namespace_id=collection.namespace_id, collection_ids=[collection.collection_id], filters=None
        )
        run = read_execution(session, cluster_id=cluster.cluster_id, run_id=run_id)
    assert run is not None and run.started_at is not None and run.started_at.tzinfo is not None


# ---------------------------------------------------------------- persisting


@pytest.mark.parametrize("count", [0, 1, 5_000])
def test_memberships_persist_exactly_as_given(session_factory, writes, count):
    """Noise (no cluster, no distance), float64 distances to the last bit, long and non-ASCII ids, and
    5,000 rows: many COPY buffers on PostgreSQL."""
    cluster = make_cluster(session_factory)
    run_id, token = _held_run(writes, cluster)
    rng = np.random.default_rng(count)
    ids = [f"dök-{i:05d}-" + "x" * (i % 200) for i in range(count)]
    clusters = [None if i % 7 == 0 else f"cl_{i % 12}" for i in range(count)]
    distances: list[float | None] = [
        None if c is None else float(d) for c, d in zip(clusters, rng.random(count), strict=True)
    ]
    if count:
        distances[-1] = 1e-300 if distances[-1] is not None else None
    with transaction(writes) as session:
        assert complete_execution(session, run_id=run_id, token=token, outcome=_outcome(ids, clusters, distances))
    assert _members(writes, run_id) == sorted(zip(ids, clusters, distances, strict=True))
    with transaction(writes) as session:
        run = read_execution(session, cluster_id=cluster.cluster_id, run_id=run_id)
    assert run is not None and run.status == "completed" and run.num_points == count


def test_a_failed_token_check_writes_no_membership(session_factory, writes):
    cluster = make_cluster(session_factory)
    run_id, token = _held_run(writes, cluster)
    outcome = _outcome([f"d{i}" for i in range(100)], ["cl_0"] * 100, [0.5] * 100)
    with transaction(writes) as session:
        assert not complete_execution(session, run_id=run_id, token="f" * 32, outcome=outcome)
    assert _members(writes, run_id) == []
    with transaction(writes) as session:
        run = read_execution(session, cluster_id=cluster.cluster_id, run_id=run_id)
    assert run is not None and run.status == "processing"


def test_a_completion_that_fails_midway_leaves_nothing(session_factory, writes):
    """A duplicate document id breaks the primary key after rows were sent: the transaction rolls back
    the status and every membership already written."""
    cluster = make_cluster(session_factory)
    run_id, token = _held_run(writes, cluster)
    ids = [f"d{i}" for i in range(3000)] + ["d5"]
    outcome = _outcome(ids, ["cl_0"] * len(ids), [0.5] * len(ids))
    with pytest.raises(IntegrityError), transaction(writes) as session:
        complete_execution(session, run_id=run_id, token=token, outcome=outcome)
        session.flush()
    assert _members(writes, run_id) == []
    with transaction(writes) as session:
        run = read_execution(session, cluster_id=cluster.cluster_id, run_id=run_id)
    assert run is not None and run.status == "processing"


def test_memberships_of_unequal_lengths_are_refused_before_any_row(session_factory, writes):
    cluster = make_cluster(session_factory)
    run_id, token = _held_run(writes, cluster)
    refused = pytest.raises(ValueError, match="one cluster id and one distance per document id")
    with refused, transaction(writes) as session:
        complete_execution(session, run_id=run_id, token=token, outcome=_outcome(["a", "b"], ["cl_0"], [0.1, 0.2]))
    assert _members(writes, run_id) == []


def test_the_connection_settings_are_put_back_after_a_bulk_write(session_factory, writes, engine):
    """SQLite's page cache is raised for the write alone (PostgreSQL's COPY changes no setting)."""
    cluster = make_cluster(session_factory)
    run_id, token = _held_run(writes, cluster)
    setting = "PRAGMA cache_size" if is_sqlite(engine) else "SHOW work_mem"
    with transaction(writes) as session:
        before = session.connection().exec_driver_sql(setting).scalar_one()
        assert complete_execution(session, run_id=run_id, token=token, outcome=_outcome(["a"], ["cl_0"], [0.0]))
        assert session.connection().exec_driver_sql(setting).scalar_one() == before
    with transaction(writes) as session:
        assert session.execute(select(func.count()).select_from(execution_members)).scalar_one() == 1
