"""The ``execution_params`` side table: each run's ``config.*`` leaves, one indexed row each.

Why a side table: a filter on ``config.params.n_clusters`` would otherwise read and parse the
config document of every run of the cluster (1M JSON parses). Here it is a range probe of the
index ``(cluster_id, name, num, text, execution_id)`` or ``(cluster_id, name, text_folded,
execution_id)`` that yields the matching runs' integer ids (the rowid on SQLite), and ``group_by``
walks the first one for its (cluster, field) in group order (migration 0037). Each row carries its
run's ``cluster_id`` for that. Integer keys, not run ids: at 190k runs on SQLite a count took
107 ms instead of 468 ms (text keys are long to compare).

Every writer of ``executions.config`` calls one of these in the same transaction: the bulk insert
(``executions.insert_executions``, which ``create_execution``, the submit and the seed use), and the
end of a run (``queue.complete_execution`` / ``fail_execution``), which replaces the submitted
configuration with the effective one. Rows go when their run goes (foreign key, ``ON DELETE CASCADE``).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from clusterbook.models.config_fields import config_values
from clusterbook.store.db import insert_rows
from clusterbook.store.tables import execution_params, executions

COLUMNS = ("execution_id", "cluster_id", "name", "num", "text", "text_folded")
ID_LOOKUP_CHUNK = 500
"""Run ids per lookup of their integer ids (well below every bound-parameter limit)."""


def param_rows(runs: Iterable[tuple[int, str, Any]]) -> Iterable[tuple[Any, ...]]:
    """``(execution_id, cluster_id, name, num, text, text_folded)`` for each ``(execution_id, cluster_id,
    config)``."""
    for execution_id, cluster_id, config in runs:
        for row in config_values(config):
            yield (execution_id, cluster_id, *row)


def insert_params(session: Session, runs: Iterable[tuple[str, Any]]) -> None:
    """Index the configurations of newly inserted runs, given as ``(run_id, config)`` (COPY on
    PostgreSQL, executemany on SQLite); runs without a config cost nothing."""
    iterator = iter((run_id, config) for run_id, config in runs if config_values(config))
    while chunk := dict(itertools.islice(iterator, ID_LOOKUP_CHUNK)):
        found = session.execute(
            select(executions.c.run_id, executions.c.id, executions.c.cluster_id).where(executions.c.run_id.in_(chunk))
        )
        ids: dict[str, tuple[int, str]] = {run_id: (execution_id, cluster) for run_id, execution_id, cluster in found}
        rows = param_rows((*ids[r], c) for r, c in chunk.items())
        insert_rows(session, execution_params.name, COLUMNS, rows)


def replace_params(session: Session, run_id: str, config: Any) -> None:
    """The run's configuration changed (its effective one replaced the submitted one): re-index it."""
    execution_id = select(executions.c.id).where(executions.c.run_id == run_id).scalar_subquery()
    session.execute(delete(execution_params).where(execution_params.c.execution_id == execution_id))
    insert_params(session, [(run_id, config)])
