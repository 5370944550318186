"""Keeping ``execution_rollups`` in step with ``executions``: the triggers, the bulk-load path and the rebuild.

Why database triggers rather than deltas in Python: every write of a run — the queue's claims and
conditional transitions, cancel, completion, reaping, requeue, bulk seeding, deleting a cluster or a
namespace (foreign-key cascades) — lands in the same transaction without any writer having to know,
and on PostgreSQL a conditional ``UPDATE`` that matched nothing (a cancel racing a completion) adds
nothing, which Python could only learn by re-reading. Each trigger applies a signed delta (−old
row, +new row) to the grains of the run's bucket with ``INSERT … ON CONFLICT DO UPDATE SET
c = c + excluded.c``, so two workers completing runs of one bucket at once serialise on the rollup
row and never lose an update.

* SQLite: row triggers (``AFTER INSERT``, ``AFTER DELETE``, ``AFTER UPDATE OF`` the summed columns
  ``WHEN`` one of them changed). Bulk loads pause the insert trigger and add the batch with one
  grouped statement (like the FTS trigger, ``fulltext.PausedInsertTrigger``).
* PostgreSQL: statement triggers over transition tables, one grouped upsert per statement (a COPY
  of 10,000 runs is one statement); rows are upserted in key order so two statements lock rollup
  rows in the same order.

The SQL is generated from ``rollup_columns.AGG_COLUMNS`` (itself derived from ``MEASURES``). A
migration that adds a measure adds its rollup columns and calls :func:`install` again, then
:func:`rebuild`. Both leave out the measures whose ``executions`` column does not exist yet, so an
older migration that calls them (while the declaration already holds a later measure) still runs.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from clusterbook.models.measures import MEASURES
from clusterbook.store.rollup_columns import AGG_COLUMNS, AggColumn

GRAINS = ("hour", "day", "all", "hs", "ds")
STATUS_GRAINS = {"hour": "hs", "day": "ds"}
"""The hour and day grains again, summed over algorithms (``algorithm_key`` ``'*'``): a trend that does
not filter by algorithm reads one row per bucket and status instead of one per algorithm too."""
_ANY_ALGORITHM = "g.grain IN ('hs', 'ds')"
EPOCH_TEXT = "1970-01-01 00:00:00.000000"
KEY = "cluster_id, grain, bucket_start, status, algorithm_key"
TRACKED = ("cluster_id", "status", "algorithm", "algorithm_folded", "created_at", "num_points", "num_clusters",
           *(m.column for m in MEASURES))  # fmt: skip
"""The columns of ``executions`` a rollup row depends on: an UPDATE touching none of them changes nothing."""
_GRAINS_SQL = " UNION ALL ".join(f"SELECT '{g}' AS grain" for g in GRAINS)


def _bucket(dialect: str, alias: str) -> str:
    col = f"{alias}.created_at"
    if dialect == "sqlite":
        return (
            f"CASE WHEN g.grain IN ('hour', 'hs') THEN substr({col}, 1, 13) || ':00:00.000000' "
            f"WHEN g.grain IN ('day', 'ds') THEN substr({col}, 1, 10) || ' 00:00:00.000000' ELSE '{EPOCH_TEXT}' END"
        )
    utc = f"({col} AT TIME ZONE 'UTC')"
    return (
        f"CASE WHEN g.grain IN ('hour', 'hs') THEN date_trunc('hour', {utc}) AT TIME ZONE 'UTC' "
        f"WHEN g.grain IN ('day', 'ds') THEN date_trunc('day', {utc}) AT TIME ZONE 'UTC' "
        "ELSE timestamptz '1970-01-01 00:00:00+00' END"
    )


def upsert_sql(
    dialect: str,
    source: str,
    *,
    alias: str = "r",
    sign: str | None = None,
    columns: tuple[AggColumn, ...] = AGG_COLUMNS,
) -> str:
    """``INSERT … SELECT … ON CONFLICT DO UPDATE`` adding the runs of ``source`` to their buckets.

    ``source`` is a FROM item naming rows ``alias`` with a ``sign`` column (grouped), or, with
    ``sign`` given, empty: the single row ``alias`` of a SQLite row trigger (``new``/``old``)."""
    names = ", ".join(c.name for c in columns)
    akey = (
        f"CASE WHEN {_ANY_ALGORITHM} THEN '*' WHEN {alias}.algorithm IS NULL THEN '-' ELSE '=' || {alias}.algorithm END"
    )
    algorithm = f"CASE WHEN {_ANY_ALGORITHM} THEN NULL ELSE {alias}.algorithm END"
    folded = f"CASE WHEN {_ANY_ALGORITHM} THEN NULL ELSE {alias}.algorithm_folded END"
    keys = [f"{alias}.cluster_id", "g.grain", _bucket(dialect, alias), f"{alias}.status", akey, algorithm, folded]
    if sign is not None:
        sums = ", ".join(f"{sign} * ({c.of(alias)})" for c in columns)
        select = f"SELECT {', '.join(keys)}, {sums} FROM ({_GRAINS_SQL}) g WHERE true"
    else:
        sums = ", ".join(f"SUM({alias}.sign * ({c.of(alias)}))" for c in columns)
        grouped = ", ".join(str(i) for i in range(1, len(keys) + 1))
        select = (
            f"SELECT {', '.join(keys)}, {sums} FROM {source} CROSS JOIN ({_GRAINS_SQL}) g "
            f"GROUP BY {grouped} ORDER BY 1, 2, 3, 4, 5"
        )
    updates = ", ".join(f"{c.name} = execution_rollups.{c.name} + excluded.{c.name}" for c in columns)
    return (
        f"INSERT INTO execution_rollups (cluster_id, grain, bucket_start, status, algorithm_key, algorithm, "
        f"algorithm_folded, {names}) {select} ON CONFLICT ({KEY}) DO UPDATE SET {updates}"
    )


def _changed(old: str, new: str, dialect: str, tracked: tuple[str, ...]) -> str:
    op = "IS NOT" if dialect == "sqlite" else "IS DISTINCT FROM"
    return " OR ".join(f"{old}.{c} {op} {new}.{c}" for c in tracked)


def _present(conn: Connection | Session) -> tuple[tuple[AggColumn, ...], tuple[str, ...]]:
    """The summed and tracked columns whose measure exists in ``executions`` now (all of them once the
    schema is at head; fewer while an older migration runs)."""
    bind = conn.connection() if isinstance(conn, Session) else conn
    existing = {c["name"] for c in inspect(bind).get_columns("executions")}
    columns = tuple(c for c in AGG_COLUMNS if c.measure is None or c.measure in existing)
    return columns, tuple(c for c in TRACKED if c in existing)


SQLITE_INSERT_TRIGGER = "executions_rollup_insert"


def sqlite_insert_trigger() -> str:
    return (
        f"CREATE TRIGGER {SQLITE_INSERT_TRIGGER} AFTER INSERT ON executions BEGIN "
        f"{upsert_sql('sqlite', '', alias='new', sign='1')}; END"
    )


def _sqlite_ddl(columns: tuple[AggColumn, ...], tracked: tuple[str, ...]) -> list[str]:
    old = upsert_sql("sqlite", "", alias="old", sign="-1", columns=columns)
    new = upsert_sql("sqlite", "", alias="new", sign="1", columns=columns)
    return [
        f"CREATE TRIGGER {SQLITE_INSERT_TRIGGER} AFTER INSERT ON executions BEGIN {new}; END",
        f"CREATE TRIGGER executions_rollup_delete AFTER DELETE ON executions BEGIN {old}; END",
        f"CREATE TRIGGER executions_rollup_update AFTER UPDATE OF {', '.join(tracked)} ON executions "
        f"WHEN {_changed('old', 'new', 'sqlite', tracked)} BEGIN {old}; {new}; END",
    ]


def _pg_function(name: str, body: str) -> str:
    return (
        f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $fn$ BEGIN {body}; "
        "RETURN NULL; END $fn$"
    )


def _pg_ddl(columns: tuple[AggColumn, ...], tracked: tuple[str, ...]) -> list[str]:
    changed = _changed("o", "n", "postgresql", tracked)
    moved = (
        f"(SELECT -1 AS sign, o.* FROM old_rows o JOIN new_rows n ON n.id = o.id WHERE {changed} "
        f"UNION ALL SELECT 1 AS sign, n.* FROM old_rows o JOIN new_rows n ON n.id = o.id WHERE {changed}) r"
    )
    parts = {
        "insert": ("NEW TABLE AS new_rows", "(SELECT 1 AS sign, * FROM new_rows) r"),
        "delete": ("OLD TABLE AS old_rows", "(SELECT -1 AS sign, * FROM old_rows) r"),
        "update": ("OLD TABLE AS old_rows NEW TABLE AS new_rows", moved),
    }
    ddl = []
    for event, (referencing, source) in parts.items():
        fn = f"executions_rollup_{event}"
        ddl.append(_pg_function(fn, upsert_sql("postgresql", source, columns=columns)))
        ddl.append(f"DROP TRIGGER IF EXISTS {fn} ON executions")
        ddl.append(
            f"CREATE TRIGGER {fn} AFTER {event.upper()} ON executions REFERENCING {referencing} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {fn}()"
        )
    return ddl


def install(conn: Connection) -> None:
    """(Re)create the triggers for the current declaration of measures."""
    dialect = conn.dialect.name
    columns, tracked = _present(conn)
    if dialect == "sqlite":
        for name in ("insert", "delete", "update"):
            conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS executions_rollup_{name}")
        ddl = _sqlite_ddl(columns, tracked)
    else:
        ddl = _pg_ddl(columns, tracked)
    for statement in ddl:
        conn.exec_driver_sql(statement)


def rebuild(conn: Connection | Session, *, cluster_id: str | None = None) -> int:
    """Recompute the rollups from ``executions`` (all clusters, or one); returns the rows written.
    Run inside the caller's transaction: the triggers keep it exact from there on."""
    dialect = conn.get_bind().dialect.name if isinstance(conn, Session) else conn.dialect.name
    scope = "" if cluster_id is None else " WHERE cluster_id = :cid"
    params: dict[str, Any] = {} if cluster_id is None else {"cid": cluster_id}
    conn.execute(text("DELETE FROM execution_rollups" + scope), params)
    source = f"(SELECT 1 AS sign, * FROM executions{scope}) r"
    conn.execute(text(upsert_sql(dialect, source, columns=_present(conn)[0])), params)
    counted = conn.execute(text("SELECT count(*) FROM execution_rollups" + scope), params).scalar_one()
    return int(counted)


class PausedRollupTrigger:
    """SQLite bulk loads: drop the per-row insert trigger inside the loading transaction, then add
    every new row (``id`` above the largest before) with one grouped upsert. The write lock is held
    throughout, so no other writer's row can miss its rollup; a rollback restores the trigger."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.max_id = 0

    def __enter__(self) -> PausedRollupTrigger:
        self.session.execute(text(f"DROP TRIGGER {SQLITE_INSERT_TRIGGER}"))
        self.max_id = self.session.execute(text("SELECT coalesce(max(id), 0) FROM executions")).scalar_one()
        return self

    def __exit__(self, exc_type: object, *_: object) -> None:
        if exc_type is None:
            source = "(SELECT 1 AS sign, * FROM executions WHERE id > :m) r"
            self.session.execute(text(upsert_sql("sqlite", source)), {"m": self.max_id})
            self.session.execute(text(sqlite_insert_trigger()))
