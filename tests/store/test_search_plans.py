"""SQLite chooses between two plans for a search page; both must return exactly the same rows."""

from __future__ import annotations

from clusterbook.models.listing import SortSpec
from clusterbook.store.db import make_engine, make_sessionmaker, migrate
from clusterbook.store.executions import list_executions
from clusterbook.store.fields import EXECUTION_FIELDS
from clusterbook.store.listing import ListQuery, PageRequest, compile_query
from clusterbook.store.tables import executions
from tests.factories import make_cluster, make_history


def test_common_and_rare_terms_page_identically_whichever_plan_runs(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'plans.db'}")
    migrate(engine)
    factory = make_sessionmaker(engine)
    cluster = make_cluster(factory)
    common = make_history(factory, cluster, 50, error_message="Out of memory while clustering")
    make_history(factory, cluster, 10, error_message="Timed out")
    sort = SortSpec(field="num_points", direction="asc")

    with factory() as session:
        scope = executions.c.cluster_id == cluster.cluster_id
        compiled_common = compile_query(session, EXECUTION_FIELDS, scope, ListQuery(sort=sort, terms=("memory",)))
        compiled_rare = compile_query(session, EXECUTION_FIELDS, scope, ListQuery(sort=sort, terms=("timed",)))
        first_page = PageRequest(1, 10, 0)
        # The common term walks the sort index; the rare one is driven by the search index.
        assert compiled_common.page_where(first_page) is compiled_common.walk_where
        assert compiled_rare.page_where(first_page) is compiled_rare.where

        seen = []
        for number in range(1, 6):
            page = list_executions(
                session,
                cluster_id=cluster.cluster_id,
                query=ListQuery(sort=sort, terms=("memory",)),
                page=PageRequest(number, 10, (number - 1) * 10),
            )
            assert page.total == 50
            seen.extend(run.run_id for run in page.results)
    # make_history gives run i of the common batch num_points 100 + 10 i; the other batch repeats
    # those sizes, so ascending num_points interleaves them and only the common runs may appear.
    with factory() as session:
        points = dict(
            session.execute(executions.select().with_only_columns(executions.c.run_id, executions.c.num_points)).all()
        )
    expected = sorted(common, key=lambda run_id: (points[run_id], run_id))
    assert seen == expected
    engine.dispose()
