"""Memberships without a foreign key (migration 0017): a membership still cannot exist without its run.

Writing checks the run once per batch (``queue.insert_members``); deleting a run, directly or through
a cluster's or a namespace's deletion, deletes its memberships (a trigger on ``executions``). Both on
SQLite and PostgreSQL, and across the migration itself (rows kept, the cascade working after it)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy import Engine, delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from clusterbook.models.clusters import Cluster
from clusterbook.store.clusters import delete_cluster
from clusterbook.store.db import alembic_config, make_engine, make_sessionmaker, transaction
from clusterbook.store.queue import claim_next_execution, insert_members, submit_execution
from clusterbook.store.tables import execution_members, executions, namespaces
from tests.factories import make_cluster


@pytest.fixture
def writes(engine: Engine) -> sessionmaker[Session]:
    return make_sessionmaker(engine, writes=True)


def _run_with_members(writes: sessionmaker[Session], cluster: Cluster, count: int = 30) -> str:
    with transaction(writes) as session:
        submit_execution(
            session, namespace_id=cluster.namespace_id, cluster_id=cluster.cluster_id, config={"algorithm": "kmeans"}
        )
        claim = claim_next_execution(session, worker_id="test-host:1", lease_seconds=60)
        assert claim is not None
        ids = [f"d{i:03d}" for i in range(count)]
        insert_members(session, claim.run_id, ids, ["cl_0"] * count, [0.5] * count)
    return claim.run_id


def _member_counts(writes: sessionmaker[Session]) -> dict[str, int]:
    m = execution_members.c
    with transaction(writes) as session:
        return dict(session.execute(select(m.run_id, func.count()).group_by(m.run_id)).all())  # type: ignore[arg-type]


def test_memberships_for_a_run_that_does_not_exist_are_refused_and_nothing_is_written(writes):
    with pytest.raises(ValueError, match="run 'run_missing' does not exist"), transaction(writes) as session:
        insert_members(session, "run_missing", ["a", "b"], ["cl_0", None], [0.1, None])
    assert _member_counts(writes) == {}


def test_deleting_a_cluster_deletes_its_runs_memberships_and_no_others(session_factory, writes):
    doomed, kept = make_cluster(session_factory), make_cluster(session_factory)
    doomed_runs = [_run_with_members(writes, doomed), _run_with_members(writes, doomed, 5)]
    kept_run = _run_with_members(writes, kept, 7)
    assert _member_counts(writes) == {doomed_runs[0]: 30, doomed_runs[1]: 5, kept_run: 7}
    with transaction(writes) as session:
        delete_cluster(session, cluster_id=doomed.cluster_id)
    assert _member_counts(writes) == {kept_run: 7}


def test_deleting_run_rows_by_any_path_deletes_their_memberships(session_factory, writes):
    """A direct DELETE of runs, and a namespace's deletion cascading through clusters to its runs."""
    first, second = make_cluster(session_factory), make_cluster(session_factory, namespace="other")
    a, b = _run_with_members(writes, first), _run_with_members(writes, first, 3)
    c = _run_with_members(writes, second, 4)
    with transaction(writes) as session:
        session.execute(delete(executions).where(executions.c.run_id == a))
    assert _member_counts(writes) == {b: 3, c: 4}
    with transaction(writes) as session:
        session.execute(delete(namespaces).where(namespaces.c.namespace_id == second.namespace_id))
    assert _member_counts(writes) == {b: 3}


@pytest.fixture
def unmigrated(unmigrated_url: str) -> Iterator[Engine]:
    engine = make_engine(unmigrated_url)
    yield engine
    engine.dispose()


def test_migration_0017_keeps_the_memberships_and_the_cascade(unmigrated: Engine) -> None:
    config = alembic_config(unmigrated)
    command.upgrade(config, "0015")
    meta = sa.MetaData()
    old_runs = sa.Table("executions", meta, autoload_with=unmigrated)
    old_clusters = sa.Table("clusters", meta, autoload_with=unmigrated)
    old_members = sa.Table("execution_members", meta, autoload_with=unmigrated)
    now = sa.func.current_timestamp()
    with unmigrated.begin() as conn:
        conn.execute(
            old_clusters.insert().values(
                cluster_id="clust_mig", namespace_id="ns_default", cluster_name="mig", cluster_type="vector",
                collection_ids=[], created_at=now, updated_at=now,
            )
        )  # fmt: skip
        for n in range(2):
            conn.execute(
                old_runs.insert().values(
                    run_id=f"run_mig{n}", namespace_id="ns_default", cluster_id="clust_mig", status="completed",
                    num_clusters=1, num_points=2, created_at=now, search_text="x",
                )
            )  # fmt: skip
            conn.execute(
                old_members.insert(),
                [{"run_id": f"run_mig{n}", "document_id": d, "cluster_id": "cl_0", "distance": 0.25} for d in "xy"],
            )
    command.upgrade(config, "head")
    assert not sa.inspect(unmigrated).get_foreign_keys("execution_members")
    index_names = {ix["name"] for ix in sa.inspect(unmigrated).get_indexes("execution_members")}
    assert {"ix_execution_members_cluster", "ix_execution_members_distance"} <= index_names
    writes = make_sessionmaker(unmigrated, writes=True)
    assert _member_counts(writes) == {"run_mig0": 2, "run_mig1": 2}
    with transaction(writes) as session:
        session.execute(delete(executions).where(executions.c.run_id == "run_mig0"))
    assert _member_counts(writes) == {"run_mig1": 2}
    command.downgrade(config, "0015")
    assert sa.inspect(unmigrated).get_foreign_keys("execution_members")
    assert _member_counts(writes) == {"run_mig1": 2}
