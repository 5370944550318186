"""Monitors against the real database (SQLite and PostgreSQL): each kind fires once when it enters the
bad state, stays quiet while the state lasts, records its recovery, and fires again on a relapse."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from clusterbook.models.clusters import Cluster
from clusterbook.models.measures import MEASURES
from clusterbook.models.monitors import MonitorCreate, MonitorUpdate
from clusterbook.store.db import make_sessionmaker
from clusterbook.store.monitors import (
    create_monitor,
    evaluate_cluster_monitors,
    list_alerts,
    read_monitor,
    update_monitor,
)
from tests.factories import BASE_TIME, make_cluster, make_runs

T0 = BASE_TIME


class History:
    """A cluster whose finished runs are added one at a time, a minute apart, and its monitor."""

    def __init__(self, factory: sessionmaker[Session], rule: dict[str, Any]) -> None:
        self.factory = factory
        self.writes = make_sessionmaker(factory.kw["bind"], writes=True)
        self.cluster: Cluster = make_cluster(factory)
        self.minute = 0
        with self.writes() as session, session.begin():
            self.monitor_id = create_monitor(
                session,
                namespace_id=self.cluster.namespace_id,
                cluster_id=self.cluster.cluster_id,
                data=MonitorCreate(name="m", rule=rule),  # type: ignore[arg-type]
            ).monitor_id

    def add(self, status: str, count: int = 1, **fields: Any) -> list[str]:
        specs = []
        for _ in range(count):
            at = T0 + timedelta(minutes=self.minute)
            self.minute += 1
            specs.append({
                "status": status, "created_at": at, "started_at": at,
                "completed_at": at + timedelta(seconds=30), "num_points": 10, **fields,
            })  # fmt: skip
        return make_runs(self.factory, self.cluster, specs)

    @property
    def now(self) -> datetime:
        return T0 + timedelta(minutes=self.minute)

    def evaluate(self, now: datetime | None = None) -> list[dict[str, Any]]:
        with self.writes() as session, session.begin():
            return evaluate_cluster_monitors(session, cluster_id=self.cluster.cluster_id, now=now or self.now).fired

    def state(self) -> str:
        with self.factory() as session:
            found = read_monitor(session, cluster_id=self.cluster.cluster_id, monitor_id=self.monitor_id)
            assert found is not None
            return found.state

    def events(self) -> list[str]:
        with self.factory() as session:
            alerts, _ = list_alerts(session, monitor_id=self.monitor_id, limit=100, offset=0)
        return [a.event for a in reversed(alerts)]


def test_failure_rate_over_the_last_runs_fires_once_per_transition(session_factory):
    h = History(session_factory, {"kind": "failure_rate", "last_runs": 4, "above": 0.5})
    h.add("completed", 4)
    assert h.evaluate() == [] and h.state() == "ok"
    failed = h.add("failed", 3)  # last 4: one completed, three failed
    fired = h.evaluate()
    assert len(fired) == 1 and h.state() == "alerting"
    alert = fired[0]["alert"]
    assert alert["event"] == "triggered" and alert["run_id"] == failed[-1]
    assert alert["observed"] == {
        "last_runs": 4, "finished_runs": 4, "failed_runs": 3, "threshold": 0.5, "failure_rate": 0.75,
    }  # fmt: skip
    assert fired[0]["monitor"]["state"] == "alerting"
    h.add("failed")
    assert h.evaluate() == [] and h.evaluate() == []  # still bad: nothing new
    h.add("canceled", 3)  # canceled runs are no failures and no successes: the rate stays 1.0
    assert h.evaluate() == [] and h.state() == "alerting"
    h.add("completed", 3)  # 3 completed, 1 failed: 0.25
    assert h.evaluate() == [] and h.state() == "ok"  # recovery notifies nobody...
    assert h.events() == ["triggered", "recovered"]  # ...but is recorded
    h.add("failed", 3)
    assert len(h.evaluate()) == 1
    assert h.events() == ["triggered", "recovered", "triggered"]


def test_failure_rate_needs_min_runs_before_it_gives_a_verdict(session_factory):
    h = History(session_factory, {"kind": "failure_rate", "last_runs": 10, "above": 0.1, "min_runs": 3})
    h.add("failed", 2)
    assert h.evaluate() == [] and h.state() == "ok"
    h.add("failed")
    assert len(h.evaluate()) == 1


def test_failure_rate_over_a_time_window_slides_with_the_clock(session_factory):
    h = History(session_factory, {"kind": "failure_rate", "window_seconds": 600, "above": 0.4})
    h.add("completed", 10)  # minutes 0..9
    h.add("failed", 4)  # minutes 10..13, finished 30 s later
    at = T0 + timedelta(minutes=14)
    fired = h.evaluate(at)  # the last 10 minutes: runs 4..13 finished -> 4 failed of 10 = 0.4, not above
    assert fired == [] and h.state() == "ok"
    fired = h.evaluate(at + timedelta(minutes=2))  # runs 6..13: 4 of 8 failed
    assert len(fired) == 1
    assert fired[0]["alert"]["observed"]["failed_runs"] == 4
    assert fired[0]["alert"]["observed"]["finished_runs"] == 8
    assert h.evaluate(at + timedelta(minutes=3)) == []
    # half an hour later nothing finished in the window: no verdict, the state stays
    assert h.evaluate(at + timedelta(minutes=30)) == [] and h.state() == "alerting"


@pytest.mark.parametrize("measure", [m.name for m in MEASURES])
def test_metric_below_a_threshold_works_for_every_declared_measure(session_factory, measure):
    h = History(session_factory, {"kind": "metric", "measure": measure, "below": 50})
    h.add("completed", 1, **{measure: 90})
    assert h.evaluate() == [] and h.state() == "ok"
    run = h.add("completed", 1, **{measure: 20})
    fired = h.evaluate()
    assert len(fired) == 1
    assert fired[0]["alert"]["observed"]["value"] == 20
    assert fired[0]["alert"]["run_id"] == run[0]
    h.add("completed", 1, **{measure: 10})
    h.add("failed", 1)  # failed runs are not the latest completed one
    assert h.evaluate() == []
    h.add("completed", 1, **{measure: 70})
    assert h.evaluate() == [] and h.state() == "ok"
    h.add("completed", 1, **{measure: 30})
    assert len(h.evaluate()) == 1
    assert h.events() == ["triggered", "recovered", "triggered"]


def test_metric_above_a_threshold_and_a_run_without_the_value(session_factory):
    h = History(session_factory, {"kind": "metric", "measure": "davies_bouldin_index", "above": 2.0})
    h.add("completed", 1, davies_bouldin_index=3.0)
    assert len(h.evaluate()) == 1
    h.add("completed", 1)  # no value: no verdict, the state stays
    assert h.evaluate() == [] and h.state() == "alerting"
    h.add("completed", 1, davies_bouldin_index=1.0)
    assert h.evaluate() == [] and h.state() == "ok"


def test_metric_below_the_rolling_median_minus_delta(session_factory):
    rule = {"kind": "metric", "measure": "silhouette_score", "below_median": {"last_runs": 3, "delta": 0.1}}
    h = History(session_factory, rule)
    h.add("completed", 1, silhouette_score=0.6)
    assert h.evaluate() == [] and h.state() == "ok"  # nothing before it: no median, no verdict
    for value in (0.5, 0.7, 0.6):
        h.add("completed", 1, silhouette_score=value)
    h.add("completed", 1, silhouette_score=0.52)  # median of 0.5, 0.7, 0.6 = 0.6; 0.52 >= 0.5
    assert h.evaluate() == []
    h.add("completed", 1, silhouette_score=0.4)  # before it: 0.7, 0.6, 0.52 -> median 0.6; 0.4 < 0.5
    fired = h.evaluate()
    assert len(fired) == 1
    observed = fired[0]["alert"]["observed"]
    assert observed["median"] == pytest.approx(0.6) and observed["threshold"] == pytest.approx(0.5)
    assert observed["median_of"] == 3
    h.add("completed", 1, silhouette_score=0.45)  # before: 0.6, 0.52, 0.4 -> 0.52 - 0.1 = 0.42: ok again
    assert h.evaluate() == [] and h.state() == "ok"


def test_no_completed_run_for_a_duration(session_factory):
    h = History(session_factory, {"kind": "no_completed_run", "for_seconds": 3600})
    h.add("completed")  # finished at T0 + 30 s
    done = T0 + timedelta(seconds=30)
    assert h.evaluate(done + timedelta(minutes=59)) == []
    h.add("failed", 5)  # failures do not count as completions
    fired = h.evaluate(done + timedelta(minutes=61))
    assert len(fired) == 1 and fired[0]["alert"]["observed"]["quiet_seconds"] == 61 * 60
    assert h.evaluate(done + timedelta(hours=5)) == []
    h.minute = 300
    h.add("completed")
    assert h.evaluate(T0 + timedelta(minutes=301)) == [] and h.state() == "ok"
    assert len(h.evaluate(T0 + timedelta(minutes=400))) == 1
    assert h.events() == ["triggered", "recovered", "triggered"]


def test_a_paused_monitor_is_not_evaluated_and_a_new_rule_starts_over(session_factory):
    h = History(session_factory, {"kind": "failure_rate", "last_runs": 1, "above": 0.0})
    with h.writes() as session, session.begin():
        update_monitor(
            session, cluster_id=h.cluster.cluster_id, monitor_id=h.monitor_id, data=MonitorUpdate(paused=True)
        )
    h.add("failed")
    assert h.evaluate() == [] and h.state() == "ok"
    with h.writes() as session, session.begin():
        update_monitor(
            session, cluster_id=h.cluster.cluster_id, monitor_id=h.monitor_id, data=MonitorUpdate(paused=False)
        )
    assert len(h.evaluate()) == 1
    with h.writes() as session, session.begin():
        changed = update_monitor(
            session,
            cluster_id=h.cluster.cluster_id,
            monitor_id=h.monitor_id,
            data=MonitorUpdate.model_validate({"rule": {"kind": "failure_rate", "last_runs": 2, "above": 0.9}}),
        )
    assert changed is not None and changed.state == "ok" and changed.evaluated_at is None
    assert len(h.evaluate()) == 1  # 1 of 1 failed (min_runs 1) under the new rule: a new transition


def test_evaluators_racing_on_one_transition_fire_it_once(session_factory):
    """Workers (and the timer) of several processes evaluate at once: the row lock and the
    conditional UPDATE leave exactly one of them recording the transition."""
    import threading

    h = History(session_factory, {"kind": "failure_rate", "last_runs": 1, "above": 0.0})
    h.add("failed")
    barrier = threading.Barrier(6)
    fired: list[int] = []

    def evaluate() -> None:
        barrier.wait()
        fired.append(len(h.evaluate()))

    threads = [threading.Thread(target=evaluate) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(fired) == [0, 0, 0, 0, 0, 1]
    assert h.events() == ["triggered"]
