"""The ``execution_params`` side table: each run's ``config.*`` leaves, one indexed row each.

Why a side table: a filter on ``config.params.n_clusters`` would otherwise read and parse the
config document of every run of the cluster (1M JSON parses). Here it is a range probe of the
index ``(name, num, run_id)`` or ``(name, text_folded, run_id)`` that yields the matching run ids.

Every writer of ``executions.config`` calls one of these in the same transaction: the bulk insert
(``executions.insert_executions``, which ``create_execution``, the submit and the seed use), and the
end of a run (``queue.complete_execution`` / ``fail_execution``), which replaces the submitted
configuration with the effective one. Rows go when their run goes (foreign key, ``ON DELETE CASCADE``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import delete
from sqlalchemy.orm import Session

from clusterbook.models.config_fields import config_values
from clusterbook.store.db import insert_rows
from clusterbook.store.tables import execution_params

COLUMNS = ("run_id", "name", "num", "text", "text_folded")


def param_rows(runs: Iterable[tuple[str, Any]]) -> Iterable[tuple[Any, ...]]:
    """``(run_id, name, num, text, text_folded)`` for each ``(run_id, config)``."""
    for run_id, config in runs:
        for row in config_values(config):
            yield (run_id, *row)


def insert_params(session: Session, runs: Iterable[tuple[str, Any]]) -> None:
    """Index the configurations of newly inserted runs (COPY on PostgreSQL, executemany on SQLite)."""
    insert_rows(session, execution_params.name, COLUMNS, param_rows(runs))


def replace_params(session: Session, run_id: str, config: Any) -> None:
    """The run's configuration changed (its effective one replaced the submitted one): re-index it."""
    session.execute(delete(execution_params).where(execution_params.c.run_id == run_id))
    insert_params(session, [(run_id, config)])
