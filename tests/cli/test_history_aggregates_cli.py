"""``executions list --group-by/--percentiles/--param`` and ``executions trends [--group-by]`` against a
live server: tables for people, and ``--format json`` exactly the API's JSON for the same request."""

from __future__ import annotations

import json

from sqlalchemy.orm import Session, sessionmaker

from clusterbook.api.background import BackgroundServer
from tests.api.test_trend_groups import HISTORY
from tests.cli.test_remote_cli import api_json, cli, error_line, ok
from tests.factories import make_cluster, make_runs


def _cluster(session_factory: sessionmaker[Session]) -> str:
    cluster = make_cluster(session_factory, cluster_name="grouped")
    make_runs(session_factory, cluster, HISTORY)
    return cluster.cluster_id


def test_list_group_by_and_percentiles(live_server: BackgroundServer, session_factory: sessionmaker[Session]) -> None:
    cid = _cluster(session_factory)
    args = ("executions", "list", "grouped", "--group-by", "config.params.n_clusters", "--percentiles", "50,95")
    data = json.loads(ok(cli(live_server, *args, "-f", "json")))
    body = {"stats_scope": "all", "group_by": "config.params.n_clusters", "percentiles": [50, 95]}
    assert data == api_json(live_server, "POST", f"/v1/clusters/{cid}/executions/list", body)
    table = ok(cli(live_server, *args))
    assert "by config.params.n_clusters" in table and "(none)" in table and "percentiles" in table
    # the group 3 row: two runs, one completed one failed, 1.5 s on average
    row = next(line for line in table.splitlines() if line.strip("│ ").startswith("3 "))
    assert "2" in row and "1 completed, 1 failed" in row and "1.5 s" in row
    assert "metrics.silhouette_score" in table and "p95" in table


def test_list_param_filter(live_server: BackgroundServer, session_factory: sessionmaker[Session]) -> None:
    _cluster(session_factory)
    five = json.loads(ok(cli(live_server, "executions", "list", "grouped", "--param", "n_clusters=5", "-f", "json")))
    assert five["total_count"] == 2 and all(r["config"]["params"]["n_clusters"] == 5 for r in five["results"])
    both = cli(live_server, "executions", "list", "grouped", "-p", "n_clusters=5", "--status", "failed", "-f", "json")
    assert json.loads(ok(both))["total_count"] == 1
    assert "--param" in error_line(cli(live_server, "executions", "list", "grouped", "--param", "k"), code=2)


def test_list_aggregate_option_errors(live_server: BackgroundServer, session_factory: sessionmaker[Session]) -> None:
    _cluster(session_factory)
    page = cli(live_server, "executions", "list", "grouped", "--group-by", "status", "--stats-scope", "page")
    assert error_line(page, code=2).startswith("error: --group-by: describes all matches")
    bad = error_line(cli(live_server, "executions", "list", "grouped", "--percentiles", "fifty"), code=2)
    assert bad.startswith("error: --percentiles: expected numbers")
    server_side = error_line(cli(live_server, "executions", "list", "grouped", "--group-by", "run_name"))
    assert "cannot group by 'run_name'" in server_side and server_side.endswith("[422]")


def test_trends_plain_and_grouped(live_server: BackgroundServer, session_factory: sessionmaker[Session]) -> None:
    cid = _cluster(session_factory)
    path = f"/v1/clusters/{cid}/executions/trends"
    plain = json.loads(ok(cli(live_server, "executions", "trends", "grouped", "-f", "json")))
    assert plain == api_json(live_server, "POST", path, {"bucket": "day"})
    grouped = cli(live_server, "executions", "trends", "grouped", "--group-by", "algorithm", "-f", "json")
    assert json.loads(ok(grouped)) == api_json(live_server, "POST", path, {"bucket": "day", "group_by": "algorithm"})
    table = cli(live_server, "executions", "trends", "grouped", "--group-by", "algorithm", "--bucket", "week")
    text = ok(table)
    assert "runs per week by algorithm" in text
    kmeans = [line for line in text.splitlines() if "kmeans" in line]
    assert len(kmeans) == 2  # the week of Dec 29 and that of Jan 5
    assert "2 completed, 1 failed" in kmeans[0] and "1 failed" in kmeans[1]
    assert table.stderr.strip() == "6 matching runs"
    filtered = cli(live_server, "executions", "trends", "grouped", "--param", "n_clusters=3", "-f", "json")
    assert json.loads(ok(filtered))["total_count"] == 2
