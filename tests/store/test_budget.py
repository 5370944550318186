"""The budget inside the database driver, on both databases: a statement past the deadline or whose
token is cancelled from another thread is stopped as QueryTimeout, the connection is usable at once,
and the indexed sorts the listing relies on are the ones the migrations create."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from clusterbook.errors import QueryTimeout
from clusterbook.store.budget import CancelToken, QueryBudget, enforce_budget
from clusterbook.store.fields import EXECUTION_FIELDS

ENDLESS = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 2000000000) SELECT count(*) FROM c"
"""Hours of counting on either database: it ends only when the budget stops it."""
SHORT = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 100000) SELECT count(*) FROM c"


def run_budgeted(factory, budget: QueryBudget, statement: str, times: int = 1) -> None:
    with factory() as session, session.begin(), enforce_budget(session, budget):
        for _ in range(times):
            session.execute(sa.text(statement))


def test_a_statement_past_the_deadline_is_stopped_and_the_connection_stays_usable(session_factory):
    budget = QueryBudget(0.2, hint="expensive here: counting")
    with pytest.raises(QueryTimeout) as caught:
        run_budgeted(session_factory, budget, ENDLESS)
    assert "budget of 0.2 s" in caught.value.message and "expensive here: counting" in caught.value.message
    with session_factory() as session, session.begin():  # the pooled connection, handler gone
        assert session.execute(sa.text(SHORT)).scalar_one() == 100000


def test_a_cancelled_token_stops_the_running_statement(session_factory):
    token = CancelToken()
    budget = QueryBudget(3600, token)
    timer = threading.Timer(0.3, token.cancel)  # the disconnect, as the ASGI layer sends it
    timer.start()
    try:
        with pytest.raises(QueryTimeout, match="client disconnected"):
            run_budgeted(session_factory, budget, ENDLESS)
    finally:
        timer.cancel()
    with session_factory() as session, session.begin():
        assert session.execute(sa.text(SHORT)).scalar_one() == 100000


def test_the_statements_of_one_request_share_one_budget(session_factory):
    budget = QueryBudget(0.5)
    with pytest.raises(QueryTimeout):  # each statement is quick; together they run past the budget
        run_budgeted(session_factory, budget, SHORT, times=10_000)


def test_the_indexed_sorts_are_those_the_migrations_index(engine):
    """A sort counts as index-served when an index leads with (cluster_id, that column, run_id): the
    order of the sort and its tie-breaker within one history."""
    leading = {tuple(index["column_names"][:3]) for index in sa.inspect(engine).get_indexes("executions")}
    served = {
        name
        for name, spec in EXECUTION_FIELDS.fields.items()
        if spec.sortable and ("cluster_id", spec.column.name, "run_id") in leading
    }
    assert served == EXECUTION_FIELDS.indexed_sorts
