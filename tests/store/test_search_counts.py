"""A search count taken from the search index (SQLite) equals the plain COUNT in every shape, and is
taken exactly when it is cheap: the cluster holds (nearly) the whole history and no filter applies."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event, func, select

from clusterbook.models.filters import parse_filter_tree
from clusterbook.store.db import make_engine, make_sessionmaker, migrate
from clusterbook.store.executions import list_executions
from clusterbook.store.fields import EXECUTION_FIELDS
from clusterbook.store.listing import ListQuery, PageRequest, compile_query, count_from_search_index
from clusterbook.store.tables import executions
from tests.factories import make_cluster, make_history

_c = executions.c


@pytest.fixture
def factory(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'counts.db'}")
    migrate(engine)
    yield make_sessionmaker(engine)
    engine.dispose()


def plain_count(session: Any, cluster_id: str, query: ListQuery) -> int:
    compiled = compile_query(session, EXECUTION_FIELDS, _c.cluster_id == cluster_id, query)
    return int(session.execute(select(func.count()).select_from(executions).where(compiled.where)).scalar_one())


def index_count(session: Any, cluster_id: str, query: ListQuery) -> int | None:
    compiled = compile_query(
        session, EXECUTION_FIELDS, _c.cluster_id == cluster_id, query, partition=(_c.cluster_id, cluster_id)
    )
    return count_from_search_index(session, EXECUTION_FIELDS, compiled)


def test_counts_from_the_index_match_the_plain_count(factory):
    big = make_cluster(factory)
    make_history(factory, big, 40, error_message="Out of memory while clustering")
    make_history(factory, big, 20, error_message="Timed out waiting")
    small = make_cluster(factory)  # a few rows outside the big cluster, some matching
    make_history(factory, small, 3, error_message="Out of memory again")
    make_history(factory, small, 2, error_message="Timed out")
    with factory() as session:
        for terms, cheap in ((("memory",), True), (("memory", "clustering"), True), (("nowhere",), True),
                             (("timed", "waiting"), True), (("me",), False)):  # fmt: skip
            query = ListQuery(terms=terms)
            expected = plain_count(session, big.cluster_id, query)
            got = index_count(session, big.cluster_id, query)
            assert (got is not None) == cheap, terms
            if got is not None:
                assert got == expected, terms
            # the small cluster: the big one outside holds far more than a quarter of the matches
            small_got = index_count(session, small.cluster_id, query)
            if small_got is not None:
                assert small_got == plain_count(session, small.cluster_id, query), terms
        # "memory" matches 43 runs in the history, 3 outside the big cluster: the outside share is small
        assert index_count(session, big.cluster_id, ListQuery(terms=("memory",))) == 40
        assert index_count(session, small.cluster_id, ListQuery(terms=("memory",))) is None
        # a filter: the plain count
        status = ListQuery(filter=parse_filter_tree({"field": "status", "operator": "==", "value": "completed"}),
                           terms=("memory",))  # fmt: skip
        assert index_count(session, big.cluster_id, status) is None


def test_a_cluster_holding_the_whole_history_counts_without_a_count_statement(factory):
    cluster = make_cluster(factory)
    make_history(factory, cluster, 30, error_message="Out of memory while clustering")
    make_history(factory, cluster, 10, error_message="Timed out")
    engine = factory.kw["bind"]
    seen: list[str] = []

    def before(_c: Any, _cur: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", before)
    try:
        with factory() as session:
            page = list_executions(
                session, cluster_id=cluster.cluster_id, query=ListQuery(terms=("memory",)), page=PageRequest(1, 10, 0)
            )
    finally:
        event.remove(engine, "before_cursor_execute", before)
    assert page.total == 30 and len(page.results) == 10
    assert all("memory" in (run.error_message or "").lower() for run in page.results)
    fts_passes = [s for s in seen if "MATCH" in s]
    assert len(fts_passes) == 1, seen  # one pass of the search index: the count, reused for the plan
    assert not any("count(*)" in s.lower() and "FROM executions WHERE" in s and "MATCH" not in s
                   and "instr" not in s and "LIMIT" not in s for s in seen), seen  # fmt: skip
