"""The sample of moved documents is chosen by the database: the first ``limit`` by document id, with a
LIMIT in the statement, so a compare never brings every moved id into Python."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from clusterbook.runner.compare import compare_runs
from clusterbook.store.relation import moved_documents_sample
from tests.factories import completed_fields, make_cluster, make_execution
from tests.store.test_relation import add_members


def test_the_first_moved_documents_by_id_with_noise_staying_noise(session_factory: sessionmaker[Session]) -> None:
    cluster = make_cluster(session_factory)
    first = make_execution(session_factory, cluster, **completed_fields(0)).run_id
    second = make_execution(session_factory, cluster, **completed_fields(1)).run_id
    reference = {f"d{i:04d}": (None if i % 10 == 9 else f"cl_{i % 2}") for i in range(1000)}
    other = {d: ("cl_1" if c == "cl_0" else "cl_0" if c == "cl_1" else None) for d, c in reference.items()}
    for i in range(0, 1000, 7):  # every 7th document goes elsewhere (noise to a cluster, a cluster to noise)
        doc = f"d{i:04d}"
        other[doc] = None if reference[doc] is not None else "cl_1"
    add_members(session_factory, first, reference)
    add_members(session_factory, second, other)
    moved = sorted(d for d in reference if other[d] != {"cl_0": "cl_1", "cl_1": "cl_0", None: None}[reference[d]])
    with session_factory() as session:
        sample = moved_documents_sample(
            session, reference_run_id=first, other_run_id=second, matched={"cl_0": "cl_1", "cl_1": "cl_0"}, limit=20
        )
        nothing_matched = moved_documents_sample(
            session, reference_run_id=first, other_run_id=second, matched={}, limit=5
        )
    assert [d for d, _, _ in sample] == moved[:20]
    assert all((r, c) == (reference[d], other[d]) for d, r, c in sample)
    # with no match, every document but those noise in both runs has moved
    assert [d for d, _, _ in nothing_matched] == sorted(d for d in reference if reference[d] or other[d])[:5]


def test_the_compare_asks_for_the_moved_documents_with_a_limit(session_factory: sessionmaker[Session]) -> None:
    cluster = make_cluster(session_factory)
    runs = [make_execution(session_factory, cluster, **completed_fields(i)).run_id for i in range(2)]
    add_members(session_factory, runs[0], {f"d{i:04d}": f"cl_{i % 3}" for i in range(600)})
    add_members(session_factory, runs[1], {f"d{i:04d}": f"cl_{i % 2}" for i in range(600)})
    fetched: list[tuple[str, int]] = []

    def after(_conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        fetched.append((statement, cursor.rowcount))

    with session_factory() as session:
        engine = session.get_bind()
        event.listen(engine, "after_cursor_execute", after)
        try:
            result = compare_runs(session, namespace_id=cluster.namespace_id, run_ids=runs)
        finally:
            event.remove(engine, "after_cursor_execute", after)
    (pair,) = result.pairs
    assert pair.moved_documents is not None and pair.moved_documents > 200
    assert len(pair.moved_sample) == 20
    member_reads = [s for s, _ in fetched if "execution_members" in s]
    assert len(member_reads) == 2  # the contingency GROUP BY and the sample
    assert any("GROUP BY" in s for s in member_reads)
    sample_sql = next(s for s in member_reads if "GROUP BY" not in s)
    assert "LIMIT" in sample_sql and "ORDER BY" in sample_sql
