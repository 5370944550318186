"""Engines, sessions and migrations for SQLite (embedded default) and PostgreSQL.

Nothing connects at import time: :func:`make_engine` builds an engine from settings and
:func:`migrate` brings its schema to the latest Alembic revision (also on first start).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from clusterbook.errors import InvalidRequest
from clusterbook.store.budget import install_budget_hooks

logger = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def normalise_url(url: str) -> str:
    """Accept ``postgresql://`` and ``postgres://`` and pick the psycopg 3 driver for them."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def display_url(url: str) -> str:
    """The database URL as it may be printed or logged: its password (also a ``password=`` query
    parameter) shown as ``***`` by SQLAlchemy's own renderer. A URL that cannot be parsed is not shown."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        return "<a database URL that cannot be parsed>"
    if "password" in parsed.query:
        parsed = parsed.update_query_dict({"password": "***"})
    return parsed.render_as_string(hide_password=True).replace("password=%2A%2A%2A", "password=***")


def make_engine(url: str, *, busy_timeout_ms: int = 30_000, echo: bool = False, **kwargs: Any) -> Engine:
    """An engine with the per-dialect connection settings clusterbook relies on.

    SQLite runs in WAL mode (readers never block the writer) with ``synchronous=NORMAL`` (durable
    across application crashes; a power loss may drop the last transactions) and a busy timeout, so
    concurrent writers wait instead of failing with "database is locked".
    """
    url = normalise_url(url)
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError) as exc:  # the message never quotes the URL: it may hold a password
        raise InvalidRequest(
            f"the database URL {display_url(url)} is not valid ({type(exc).__name__}); "
            "use sqlite:///path/to/file.db or postgresql://user:password@host:port/database"
        ) from None
    if parsed.get_backend_name() == "postgresql":
        try:
            import psycopg  # noqa: F401
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise InvalidRequest("PostgreSQL support needs the driver: pip install 'clusterbook[postgres]'") from exc
        engine = create_engine(url, echo=echo, pool_pre_ping=True, **kwargs)
        install_budget_hooks(engine)
        _install_binary_results(engine)
        return engine
    if parsed.get_backend_name() != "sqlite":
        raise InvalidRequest(f"unsupported database {parsed.get_backend_name()!r}; use sqlite:/// or postgresql://")
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, echo=echo, connect_args={"check_same_thread": False}, **kwargs)
    _configure_sqlite(engine, busy_timeout_ms)
    return engine


BINARY_RESULTS = "clusterbook_binary_results"
"""Execution option: PostgreSQL sends this statement's rows in binary form. A ``bytea`` in the default
text form travels as hex, twice its size, and is decoded back on this side: for a run's vectors
(100k × 384 float32 = 150 MB) that is most of the load. No-op on SQLite."""


def _install_binary_results(engine: Engine) -> None:
    from psycopg import pq

    @event.listens_for(engine, "before_cursor_execute")
    def _binary(_conn: Any, cursor: Any, _statement: str, _params: Any, context: Any, _many: bool) -> None:
        if context is not None and context.execution_options.get(BINARY_RESULTS):
            cursor.format = pq.Format.BINARY  # psycopg's per-cursor result format (a server cursor too)


def _configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()
        # No SQL function folds case: text is folded in Python when written (clusterbook.folding).

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "BEGIN")
        conn.exec_driver_sql(mode)


def is_sqlite(engine_or_session: Engine | Session) -> bool:
    bind = engine_or_session.get_bind() if isinstance(engine_or_session, Session) else engine_or_session
    return bind.dialect.name == "sqlite"


def make_sessionmaker(engine: Engine, *, writes: bool = False, snapshot: bool = False) -> sessionmaker[Session]:
    """Sessions for ``engine``. ``writes=True``: on SQLite each transaction takes the write lock as
    it begins (``BEGIN IMMEDIATE``), so one that reads before it writes waits its turn instead of
    failing with "database is locked" when another writer got in between. ``snapshot=True`` (reads
    only): on PostgreSQL every statement of a transaction sees one snapshot (REPEATABLE READ), as a
    run's load needs when it reads its vectors and its ids in two statements; SQLite's read
    transactions always do."""
    bind = engine.execution_options(sqlite_begin="BEGIN IMMEDIATE") if writes else engine
    if snapshot and not writes and engine.dialect.name != "sqlite":
        bind = engine.execution_options(isolation_level="REPEATABLE READ")
    return sessionmaker(bind, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: committed when the block ends, rolled back entirely when it raises."""
    with factory() as session, session.begin():
        yield session


def refresh_statistics(engine: Engine, *, after_bulk_load: bool = False) -> None:
    """Keep the query planners informed; without statistics they guess badly at scale.

    After a bulk load: ANALYZE (sampled on SQLite) and, on PostgreSQL, VACUUM so counts can use
    index-only scans. At server start: SQLite gets a sampled ANALYZE once, when it has never had
    one, and the cheap ``PRAGMA optimize`` otherwise; PostgreSQL leaves it to autovacuum.
    """
    with engine.connect() as conn:
        if conn.dialect.name != "sqlite":
            if after_bulk_load:
                conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
                    "VACUUM (ANALYZE) executions, execution_params"
                )
            return
        conn.exec_driver_sql("PRAGMA analysis_limit = 1000")
        conn.exec_driver_sql("ANALYZE" if after_bulk_load or _history_never_analyzed(conn) else "PRAGMA optimize")
        conn.commit()


def _history_never_analyzed(conn: Any) -> bool:
    """True when executions hold rows but SQLite has no statistics about them yet."""
    has_stats_table = conn.exec_driver_sql("SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'").scalar()
    if has_stats_table and conn.exec_driver_sql("SELECT count(*) FROM sqlite_stat1 WHERE tbl = 'executions'").scalar():
        return False
    return bool(conn.exec_driver_sql("SELECT EXISTS (SELECT 1 FROM executions)").scalar())


def alembic_config(engine: Engine) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = engine
    return config


def migrate(engine: Engine) -> None:
    """Upgrade the database to the latest schema (creates it on a fresh database)."""
    from alembic import command

    command.upgrade(alembic_config(engine), "head")
    logger.info("database schema is up to date")


def copy_rows(
    session: Session,
    table: str,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    types: Sequence[str] | None = None,
) -> None:
    """PostgreSQL's ``COPY … FROM STDIN`` through psycopg 3 inside the session's transaction:
    several times faster than multi-row INSERTs for large batches. With ``types`` (PostgreSQL type
    names, one per column) the rows go in COPY's binary format: nothing is formatted as text here
    nor parsed back on the server."""
    driver: Any = session.connection().connection.driver_connection  # a psycopg 3 connection
    binary = " (FORMAT BINARY)" if types is not None else ""
    with driver.cursor() as cursor, cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN{binary}") as copy:
        if types is not None:
            copy.set_types(list(types))
        for row in rows:
            copy.write_row(row)


BULK_CACHE_KIB = 65_536
"""SQLite page cache (KiB) while one statement bulk-writes: 100k memberships touch ~30 MB of table
and index pages; in the default 2 MB cache SQLite evicts and re-reads them and spills dirty ones
to the WAL mid-transaction. Pages are allocated only as they are used, and the setting is put
back when the write ends (dirty pages stay until the commit either way)."""


def insert_rows(
    session: Session,
    table: str,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    types: Sequence[str] | None = None,
) -> None:
    """Bulk-insert plain tuples (no type processing) in the session's transaction: COPY on PostgreSQL
    (binary when ``types`` names each column's type), the driver's own ``executemany`` on SQLite, which
    pulls the rows one at a time so the caller's rows can be a generator."""
    dbapi = session.get_bind().dialect.loaded_dbapi
    try:
        if not is_sqlite(session):
            copy_rows(session, table, columns, rows, types)
            return
        statement = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})"
        driver: Any = session.connection().connection.driver_connection  # sqlite3, inside the session's BEGIN
        previous = driver.execute("PRAGMA cache_size").fetchone()[0]
        driver.execute(f"PRAGMA cache_size = {-BULK_CACHE_KIB}")
        try:
            driver.executemany(statement, rows)
        finally:
            driver.execute(f"PRAGMA cache_size = {int(previous)}")
    except dbapi.Error as exc:  # the driver's own error, raised as SQLAlchemy's (IntegrityError, …) as elsewhere
        raise DBAPIError.instance(f"bulk insert into {table}", None, exc, dbapi.Error) from exc
