"""The run state machine on both databases: every (from, to) pair is tried through the function that
makes that transition, and a hypothesis state machine drives claim / heartbeat / complete / fail /
release / cancel / lease expiry / reap / restart against a model of what may happen.

A transition that is not allowed — a terminal run moving, a repeated transition, a stale token —
must leave the row exactly as it was (every column), and write no memberships or projection."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import Engine, delete, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from clusterbook.errors import Conflict
from clusterbook.models.clusters import Cluster
from clusterbook.store import lifecycle
from clusterbook.store.db import make_sessionmaker, transaction
from clusterbook.store.executions import cancel_execution
from clusterbook.store.queue import (
    Claim,
    claim_next_execution,
    complete_execution,
    fail_execution,
    reap_expired_leases,
    release_execution,
    renew_lease,
)
from clusterbook.store.tables import execution_members, execution_projections, executions
from tests.factories import make_cluster
from tests.store.test_queue import outcome, submit

STATUSES = ["pending", "processing", "completed", "failed", "canceled"]
ALLOWED = {
    ("pending", "processing"),
    ("pending", "canceled"),
    ("processing", "completed"),
    ("processing", "failed"),
    ("processing", "canceled"),
    ("processing", "pending"),
}
"""The state machine written out independently of ``store.lifecycle``, which must agree with it."""
MAX_ATTEMPTS = 3


@pytest.fixture
def writes(engine: Engine) -> sessionmaker[Session]:
    return make_sessionmaker(engine, writes=True)


@pytest.fixture
def cluster(session_factory: sessionmaker[Session]) -> Cluster:
    return make_cluster(session_factory)


def test_the_declared_machine_is_the_documented_one() -> None:
    declared = {(s.value, t.value) for s, targets in lifecycle.TRANSITIONS.items() for t in targets}
    assert declared == ALLOWED
    assert all(not lifecycle.TRANSITIONS[s] for s in lifecycle.TRANSITIONS if s.is_terminal)


def claim_one(writes: sessionmaker[Session]) -> Claim | None:
    with transaction(writes) as session:
        return claim_next_execution(session, worker_id="host:1", lease_seconds=60)


def row_of(writes: sessionmaker[Session], run_id: str) -> dict[str, Any]:
    """Every column of the run, and how many memberships and projections it has."""
    with transaction(writes) as session:
        row = dict(session.execute(select(executions).where(executions.c.run_id == run_id)).one()._mapping)
        row["_members"] = session.execute(
            select(func.count()).select_from(execution_members).where(execution_members.c.run_id == run_id)
        ).scalar_one()
        row["_projections"] = session.execute(
            select(func.count()).select_from(execution_projections).where(execution_projections.c.run_id == run_id)
        ).scalar_one()
    return row


def put_in(writes: sessionmaker[Session], cluster: Cluster, status: str) -> tuple[str, str]:
    """A run brought to ``status`` the way the service gets it there; returns (run id, last token)."""
    (run_id,) = submit(writes, cluster)
    token = secrets.token_hex(16)  # a pending run never held one: any token is a stranger's
    if status in ("processing", "completed", "failed"):
        held = claim_one(writes)
        assert held is not None and held.run_id == run_id
        token = held.token
    with transaction(writes) as session:
        if status == "completed":
            assert complete_execution(session, run_id=run_id, token=token, outcome=outcome())
        elif status == "failed":
            assert fail_execution(session, run_id=run_id, token=token, message="boom")
        elif status == "canceled":
            assert cancel_execution(session, cluster_id=cluster.cluster_id, run_id=run_id) is not None
    return run_id, token


def attempt(
    writes: sessionmaker[Session], cluster: Cluster, run_id: str, token: str, target: str
) -> Callable[[], object]:
    """The service's one way of moving a run to ``target``."""

    def go() -> object:
        with transaction(writes) as session:
            if target == "processing":
                return claim_next_execution(session, worker_id="host:2", lease_seconds=60)
            if target == "completed":
                return complete_execution(session, run_id=run_id, token=token, outcome=outcome())
            if target == "failed":
                return fail_execution(session, run_id=run_id, token=token, message="late")
            if target == "pending":
                return release_execution(session, run_id=run_id, token=token, reason="test", max_attempts=3)
            return cancel_execution(session, cluster_id=cluster.cluster_id, run_id=run_id)

    return go


@pytest.mark.parametrize("target", STATUSES)
@pytest.mark.parametrize("source", STATUSES)
def test_every_transition_pair(writes, cluster, source: str, target: str) -> None:
    run_id, token = put_in(writes, cluster, source)
    before = row_of(writes, run_id)
    assert before["status"] == source
    go = attempt(writes, cluster, run_id, token, target)
    if (source, target) in ALLOWED:
        assert lifecycle.allowed(source, target)
        result = go()
        after = row_of(writes, run_id)
        assert after["status"] == target, result
        if target == "completed":
            assert after["_members"] == 3 and after["_projections"] == 1
        return
    assert not lifecycle.allowed(source, target)
    if source in ("completed", "failed") and target == "canceled":
        with pytest.raises(Conflict):
            go()
    else:
        result = go()
        # "nothing happened", in each function's own words (a repeated cancel returns the run as it is)
        assert result in (None, False) or (target == "canceled" and getattr(result, "status", None) == source)
    assert row_of(writes, run_id) == before, "a refused transition changed the row"
    # and with a stranger's token the token-guarded transitions change nothing either
    if source == "processing" and target in ("completed", "failed", "pending"):
        attempt(writes, cluster, run_id, secrets.token_hex(16), target)()
        assert row_of(writes, run_id) == before


@pytest.mark.parametrize("source", ["processing", "pending"])
def test_a_stale_token_cannot_move_a_run_in_any_way(writes, cluster, source: str) -> None:
    run_id, first = put_in(writes, cluster, "processing")
    with transaction(writes) as session:  # the lease lapses and the reaper requeues the run
        session.execute(
            update(executions)
            .where(executions.c.run_id == run_id)
            .values(lease_expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
        assert reap_expired_leases(session, max_attempts=MAX_ATTEMPTS).requeued == [run_id]
    if source == "processing":
        again = claim_one(writes)
        assert again is not None and again.token != first
    before = row_of(writes, run_id)
    for target in ("completed", "failed", "pending"):
        attempt(writes, cluster, run_id, first, target)()
    with transaction(writes) as session:
        assert not renew_lease(session, run_id=run_id, token=first, lease_seconds=60)
    assert row_of(writes, run_id) == before


# --------------------------------------------------------------------------- the state machine


class RunQueueMachine(RuleBasedStateMachine):
    """A model of the runs (status, attempts, current token, outcome writes) checked after every step.

    ``known`` is what the worker remembers holding; ``issued`` is every token ever handed out (stale
    ones included) so rules can try them all; ``restart`` makes the worker forget what it holds, and
    only lease expiry + the reaper can then move those runs."""

    engine: Engine
    cluster: Cluster

    def __init__(self) -> None:
        super().__init__()
        self.writes = make_sessionmaker(self.engine, writes=True)
        self.model: dict[str, dict[str, Any]] = {}
        self.known: list[Claim] = []
        self.issued: list[Claim] = []
        self.outcomes: dict[str, int] = {}
        self.terminal: dict[str, dict[str, Any]] = {}

    @initialize(n=st.integers(min_value=1, max_value=4))
    def fresh_queue(self, n: int) -> None:
        with transaction(self.writes) as session:
            for table in (execution_projections, execution_members, executions):
                session.execute(delete(table))
        for run_id in submit(self.writes, self.cluster, n):
            self.model[run_id] = {"status": "pending", "attempts": 0, "token": None}
            self.outcomes[run_id] = 0

    # -- helpers

    def _current(self, held: Claim) -> bool:
        m = self.model[held.run_id]
        return m["status"] == "processing" and m["token"] == held.token

    def _terminal_rows(self) -> dict[str, dict[str, Any]]:
        return {r: row_of(self.writes, r) for r, m in self.model.items() if m["status"] in ("completed", "failed")}

    # -- rules

    @rule()
    def claim(self) -> None:
        pending = {r for r, m in self.model.items() if m["status"] == "pending"}
        held = claim_one(self.writes)
        if not pending:
            assert held is None
            return
        assert held is not None and held.run_id in pending
        m = self.model[held.run_id]
        m.update(status="processing", attempts=m["attempts"] + 1, token=held.token)
        assert held.attempt == m["attempts"]
        self.known.append(held)
        self.issued.append(held)

    @precondition(lambda self: self.issued)
    @rule(data=st.data())
    def heartbeat(self, data: st.DataObject) -> None:
        held = data.draw(st.sampled_from(self.issued))
        with transaction(self.writes) as session:
            renewed = renew_lease(session, run_id=held.run_id, token=held.token, lease_seconds=60)
        assert renewed == self._current(held)

    @precondition(lambda self: self.issued)
    @rule(data=st.data(), success=st.booleans())
    def finish(self, data: st.DataObject, success: bool) -> None:
        held = data.draw(st.sampled_from(self.issued))
        expected = self._current(held)
        before = row_of(self.writes, held.run_id)
        with transaction(self.writes) as session:
            if success:
                done = complete_execution(session, run_id=held.run_id, token=held.token, outcome=outcome())
            else:
                done = fail_execution(session, run_id=held.run_id, token=held.token, message="failed for real")
        assert done == expected, "a stale token wrote, or the holder could not"
        if done:
            self.model[held.run_id]["status"] = "completed" if success else "failed"
            self.outcomes[held.run_id] += 1
        else:
            assert row_of(self.writes, held.run_id) == before

    @precondition(lambda self: self.issued)
    @rule(data=st.data(), refund=st.booleans())
    def process_died(self, data: st.DataObject, refund: bool) -> None:
        held = data.draw(st.sampled_from(self.issued))
        expected = self._current(held)
        m = self.model[held.run_id]
        with transaction(self.writes) as session:
            status = release_execution(
                session, run_id=held.run_id, token=held.token, reason="killed", max_attempts=MAX_ATTEMPTS, refund=refund
            )
        if not expected:
            assert status is None
            return
        if refund:
            m.update(status="pending", attempts=m["attempts"] - 1, token=None)
        elif m["attempts"] >= MAX_ATTEMPTS:
            m["status"] = "failed"
            self.outcomes[held.run_id] += 1
        else:
            m.update(status="pending", token=None)
        assert status == m["status"]

    @rule(data=st.data())
    def cancel(self, data: st.DataObject) -> None:
        run_id = data.draw(st.sampled_from(list(self.model)))
        m = self.model[run_id]
        before = row_of(self.writes, run_id)
        with transaction(self.writes) as session:
            if m["status"] in ("completed", "failed"):
                with pytest.raises(Conflict):
                    cancel_execution(session, cluster_id=self.cluster.cluster_id, run_id=run_id)
                result = None
            else:
                result = cancel_execution(session, cluster_id=self.cluster.cluster_id, run_id=run_id)
        if m["status"] in ("pending", "processing"):
            assert result is not None and result.status == "canceled"
            m["status"] = "canceled"
        else:
            assert row_of(self.writes, run_id) == before

    @rule(data=st.data())
    def lease_lapses(self, data: st.DataObject) -> None:
        run_id = data.draw(st.sampled_from(list(self.model)))
        with transaction(self.writes) as session:  # time passes for this run only
            session.execute(
                update(executions)
                .where(executions.c.run_id == run_id, executions.c.lease_expires_at.is_not(None))
                .values(lease_expires_at=datetime.now(UTC) - timedelta(seconds=5))
            )

    @rule()
    def reap(self) -> None:
        now = datetime.now(UTC)
        with transaction(self.writes) as session:
            lapsed = {
                r
                for (r,) in session.execute(
                    select(executions.c.run_id).where(
                        executions.c.status == "processing", executions.c.lease_expires_at < now
                    )
                )
            }
            reaped = reap_expired_leases(session, max_attempts=MAX_ATTEMPTS)
        assert set(reaped.requeued) | set(reaped.failed) == lapsed
        for run_id in lapsed:
            m = self.model[run_id]
            if m["attempts"] >= MAX_ATTEMPTS:
                assert run_id in reaped.failed
                m["status"] = "failed"
                self.outcomes[run_id] += 1
            else:
                assert run_id in reaped.requeued
                m.update(status="pending", token=None)
        with transaction(self.writes) as session:  # nothing stays processing once its lease lapsed
            stuck = session.execute(
                select(func.count()).where(executions.c.status == "processing", executions.c.lease_expires_at < now)
            ).scalar_one()
        assert stuck == 0

    @rule()
    def restart(self) -> None:
        self.known.clear()  # the worker forgets its claims; its runs wait for the reaper

    @precondition(lambda self: self.known)
    @rule(data=st.data())
    def worker_finishes_what_it_remembers(self, data: st.DataObject) -> None:
        held = data.draw(st.sampled_from(self.known))
        with transaction(self.writes) as session:
            done = complete_execution(session, run_id=held.run_id, token=held.token, outcome=outcome())
        assert done == self._current(held)
        if done:
            self.model[held.run_id]["status"] = "completed"
            self.outcomes[held.run_id] += 1

    # -- invariants

    @invariant()
    def database_matches_the_model(self) -> None:
        with transaction(self.writes) as session:
            rows = session.execute(
                select(executions.c.run_id, executions.c.status, executions.c.attempts, executions.c.attempt_token)
            ).all()
            members = dict(
                session.execute(
                    select(execution_members.c.run_id, func.count()).group_by(execution_members.c.run_id)
                ).all()
            )
            projections = dict(
                session.execute(
                    select(execution_projections.c.run_id, func.count()).group_by(execution_projections.c.run_id)
                ).all()
            )
        assert {r.run_id for r in rows} == set(self.model)
        for r in rows:
            m = self.model[r.run_id]
            assert (r.status, r.attempts) == (m["status"], m["attempts"])
            assert 0 <= r.attempts <= MAX_ATTEMPTS
            if r.status == "processing":
                assert r.attempt_token == m["token"]
            # each run's outcome is written at most once, and memberships only with a completion
            assert self.outcomes[r.run_id] <= 1
            completed = r.status == "completed"
            assert members.get(r.run_id, 0) == (3 if completed else 0)
            assert projections.get(r.run_id, 0) == (1 if completed else 0)

    @invariant()
    def terminal_runs_never_change(self) -> None:
        now = self._terminal_rows()
        for run_id, row in self.terminal.items():
            assert now.get(run_id) == row, f"terminal run {run_id} changed"
        for run_id, m in self.model.items():
            if m["status"] == "canceled":
                assert row_of(self.writes, run_id)["status"] == "canceled"
        self.terminal = now


MACHINE_SETTINGS = settings(
    max_examples=30,
    stateful_step_count=25,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@pytest.mark.slow
def test_run_queue_state_machine(engine: Engine, cluster: Cluster) -> None:
    machine = type("Machine", (RunQueueMachine,), {"engine": engine, "cluster": cluster})
    run_state_machine_as_test(machine, settings=MACHINE_SETTINGS)
