"""The ``execution_params`` side table follows every write of a run's configuration (submit, bulk
insert, completion and failure replace it, deletion cascades) and migration 0013 back-fills it, on
SQLite and PostgreSQL; each check goes through the listing's compiler, as a filter would."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy import Engine, delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from clusterbook.models.config_fields import config_values
from clusterbook.models.filters import parse_filter_tree
from clusterbook.store.db import alembic_config, make_engine, make_sessionmaker, transaction
from clusterbook.store.executions import list_executions
from clusterbook.store.listing import ListQuery, PageRequest
from clusterbook.store.queue import claim_next_execution, complete_execution, fail_execution, submit_execution
from clusterbook.store.tables import clusters, execution_params, executions
from tests.factories import make_cluster
from tests.store.test_queue import outcome

SUBMITTED = {"algorithm": "kmeans", "params": {"n_clusters": 3, "init": "k-means++"}, "random_state": 0}
EFFECTIVE = {"algorithm": "kmeans", "params": {"n_clusters": 5, "init": "random"}, "random_state": 9}


@pytest.fixture
def writes(engine: Engine) -> sessionmaker[Session]:
    return make_sessionmaker(engine, writes=True)


def matching(factory: sessionmaker[Session], cluster_id: str, filters: dict) -> list[str]:
    with factory() as session:
        page = list_executions(
            session, cluster_id=cluster_id, query=ListQuery(parse_filter_tree(filters)), page=PageRequest(1, 100, 0)
        )
    return [r.run_id for r in page.results]


def rows_of(factory: sessionmaker[Session], run_id: str) -> int:
    with factory() as session:
        joined = execution_params.join(executions, executions.c.id == execution_params.c.execution_id)
        found = select(func.count()).select_from(joined).where(executions.c.run_id == run_id)
        return int(session.execute(found).scalar_one())


def submit_one(writes: sessionmaker[Session], cluster_id: str, namespace_id: str) -> str:
    with transaction(writes) as session:
        return submit_execution(session, namespace_id=namespace_id, cluster_id=cluster_id, config=SUBMITTED).run_id


def test_completion_replaces_the_submitted_config_with_the_effective_one(writes, session_factory) -> None:
    cluster = make_cluster(session_factory)
    run_id = submit_one(writes, cluster.cluster_id, cluster.namespace_id)
    assert matching(session_factory, cluster.cluster_id, {"config.params.n_clusters": 3}) == [run_id]
    assert rows_of(session_factory, run_id) == len(config_values(SUBMITTED)) == 4
    with transaction(writes) as session:
        claim = claim_next_execution(session, worker_id="w", lease_seconds=30)
    assert claim is not None
    with transaction(writes) as session:
        assert complete_execution(
            session, run_id=run_id, token=claim.token, outcome=dataclasses.replace(outcome(), config=EFFECTIVE)
        )
    assert matching(session_factory, cluster.cluster_id, {"config.params.n_clusters": 3}) == []
    assert matching(session_factory, cluster.cluster_id, {"config.params.n_clusters": 5}) == [run_id]
    assert matching(session_factory, cluster.cluster_id, {"config.params.init": "RANDOM"}) == [run_id]
    assert matching(session_factory, cluster.cluster_id, {"config.random_state": 9}) == [run_id]
    assert rows_of(session_factory, run_id) == 4


def test_failure_with_a_config_replaces_it_and_deleting_the_cluster_removes_the_rows(writes, session_factory):
    cluster = make_cluster(session_factory)
    run_id = submit_one(writes, cluster.cluster_id, cluster.namespace_id)
    with transaction(writes) as session:
        claim = claim_next_execution(session, worker_id="w", lease_seconds=30)
    assert claim is not None
    with transaction(writes) as session:
        assert fail_execution(session, run_id=run_id, token=claim.token, message="no", config=EFFECTIVE)
    assert matching(session_factory, cluster.cluster_id, {"config.params.n_clusters": {"gt": 4}}) == [run_id]
    with transaction(writes) as session:
        session.execute(delete(clusters).where(clusters.c.cluster_id == cluster.cluster_id))
    with session_factory() as session:
        assert session.execute(select(func.count()).select_from(execution_params)).scalar_one() == 0


@pytest.fixture
def unmigrated(unmigrated_url: str) -> Iterator[Engine]:
    engine = make_engine(unmigrated_url)
    yield engine
    engine.dispose()


def test_migration_0013_back_fills_the_stored_configs(unmigrated: Engine) -> None:
    config = alembic_config(unmigrated)
    command.upgrade(config, "0011")
    old = sa.Table("executions", sa.MetaData(), autoload_with=unmigrated)
    old_clusters = sa.Table("clusters", sa.MetaData(), autoload_with=unmigrated)
    now = sa.func.current_timestamp()
    with unmigrated.begin() as conn:
        conn.execute(
            old_clusters.insert().values(
                cluster_id="clust_mig", namespace_id="ns_default", cluster_name="mig", cluster_type="vector",
                collection_ids=[], created_at=now, updated_at=now,
            )
        )  # fmt: skip
        for n, stored in enumerate([SUBMITTED, None, {"algorithm": "hdbscan", "params": {"min_cluster_size": 7}}]):
            conn.execute(
                old.insert().values(
                    run_id=f"run_mig{n}", namespace_id="ns_default", cluster_id="clust_mig", status="completed",
                    num_clusters=0, num_points=0, created_at=now, search_text="x", config=stored,
                )
            )  # fmt: skip
    command.upgrade(config, "head")
    with unmigrated.connect() as conn:
        got = sorted(
            conn.execute(
                sa.text(
                    "SELECT e.run_id, p.name, p.num, p.text FROM execution_params p JOIN executions e ON e.id = p.execution_id"
                )
            ).all()
        )
    assert [tuple(r) for r in got] == [
        ("run_mig0", "algorithm", None, "kmeans"),
        ("run_mig0", "params.init", None, "k-means++"),
        ("run_mig0", "params.n_clusters", 3.0, None),
        ("run_mig0", "random_state", 0.0, None),
        ("run_mig2", "algorithm", None, "hdbscan"),
        ("run_mig2", "params.min_cluster_size", 7.0, None),
    ]
    command.downgrade(config, "0011")
    assert "execution_params" not in sa.inspect(unmigrated).get_table_names()


def test_migration_0037_gives_every_row_its_runs_cluster_and_downgrades(unmigrated: Engine) -> None:
    config = alembic_config(unmigrated)
    command.upgrade(config, "0033")
    old = sa.Table("executions", sa.MetaData(), autoload_with=unmigrated)
    old_clusters = sa.Table("clusters", sa.MetaData(), autoload_with=unmigrated)
    old_params = sa.Table("execution_params", sa.MetaData(), autoload_with=unmigrated)
    now = sa.func.current_timestamp()
    with unmigrated.begin() as conn:
        for cluster in ("clust_one", "clust_two"):
            conn.execute(
                old_clusters.insert().values(
                    cluster_id=cluster, namespace_id="ns_default", cluster_name=cluster, cluster_type="vector",
                    collection_ids=[], created_at=now, updated_at=now,
                )
            )  # fmt: skip
        for n, cluster in enumerate(["clust_one", "clust_two", "clust_two"]):
            execution_id = conn.execute(
                old.insert().values(
                    run_id=f"run_c{n}", namespace_id="ns_default", cluster_id=cluster, status="completed",
                    num_clusters=0, num_points=0, created_at=now, search_text="x", config=SUBMITTED,
                ).returning(old.c.id)
            ).scalar_one()  # fmt: skip
            conn.execute(
                old_params.insert(),
                [{"execution_id": execution_id, "name": name, "num": num, "text": text, "text_folded": folded}
                 for name, num, text, folded in config_values(SUBMITTED)],
            )  # fmt: skip
    command.upgrade(config, "head")
    with unmigrated.connect() as conn:
        got = conn.execute(
            sa.text(
                "SELECT e.run_id, p.cluster_id, count(*) FROM execution_params p JOIN executions e "
                "ON e.id = p.execution_id GROUP BY e.run_id, p.cluster_id ORDER BY e.run_id"
            )
        ).all()
    assert [tuple(r) for r in got] == [
        ("run_c0", "clust_one", 4),
        ("run_c1", "clust_two", 4),
        ("run_c2", "clust_two", 4),
    ]
    indexes = {ix["name"]: ix["column_names"] for ix in sa.inspect(unmigrated).get_indexes("execution_params")}
    assert indexes["ix_execution_params_cluster_num"] == ["cluster_id", "name", "num", "text", "execution_id"]
    command.downgrade(config, "0033")
    inspector = sa.inspect(unmigrated)
    assert "cluster_id" not in {c["name"] for c in inspector.get_columns("execution_params")}
    assert {ix["name"] for ix in inspector.get_indexes("execution_params")} == {
        "ix_execution_params_num",
        "ix_execution_params_text",
    }
    assert not [ix for ix in inspector.get_indexes("executions") if ix["name"].startswith("ix_executions_pct_")]
    with unmigrated.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM execution_params")).scalar_one() == 12
