"""``clusterbook monitors …`` against a live server (real HTTP through the SDK): create, list, show,
pause/resume, alerts and delete, ``--format json`` as the API's JSON, and refusals as one line on stderr."""

from __future__ import annotations

import json
from datetime import timedelta

from clusterbook.store.db import make_sessionmaker
from clusterbook.store.monitors import evaluate_cluster_monitors
from tests.cli.test_remote_cli import cli, error_line, ok
from tests.factories import BASE_TIME, make_cluster, make_runs

RULE = '{"kind": "failure_rate", "last_runs": 2, "above": 0.4}'


def test_monitors_commands(live_server, session_factory, engine):
    cluster = make_cluster(session_factory, cluster_name="topics")
    created = json.loads(ok(cli(live_server, "monitors", "create", "topics", "failures", "--rule", RULE, "-f", "json")))
    assert created["state"] == "ok" and created["rule"]["last_runs"] == 2
    listing = ok(cli(live_server, "monitors", "list", "topics"))
    assert "failures" in listing and "failure_rate" in listing and "ok" in listing

    at = BASE_TIME
    make_runs(session_factory, cluster, [{"status": "failed", "created_at": at, "completed_at": at}])
    with make_sessionmaker(engine, writes=True)() as session, session.begin():
        evaluate_cluster_monitors(session, cluster_id=cluster.cluster_id, now=at + timedelta(seconds=1))
    shown = ok(cli(live_server, "monitors", "show", "topics", "failures"))
    assert "alerting" in shown and "failure rate 1.00" in shown
    alerts = ok(cli(live_server, "monitors", "alerts", "topics", "failures"))
    assert "triggered" in alerts and "failure rate 1.00" in alerts
    as_json = json.loads(ok(cli(live_server, "monitors", "alerts", "topics", "failures", "-f", "json")))
    assert [a["event"] for a in as_json["results"]] == ["triggered"] and as_json["total_count"] == 1

    assert "paused monitor failures" in cli(live_server, "monitors", "pause", "topics", "failures").stderr
    assert json.loads(ok(cli(live_server, "monitors", "show", "topics", "failures", "-f", "json")))["paused"] is True
    assert "resumed" in cli(live_server, "monitors", "resume", "topics", "failures").stderr

    line = error_line(
        cli(
            live_server,
            "monitors",
            "create",
            "topics",
            "x",
            "--rule",
            '{"kind": "metric", "measure": "nope", "below": 1}',
        )
    )
    assert "unknown measure 'nope'" in line and "silhouette_score" in line
    assert "--rule" in error_line(cli(live_server, "monitors", "create", "topics", "x", "--rule", "[1"), code=2)
    assert "deleted monitor failures" in cli(live_server, "monitors", "delete", "topics", "failures").stderr
    assert "not found" in error_line(cli(live_server, "monitors", "show", "topics", "failures"))
