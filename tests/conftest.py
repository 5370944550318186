"""Shared fixtures: a clean database per test on SQLite and PostgreSQL, and a live HTTP server.

PostgreSQL comes from ``CLUSTERBOOK_TEST_POSTGRES_URL`` (default: the local server's ``test``
database). When it cannot be reached its tests are skipped with that reason — unless
``CLUSTERBOOK_REQUIRE_POSTGRES=1`` (set by CI), which turns the skip into a failure.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from clusterbook.api.background import BackgroundServer
from clusterbook.settings import Settings
from clusterbook.store.db import make_engine, make_sessionmaker, migrate

POSTGRES_URL = os.environ.get("CLUSTERBOOK_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REQUIRE_POSTGRES = os.environ.get("CLUSTERBOOK_REQUIRE_POSTGRES") == "1"
RESET_TABLES = (
    "webhook_deliveries",
    "webhooks",
    "monitor_alerts",
    "monitors",
    "api_key_namespaces",
    "api_keys",
    "schedule_firings",
    "schedules",
    "execution_projections",
    "execution_members",
    "executions",
    "execution_rollups",
    "clusters",
    "documents",
    "collections",
    "server_state",
    "namespaces",
)


def _postgres_problem() -> str | None:
    try:
        engine = make_engine(POSTGRES_URL)
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
            # Test processes start together: one at a time, or two CREATE EXTENSIONs race on a fresh database.
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(7305721)"))
            conn.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public"))
            conn.commit()
        engine.dispose()
    except Exception as exc:  # noqa: BLE001 - any failure means "no usable PostgreSQL"
        return f"PostgreSQL not reachable at {POSTGRES_URL}: {type(exc).__name__}"
    return None


@contextmanager
def private_postgres_schema(prefix: str) -> Iterator[str]:
    """A new, empty schema in the PostgreSQL test database (dropped afterwards): its URL. Skips (or
    fails, with CLUSTERBOOK_REQUIRE_POSTGRES=1) when PostgreSQL is not reachable."""
    problem = _postgres_problem()
    if problem:
        if REQUIRE_POSTGRES:
            pytest.fail(problem + " (CLUSTERBOOK_REQUIRE_POSTGRES=1)")
        pytest.skip(problem)
    schema = f"{prefix}_{secrets.token_hex(4)}"
    admin = make_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in POSTGRES_URL else "?"
    try:
        yield f"{POSTGRES_URL}{sep}options=-csearch_path%3D{schema},public"
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(scope="session")
def postgres_schema_url() -> Iterator[str]:
    """A private schema in the PostgreSQL test database, migrated once for the session."""
    with private_postgres_schema("cbtest") as url:
        engine = make_engine(url)
        migrate(engine)
        engine.dispose()
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def unmigrated_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database with no schema at all (its own SQLite file or PostgreSQL schema), for
    migration tests that start from an old revision."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.db'}"
        return
    with private_postgres_schema("cbmig") as url:
        yield url


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file that each test copies, so every test starts from a fresh schema."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


def _reset_postgres(url: str) -> None:
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text(f"TRUNCATE {', '.join(RESET_TABLES)} RESTART IDENTITY CASCADE"))
        conn.execute(
            sa.text(
                "INSERT INTO namespaces (namespace_id, namespace_name, created_at) VALUES ('ns_default', 'default', now())"
            )
        )
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of a clean, migrated database: SQLite file or PostgreSQL schema."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "clusterbook.db"
        shutil.copy(template, path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("postgres_schema_url")
    _reset_postgres(url)
    return url


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def session_factory(engine: Engine) -> sessionmaker[Session]:
    return make_sessionmaker(engine)


@pytest.fixture
def session(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session whose work is committed at the end of the test step that uses it."""
    with session_factory() as s, s.begin():
        yield s


@pytest.fixture
def server_settings(db_url: str) -> Settings:
    return Settings(database_url=db_url, secret_key="test-signing-key")


@pytest.fixture
def live_server(server_settings: Settings) -> Iterator[BackgroundServer]:
    with BackgroundServer(server_settings) as server:
        yield server


@pytest.fixture
def http(live_server: BackgroundServer) -> Iterator[httpx.Client]:
    """An HTTP client talking to the live server over a real socket."""
    with httpx.Client(base_url=live_server.url, timeout=30) as client:
        yield client
