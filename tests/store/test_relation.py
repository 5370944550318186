"""The contingency table of two runs is counted in the database: one cell per (cluster, cluster) pair
of the documents both runs hold, noise as NULL, documents of one run only left out."""

from __future__ import annotations

from sqlalchemy import insert
from sqlalchemy.orm import Session, sessionmaker

from clusterbook.runner.relation import relate_runs
from clusterbook.store.relation import contingency_cells
from clusterbook.store.tables import execution_members
from tests.factories import completed_fields, make_cluster, make_execution


def add_members(factory: sessionmaker[Session], run_id: str, members: dict[str, str | None]) -> None:
    with factory() as session, session.begin():
        session.execute(
            insert(execution_members),
            [{"run_id": run_id, "document_id": d, "cluster_id": c, "distance": 0.0} for d, c in members.items()],
        )


def test_cells_count_the_shared_documents_per_pair_of_clusters(session_factory: sessionmaker[Session]) -> None:
    cluster = make_cluster(session_factory)
    first = make_execution(session_factory, cluster, **completed_fields(0)).run_id
    second = make_execution(session_factory, cluster, **completed_fields(1)).run_id
    add_members(session_factory, first, {"a": "cl_0", "b": "cl_0", "c": "cl_1", "d": None, "only-first": "cl_1"})
    add_members(session_factory, second, {"a": "cl_1", "b": "cl_1", "c": "cl_0", "d": None, "only-second": "cl_0"})
    with session_factory() as session:
        cells = contingency_cells(session, reference_run_id=first, other_run_id=second)
        _, result = relate_runs(session, reference_run_id=first, other_run_id=second)
    assert sorted(cells, key=str) == sorted([("cl_0", "cl_1", 2), ("cl_1", "cl_0", 1), (None, None, 1)], key=str)
    assert result.shared_documents == 4
    assert result.ari == 1.0 and result.moved_documents == 0
    assert [(m.reference, m.other, m.jaccard) for m in result.matches] == [("cl_0", "cl_1", 1.0), ("cl_1", "cl_0", 1.0)]
