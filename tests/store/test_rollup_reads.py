"""What a ranged ``stats_scope: "all"`` and a total read from the rollups: only the sums they use, from
the grains summed over algorithms unless the filter names ``algorithm`` (both databases). Summing all
~130 rollup columns for five — in the rollup rows and both ragged ends — cost more than the rest of the
request. The answers themselves are compared with the exact SQL in ``test_rollups.py``."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, event
from sqlalchemy.orm import Session, sessionmaker

from clusterbook.models.filters import parse_filter_tree
from clusterbook.store.executions import STATS_SUMS, aggregate_stats, list_executions
from clusterbook.store.fields import EXECUTION_FIELDS
from clusterbook.store.listing import ListQuery, PageRequest, compile_query
from clusterbook.store.tables import executions
from tests.factories import BASE_TIME, completed_fields, make_cluster, make_runs


def statements_of(engine: Engine, action: Any) -> list[tuple[str, Any]]:
    seen: list[tuple[str, Any]] = []

    def before(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", before)
    try:
        action()
    finally:
        event.remove(engine, "before_cursor_execute", before)
    return seen


def ranged(algorithm: str | None = None) -> ListQuery:
    conditions: list[dict[str, Any]] = [
        {"field": "created_at", "operator": ">=", "value": (BASE_TIME + timedelta(minutes=17)).isoformat()},
        {"field": "created_at", "operator": "<", "value": (BASE_TIME + timedelta(hours=50, minutes=5)).isoformat()},
    ]
    if algorithm is not None:
        conditions.append({"field": "algorithm", "operator": "==", "value": algorithm})
    raw = {"operator": "AND", "conditions": conditions}
    return ListQuery(filter=parse_filter_tree(raw), raw_filters=raw)


@pytest.mark.parametrize("algorithm", [None, "kmeans"])
def test_ranged_stats_sum_only_what_they_report(
    engine: Engine, session_factory: sessionmaker[Session], algorithm: str | None
) -> None:
    cluster = make_cluster(session_factory)
    specs = [completed_fields(i * 13, algorithm="kmeans" if i % 2 else "dbscan") for i in range(300)]
    make_runs(session_factory, cluster, specs)
    query = ranged(algorithm)
    with session_factory() as session:

        def listing() -> Any:
            return list_executions(
                session, cluster_id=cluster.cluster_id, query=query, page=PageRequest(1, 5, 0), stats_scope="all"
            )

        seen = statements_of(engine, listing)
        page = listing()
        where = compile_query(session, EXECUTION_FIELDS, executions.c.cluster_id == cluster.cluster_id, query).where
        exact = aggregate_stats(session, where)
    assert page.stats == exact and page.total == exact.total_executions > 0
    sums = [(s, p) for s, p in seen if "GROUP BY" in s.upper()]
    rollup = [(s, p) for s, p in sums if "execution_rollups" in s]
    assert len(rollup) == 1 and len(sums) == 3  # the rollup rows and the two ragged ends
    for statement, _ in sums:
        # one SUM per reported sum, plus the rollup's HAVING sum(n) > 0
        assert statement.upper().count("SUM(") <= len(STATS_SUMS) + 1, statement
    values = {str(v) for v in (rollup[0][1].values() if isinstance(rollup[0][1], dict) else rollup[0][1])}
    if algorithm is None:
        assert {"hs", "ds"} & values and not {"hour", "day"} & values
    else:
        assert {"hour", "day"} & values and not {"hs", "ds"} & values
