"""The one case-folding rule, its stored copies, and every write path that must keep them current.

Folded copies are written in Python (``store/folded.py::with_folded``); a write path that forgot
them would leave a row that case-insensitive filters and searches cannot find. Each test writes
through one path (create, patch, upsert, the runner's failure, the 0005 back-fill) and then finds
the row by a folded operand, on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command

from clusterbook.folding import fold, fold_json
from clusterbook.models.clusters import ClusterUpdate
from clusterbook.models.filters import parse_filter_tree
from clusterbook.models.listing import ListClusterExecutionsRequest
from clusterbook.store.clusters import list_clusters, update_cluster
from clusterbook.store.collections import list_collections
from clusterbook.store.db import alembic_config, make_engine, make_sessionmaker
from clusterbook.store.documents import list_documents
from clusterbook.store.executions import list_executions
from clusterbook.store.fields import CLUSTER_FIELDS, COLLECTION_FIELDS, DOCUMENT_FIELDS, EXECUTION_FIELDS
from clusterbook.store.folded import folded_pairs
from clusterbook.store.listing import ListQuery, PageRequest
from clusterbook.store.queue import claim_next_execution, fail_execution, submit_execution
from clusterbook.store.tables import metadata
from tests.factories import make_cluster, make_collection, make_documents

REGISTRIES = (EXECUTION_FIELDS, CLUSTER_FIELDS, COLLECTION_FIELDS, DOCUMENT_FIELDS)


@pytest.mark.parametrize(
    ("one", "other"),
    [("Straße", "STRASSE"), ("ΌΣΟΣ", "όσος"), ("İSTANBUL", "i\u0307stanbul"), ("Échec", "E\u0301CHEC"), ("OOM", "oom")],
)
def test_the_rule_equates_what_users_expect(one: str, other: str) -> None:
    assert fold(one) == fold(other)
    assert fold(fold(one)) == fold(one)  # folding twice changes nothing


def test_the_rule_keeps_accents_and_dotted_i_apart() -> None:
    assert fold("échec") != fold("echec")
    assert fold("İSTANBUL") != fold("istanbul")


def test_folded_json_keeps_keys_and_types() -> None:
    doc = {"City": "İSTANBUL", "n": 3, "ok": True, "none": None, "tags": ["Straße", 1], "in": {"X": "ΌΣΟΣ"}}
    assert fold_json(doc) == {
        "City": "i\u0307stanbul", "n": 3, "ok": True, "none": None, "tags": ["strasse", 1], "in": {"X": "όσοσ"},
    }  # fmt: skip


def test_every_case_insensitive_field_has_a_folded_copy() -> None:
    """The compiler compares ``FieldSpec.folded`` for every text field and the search columns: each
    must be a stored copy of that field's own column, and every copy in the schema must have a source."""
    for registry in REGISTRIES:
        for spec in registry.fields.values():
            if spec.kind == "string":
                assert spec.folded is not None and spec.folded.info["folds"] == spec.column.name, spec.name
        for column in registry.search_columns:
            assert "folds" in column.info, column
        for column in registry.json_prefixes.values():
            assert registry.resolve(f"{next(iter(registry.json_prefixes))}.k").folded is not None, column
    for table in metadata.tables.values():
        for source in folded_pairs(table):
            assert source in table.c, (table.name, source)


def _page() -> PageRequest:
    return PageRequest(1, 100, 0)


def test_clusters_created_and_patched_are_found_by_folded_text(session_factory) -> None:
    cluster = make_cluster(session_factory, cluster_name="Nightly-Cluster", description="ΌΣΟΣ notes")

    def found(filters: Any = None, terms: tuple[str, ...] = ()) -> list[str]:
        with session_factory() as session:
            rows, _ = list_clusters(
                session, namespace_id=cluster.namespace_id, query=ListQuery(parse_filter_tree(filters), terms=terms),
                page=_page(),
            )  # fmt: skip
        return [c.cluster_id for c in rows]

    assert found({"cluster_name": {"contains": "nightly-CLUSTER"}}) == [cluster.cluster_id]
    assert found(terms=(fold("όσος"),)) == [cluster.cluster_id]
    assert found({"cluster_id": cluster.cluster_id.upper()}) == [cluster.cluster_id]
    with session_factory() as session, session.begin():
        update_cluster(
            session, namespace_id=cluster.namespace_id, cluster_id=cluster.cluster_id,
            data=ClusterUpdate(cluster_name="Renamed", description=None),
        )  # fmt: skip
    assert found({"cluster_name": {"contains": "NIGHTLY"}}) == []
    assert found({"cluster_name": "RENAMED"}) == [cluster.cluster_id]
    assert found(terms=(fold("όσος"),)) == []
    assert found({"description": {"exists": False}}) == [cluster.cluster_id]


def test_collections_and_documents_are_found_by_folded_text(session_factory) -> None:
    collection = make_collection(session_factory, collection_name="Echecs-Mixed", description="Straße")
    with session_factory() as session:
        rows, _ = list_collections(
            session, namespace_id=collection.namespace_id,
            query=ListQuery(parse_filter_tree({"collection_name": {"starts_with": "ECHECS-m"}}), terms=("strasse",)),
            page=_page(),
        )  # fmt: skip
    assert [c.collection_id for c in rows] == [collection.collection_id]
    make_documents(
        session_factory, collection, [{"document_id": "Doc-1", "text": "ΌΣΟΣ", "metadata": {"city": "Straße"}}]
    )

    def found(filters: Any = None, terms: tuple[str, ...] = ()) -> list[str]:
        with session_factory() as session:
            docs, _ = list_documents(
                session, collection_id=collection.collection_id, query=ListQuery(parse_filter_tree(filters), terms=terms),
                page=_page(),
            )  # fmt: skip
        return [d.document_id for d in docs]

    assert found({"metadata.city": "STRASSE"}) == ["Doc-1"]
    assert found({"document_id": "DOC-1"}) == ["Doc-1"]
    assert found(terms=(fold("όσος"),)) == ["Doc-1"]
    # an upsert replaces the folded copies with the new text and metadata
    make_documents(
        session_factory, collection, [{"document_id": "Doc-1", "text": "plain", "metadata": {"city": "Oslo"}}]
    )
    assert found({"metadata.city": "STRASSE"}) == []
    assert found({"metadata.city": "OSLO"}) == ["Doc-1"]
    assert found(terms=(fold("όσος"),)) == []


def test_a_run_failed_by_the_runner_is_found_by_its_folded_error(session_factory) -> None:
    cluster = make_cluster(session_factory)
    with session_factory() as session, session.begin():
        run = submit_execution(
            session, namespace_id=cluster.namespace_id, cluster_id=cluster.cluster_id,
            config={"algorithm": "KMeans"}, run_name="Straße nightly",
        )  # fmt: skip
    with session_factory() as session, session.begin():
        claim = claim_next_execution(session, worker_id="w", lease_seconds=60)
        assert claim is not None
        assert fail_execution(session, run_id=run.run_id, token=claim.token, message="Échec: MÉMOIRE insuffisante")

    def found(body: dict[str, Any]) -> list[str]:
        request = ListClusterExecutionsRequest.model_validate(body)
        query = ListQuery(request.filter_tree(), request.sort, tuple(request.search_terms()), request.filters)
        with session_factory() as session:
            page = list_executions(session, cluster_id=cluster.cluster_id, query=query, page=_page())
        return [r.run_id for r in page.results]

    assert found({"filters": {"error_message": {"contains": "mémoire"}}}) == [run.run_id]
    assert found({"filters": {"run_name": {"starts_with": "STRASSE"}}}) == [run.run_id]
    assert found({"filters": {"algorithm": "kmeans"}}) == [run.run_id]
    assert found({"search": "ÉCHEC"}) == [run.run_id]
    assert found({"search": "E\u0301chec"}) == [run.run_id]


# ---------------------------------------------------------------- migration 0005


def test_migration_0005_backfills_folded_text_and_search(unmigrated_url: str) -> None:
    """Rows written before 0005 (search text lowercased by the old rule, no folded copies) are found
    by folded filters and searches once the migration ran, in more than one batch."""
    engine = make_engine(unmigrated_url)
    command.upgrade(alembic_config(engine), "0004")
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(
            sa.text("INSERT INTO namespaces (namespace_id, namespace_name, created_at) VALUES ('ns_x', 'x', :t)"),
            {"t": now},
        )
        conn.execute(
            sa.text(
                "INSERT INTO collections (collection_id, namespace_id, collection_name, description, created_at, updated_at) "
                "VALUES ('col_x', 'ns_x', 'Old-Name', 'ΌΣΟΣ', :t, :t)"
            ),
            {"t": now},
        )
        conn.execute(
            sa.text(
                "INSERT INTO documents (collection_id, document_id, text, metadata, created_at, updated_at) "
                "VALUES ('col_x', 'D1', 'İSTANBUL', :m, :t, :t)"
            ),
            {"t": now, "m": '{"city": "Straße", "n": 1}'},
        )
        conn.execute(
            sa.text(
                "INSERT INTO clusters (cluster_id, namespace_id, cluster_name, cluster_type, collection_ids, "
                "description, created_at, updated_at) VALUES ('clust_X', 'ns_x', 'Mixed-Case', 'vector', '[\"col_x\"]', "
                "NULL, :t, :t)"
            ),
            {"t": now},
        )
        for i in range(3):
            conn.execute(
                sa.text(
                    "INSERT INTO executions (run_id, namespace_id, cluster_id, status, run_name, num_clusters, "
                    "num_points, created_at, error_message, search_text) VALUES (:r, 'ns_x', 'clust_X', 'failed', "
                    ":n, 0, 0, :t, 'Straße kaputt', :s)"
                ),
                {"r": f"run_Old{i}", "n": f"ΌΣΟΣ {i}", "t": now, "s": f"run_old{i} straße kaputt"},
            )
    config = alembic_config(engine)
    config.attributes["fold_batch_size"] = 2  # three runs: the back-fill takes two batches
    command.upgrade(config, "head")
    factory = make_sessionmaker(engine)

    def runs(body: dict[str, Any]) -> list[str]:
        request = ListClusterExecutionsRequest.model_validate(body)
        query = ListQuery(request.filter_tree(), request.sort, tuple(request.search_terms()), request.filters)
        with factory() as session:
            page = list_executions(session, cluster_id="clust_X", query=query, page=_page())
        return sorted(r.run_id for r in page.results)

    every = ["run_Old0", "run_Old1", "run_Old2"]
    assert runs({"search": "STRASSE"}) == every
    assert runs({"search": "run_OLD1"}) == ["run_Old1"]
    assert runs({"filters": {"error_message": {"contains": "STRASSE"}}}) == every
    assert runs({"filters": {"run_name": {"ends_with": "ς 2"}}}) == ["run_Old2"]
    assert runs({"filters": {"run_id": "RUN_OLD0"}}) == ["run_Old0"]
    with factory() as session:
        clusters_found, _ = list_clusters(
            session,
            namespace_id="ns_x",
            query=ListQuery(parse_filter_tree({"cluster_name": "mixed-CASE"})),
            page=_page(),
        )
        docs, _ = list_documents(
            session, collection_id="col_x", query=ListQuery(parse_filter_tree({"metadata.city": "STRASSE"}), terms=("i\u0307stanbul",)),
            page=_page(),
        )  # fmt: skip
        cols, _ = list_collections(session, namespace_id="ns_x", query=ListQuery(terms=("όσοσ",)), page=_page())
    assert [c.cluster_id for c in clusters_found] == ["clust_X"]
    assert [d.document_id for d in docs] == ["D1"]
    assert [c.collection_id for c in cols] == ["col_x"]
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            indexes = set(
                conn.execute(sa.text("SELECT indexname FROM pg_indexes WHERE tablename = 'executions'")).scalars()
            )
        assert {"ix_executions_run_name_folded_trgm", "ix_executions_error_message_folded_trgm"} <= indexes
    engine.dispose()
