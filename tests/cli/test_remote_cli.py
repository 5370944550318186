"""The remote commands (``clusters``, ``execute``, ``executions``) against a live server: outputs in each
format (``--format json`` is byte-for-byte the API's JSON document), the live display of a running
execution, and every error as one line on stderr with a non-zero exit (a traceback only with --debug)."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from typing import Any

import httpx
from click.testing import Result
from typer.testing import CliRunner

from clusterbook.api.background import BackgroundServer, free_port
from clusterbook.cli.main import app
from clusterbook.cli.remote_options import parse_since
from clusterbook.client import Client
from clusterbook.models.clusters import Cluster
from tests.api.helpers import NAME_OF
from tests.client.conftest import blobs

CLI = [sys.executable, "-m", "clusterbook.cli"]
CLEAN_ENV = {"CLUSTERBOOK_URL": None, "CLUSTERBOOK_API_KEY": None, "CLUSTERBOOK_NAMESPACE": None}


def cli(server: BackgroundServer | str, *args: str, input: str | None = None, **env: str) -> Result:
    """Run ``clusterbook <args> --url <server>`` in process (real HTTP to the server)."""
    url = server if isinstance(server, str) else server.url
    return CliRunner().invoke(app, [*args, "--url", url], input=input, env={**CLEAN_ENV, **env})


def ok(result: Result) -> str:
    assert result.exit_code == 0, (result.exit_code, result.stdout, result.stderr, result.exception)
    return result.stdout


def error_line(result: Result, code: int = 1) -> str:
    """The one line a failed command prints on stderr (and nothing on stdout, no traceback)."""
    assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    return lines[0]


def csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def api_json(server: BackgroundServer, method: str, path: str, body: Any = None) -> Any:
    response = httpx.request(method, server.url + path, json=body, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


# ----------------------------------------------------------------------------- clusters


def test_clusters_create_list_show_delete(live_server: BackgroundServer, client: Client) -> None:
    client.collections.create("docs")
    created = ok(
        cli(
            live_server,
            "clusters",
            "create",
            "topics",
            "--collection",
            "docs",
            "--algorithm",
            "kmeans",
            "--param",
            "n_clusters=4",
            "--param",
            "init=k-means++",
            "--description",
            "Topics",
        )
    )
    topics = client.clusters.get("topics")
    assert topics.cluster_id in created and "n_clusters" in created
    assert topics.vector_config and topics.vector_config.algorithm_params == {"n_clusters": 4, "init": "k-means++"}
    by_lang = json.loads(
        ok(
            cli(
                live_server,
                "clusters",
                "create",
                "by-lang",
                "--collection",
                "docs",
                "--attribute",
                "lang",
                "-f",
                "json",
            )
        )
    )
    assert by_lang == api_json(live_server, "GET", "/v1/clusters/by-lang")
    assert by_lang["cluster_type"] == "attribute" and by_lang["attribute_config"]["attributes"] == ["lang"]

    table = cli(live_server, "clusters", "list")
    assert "topics" in ok(table) and "by-lang" in table.stdout and topics.cluster_id in table.stdout
    assert table.stderr.strip() == "2 clusters · page 1 of 1"
    assert json.loads(ok(cli(live_server, "clusters", "list", "--format", "json"))) == api_json(
        live_server, "POST", "/v1/clusters/list", {}
    )
    rows = csv_rows(ok(cli(live_server, "clusters", "list", "--sort", "cluster_name", "--format", "csv")))
    assert [(r["cluster_name"], r["algorithm"]) for r in rows] == [("by-lang", "by lang"), ("topics", "kmeans")]
    every = json.loads(ok(cli(live_server, "clusters", "list", "--all", "--page-size", "1", "--format", "json")))
    assert sorted(c["cluster_name"] for c in every) == ["by-lang", "topics"]
    assert "by-lang" in ok(cli(live_server, "clusters", "list", "--all", "--search", "lang"))

    shown = ok(cli(live_server, "clusters", "show", "topics"))
    assert "never run" in shown and '{"init": "k-means++", "n_clusters": 4}' in shown and "Topics" in shown
    assert json.loads(ok(cli(live_server, "clusters", "show", topics.cluster_id, "-f", "json"))) == api_json(
        live_server, "GET", f"/v1/clusters/{topics.cluster_id}"
    )

    kept = cli(live_server, "clusters", "delete", "topics", input="n\n")
    assert kept.exit_code == 1 and "not deleted" in kept.stderr
    assert client.clusters.get("topics").cluster_id == topics.cluster_id
    deleted = cli(live_server, "clusters", "delete", "by-lang", "--yes")
    assert ok(deleted) == "" and "deleted cluster by-lang" in deleted.stderr
    assert error_line(cli(live_server, "clusters", "show", "by-lang")) == "error: cluster 'by-lang' not found [404]"
    assert (
        error_line(cli(live_server, "clusters", "delete", "nope", "--yes")) == "error: cluster 'nope' not found [404]"
    )


def test_clusters_errors_are_one_line(live_server: BackgroundServer, client: Client) -> None:
    client.collections.create("docs")
    bad_name = error_line(cli(live_server, "clusters", "create", "bad name!", "--collection", "docs"))
    assert bad_name.startswith("error: cluster_name: String should match pattern") and bad_name.endswith("[422]")
    missing = error_line(cli(live_server, "clusters", "create", "x", "--collection", "no-such-collection"))
    assert "no-such-collection" in missing
    bad_param = error_line(cli(live_server, "clusters", "create", "x", "--param", "n_clusters"), code=2)
    assert bad_param == "error: --param: expected key=value, got 'n_clusters'"
    assert error_line(cli(live_server, "clusters", "create", "x", "--filter", "[1]"), code=2) == (
        "error: --filter: must be a JSON object"
    )
    both = error_line(cli(live_server, "clusters", "list", "--page", "2", "--all"), code=2)
    assert both == "error: --page: give --page or --all, not both"
    too_big = error_line(cli(live_server, "clusters", "list", "--page-size", "1000"))
    assert "query.page_size" in too_big and too_big.endswith("[422]")


# ----------------------------------------------------------------------------- executions


def test_executions_list_in_every_format(live_server: BackgroundServer, zoo: Cluster) -> None:
    table = cli(live_server, "executions", "list", "zoo")
    assert all(run_id in ok(table) for run_id in NAME_OF)
    assert table.stderr.strip().startswith("8 matching runs · page 1 of 1 · 1 canceled, 3 completed, 2 failed")
    assert json.loads(ok(cli(live_server, "executions", "list", "zoo", "--format", "json"))) == api_json(
        live_server, "POST", f"/v1/clusters/{zoo.cluster_id}/executions/list", {}
    )

    def names(*args: str) -> list[str]:
        page = json.loads(ok(cli(live_server, "executions", "list", "zoo", *args, "--format", "json")))
        return [NAME_OF[run["run_id"]] for run in page["results"]]

    assert names("--status", "failed", "--status", "canceled") == ["golf", "delta", "charlie"]
    assert names("--status", "failed", "--filter", '{"num_points": {"gt": 600}}') == ["delta"]
    assert names("--since", "2026-01-01T00:05:00Z") == ["hotel", "golf", "foxtrot"]
    assert names("--since", "2026-01-01 00:06") == ["hotel", "golf"]
    assert names("--since", "30d") == []  # the zoo is older than that
    assert names("--min-silhouette", "0.5") == ["alpha"]
    assert names("--search", "memory") == ["charlie"]
    assert names("--sort", "-metrics.silhouette_score", "--page-size", "2") == ["alpha", "bravo"]
    assert names("--sort", "num_points", "--page", "2", "--page-size", "3") == ["bravo", "foxtrot", "golf"]
    stats = json.loads(
        ok(cli(live_server, "executions", "list", "zoo", "--page-size", "2", "--stats-scope", "all", "-f", "json"))
    )["stats"]
    assert stats["total_executions"] == 8

    rows = csv_rows(ok(cli(live_server, "executions", "list", "zoo", "--all", "--page-size", "3", "--format", "csv")))
    assert len(rows) == 8 and rows[0]["run_id"] == "run_Hotel08"
    charlie = next(r for r in rows if r["run_id"] == "run_Charlie03")
    assert charlie["status"] == "failed" and charlie["error_message"].startswith("Out of memory")
    alpha = next(r for r in rows if r["run_id"] == "run_Alpha01")
    assert (alpha["silhouette_score"], alpha["num_points"], alpha["duration_ms"]) == ("0.8", "50", "2000.0")
    every = json.loads(ok(cli(live_server, "executions", "list", "zoo", "--all", "--page-size", "3", "-f", "json")))
    assert [r["run_id"] for r in every] == [r["run_id"] for r in rows]
    walked = cli(live_server, "executions", "list", "zoo", "--all", "--status", "completed")
    assert "run_Bravo02" in ok(walked) and walked.stderr.strip() == "3 matching runs · all 3 shown"


def test_executions_list_errors(live_server: BackgroundServer, zoo: Cluster) -> None:
    bogus = error_line(cli(live_server, "executions", "list", "zoo", "--status", "bogus"))
    assert bogus == (
        "error: filters.value: 'bogus' is not a valid status; accepted: pending, processing, completed, failed, "
        "canceled [422]"
    )
    assert error_line(cli(live_server, "executions", "list", "nope")) == "error: cluster 'nope' not found [404]"
    assert error_line(cli(live_server, "executions", "list", "nope", "--all", "-f", "csv")).endswith("[404]")
    since = error_line(cli(live_server, "executions", "list", "zoo", "--since", "last tuesday"), code=2)
    assert since.startswith("error: --since: cannot read 'last tuesday'")
    assert error_line(cli(live_server, "executions", "list", "zoo", "--filter", "{bad"), code=2).startswith(
        "error: --filter: not valid JSON"
    )
    sort = error_line(cli(live_server, "executions", "list", "zoo", "--sort", "colour"))
    assert "colour" in sort and sort.endswith("[422]")


def test_executions_show_cancel_compare(live_server: BackgroundServer, zoo: Cluster) -> None:
    shown = ok(cli(live_server, "executions", "show", "run_Charlie03"))
    assert "failed" in shown and "Out of memory: spectral clustering needs 104 GiB" in shown
    assert zoo.cluster_id in shown
    alpha = ok(cli(live_server, "executions", "show", "run_Alpha01", "--cluster", "zoo"))
    assert "0.8000" in alpha and "Billing" in alpha and "invoice, refund" in alpha and "60%" in alpha
    assert json.loads(ok(cli(live_server, "executions", "show", "run_Alpha01", "-f", "json"))) == api_json(
        live_server, "GET", f"/v1/clusters/{zoo.cluster_id}/executions/run_Alpha01"
    )
    assert error_line(cli(live_server, "executions", "show", "run_Nope")) == (
        "error: execution 'run_Nope' not found in this namespace [404]"
    )
    assert error_line(cli(live_server, "executions", "show", "run_Alpha01", "--cluster", "nope")) == (
        "error: cluster 'nope' not found [404]"
    )

    assert ok(cli(live_server, "executions", "cancel", "run_Echo05")).strip() == "run_Echo05 canceled"
    canceled = json.loads(ok(cli(live_server, "executions", "cancel", "run_Foxtrot06", "-c", "zoo", "-f", "json")))
    assert canceled["status"] == "canceled" and canceled["completed_at"]
    assert ok(cli(live_server, "executions", "cancel", "run_Echo05")).strip() == "run_Echo05 canceled"  # idempotent
    ended = error_line(cli(live_server, "executions", "cancel", "run_Alpha01"))
    assert "already ended with status 'completed'" in ended and ended.endswith("[409]")

    compared = ok(cli(live_server, "executions", "compare", "run_Alpha01", "run_Bravo02"))
    for expected in ("run_Alpha01", "run_Bravo02", "silhouette", "0.8000 ★", "0.2000", "the runs share no document"):
        assert expected in compared, expected
    both = json.loads(ok(cli(live_server, "executions", "compare", "run_Alpha01", "run_Bravo02", "-f", "json")))
    assert both == api_json(
        live_server,
        "POST",
        f"/v1/clusters/{zoo.cluster_id}/executions/compare",
        {"run_ids": ["run_Alpha01", "run_Bravo02"]},
    )
    failed = error_line(cli(live_server, "executions", "compare", "run_Alpha01", "run_Charlie03"))
    assert "run_ids[1]: run 'run_Charlie03' is failed; only completed runs can be compared" in failed
    assert failed.endswith("[422]")
    assert error_line(cli(live_server, "executions", "compare", "run_Nope", "run_Alpha01")).endswith("[404]")
    assert error_line(cli(live_server, "executions", "compare", "run_Alpha01", "run_Nope", "-c", "zoo")).endswith(
        "[422]"
    )


def test_namespace_api_key_and_environment(live_server: BackgroundServer, client: Client, zoo: Cluster) -> None:
    client.namespaces.create("team-a")
    scoped = json.loads(ok(cli(live_server, "clusters", "list", "--namespace", "team-a", "-f", "json")))
    assert scoped["total_count"] == 0
    hidden = error_line(cli(live_server, "executions", "show", "run_Alpha01", "--namespace", "team-a"))
    assert hidden == "error: execution 'run_Alpha01' not found in this namespace [404]"
    lost = error_line(cli(live_server, "clusters", "list", CLUSTERBOOK_NAMESPACE="nobody"))
    assert "namespace 'nobody' not found" in lost
    # no API keys on this server yet: open, but a key that is sent is still checked (and this one is unknown)
    assert error_line(cli(live_server, "clusters", "list", "--api-key", "k-123")).startswith(
        "error: the API key is not valid"
    )
    from_env = CliRunner().invoke(
        app, ["executions", "list", "zoo", "-f", "json"], env={**CLEAN_ENV, "CLUSTERBOOK_URL": live_server.url}
    )
    assert json.loads(ok(from_env))["total_count"] == 8


def test_parse_since_reads_dates_timestamps_and_ages() -> None:
    from datetime import UTC, datetime, timedelta

    now = datetime(2026, 5, 10, 12, 0, tzinfo=UTC)
    assert parse_since("2026-05-01") == datetime(2026, 5, 1, tzinfo=UTC)
    assert parse_since("2026-05-01T10:00:00+02:00") == datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
    assert parse_since("90m", now) == now - timedelta(minutes=90)
    assert parse_since("12h", now) == now - timedelta(hours=12)
    assert parse_since("7d", now) == now - timedelta(days=7)
    assert parse_since("2w", now) == now - timedelta(weeks=2)


# ----------------------------------------------------------------------------- execute (real runs)


def test_execute_follows_a_real_run_live(worker_server: BackgroundServer) -> None:
    with Client(worker_server.url) as client:
        client.collections.create("blobs")
        client.documents.upsert("blobs", blobs(60))
        client.clusters.create(
            "three", collection_ids=["blobs"], vector_config={"algorithm_params": {"n_clusters": 3, "random_state": 0}}
        )
    followed = cli(worker_server, "execute", "three", "--wait", "--name", "from-cli", "--poll-interval", "0.1")
    out = ok(followed)
    assert "completed" in out and "from-cli" in out and "cl_2" in out
    progress = followed.stderr.strip().splitlines()
    assert progress[0].endswith(": pending")
    assert any(": completed after " in line for line in progress)
    assert "completed in" in progress[-1] and "3 clusters over 60 points, silhouette" in progress[-1]

    as_json = json.loads(ok(cli(worker_server, "execute", "three", "-w", "-p", "n_clusters=2", "-f", "json")))
    assert as_json["status"] == "completed" and as_json["num_clusters"] == 2
    assert as_json == api_json(
        worker_server, "GET", f"/v1/clusters/{as_json['cluster_id']}/executions/{as_json['run_id']}"
    )

    failed = cli(worker_server, "execute", "three", "--wait", "--param", "n_clusters=500", "--poll-interval", "0.1")
    assert failed.exit_code == 1 and "Traceback" not in failed.stderr
    last = failed.stderr.strip().splitlines()[-1]
    assert last.startswith("error: run_") and " failed" in last and "n_clusters" in last
    assert "failed" in failed.stdout  # the run's details are still printed
    with Client(worker_server.url) as client:
        doomed = client.executions.latest("three")
    assert doomed is not None and doomed.status == "failed"
    assert doomed.error_traceback is None  # a data problem: the message is the whole story
    shown = ok(cli(worker_server, "executions", "show", doomed.run_id, "--traceback"))
    assert "n_clusters" in shown and "Traceback" not in shown

    submitted = cli(worker_server, "execute", "three", "--name", "no-wait")
    run_id = ok(submitted).strip()
    assert run_id.startswith("run_") and f"executions show {run_id}" in submitted.stderr
    with Client(worker_server.url) as client:
        run = client.executions.wait("three", run_id, poll_interval=0.1, timeout=120)
        assert run.run_name == "no-wait" and run.status == "completed"
    waited = cli(worker_server, "execute", "three", "--wait", "--timeout", "0", "--poll-interval", "0.1")
    assert waited.exit_code == 1 and "Traceback" not in waited.stderr
    gave_up = waited.stderr.strip().splitlines()[-1]  # after the progress lines
    assert gave_up.startswith("error: execution run_") and "after 0 s; it keeps running" in gave_up
    assert error_line(cli(worker_server, "execute", "nope")) == "error: cluster 'nope' not found [404]"


# ----------------------------------------------------------------------------- the real entry point


def test_unreachable_server_is_one_line_without_debug_and_a_traceback_with_it() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLUSTERBOOK_")}
    plain = subprocess.run(
        [*CLI, "clusters", "list", "--url", url], capture_output=True, text=True, env=env, timeout=60
    )
    assert plain.returncode == 1 and plain.stdout == ""
    assert plain.stderr == (
        f"error: cannot reach the clusterbook server at {url}: connection refused or host unreachable after 4 attempts\n"
    )
    debug = cli(url, "executions", "show", "run_x", "--debug")  # in process: the same handler, less waiting
    assert debug.exit_code == 1
    assert "Traceback" in debug.stderr and "ConnectionFailed" in debug.stderr
    assert debug.stderr.count("retrying in") == 3
    assert debug.stderr.strip().splitlines()[-1].startswith("error: cannot reach the clusterbook server")
    bad_url = error_line(cli("nope://x", "clusters", "list"))
    assert bad_url.startswith("error: cannot reach the clusterbook server at nope://x: connection failed")


def test_help_lists_the_remote_commands() -> None:
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("clusters", "execute", "executions", "serve"):
        assert command in result.stdout
    sub = CliRunner().invoke(app, ["executions", "--help"])
    assert all(name in sub.stdout for name in ("list", "show", "cancel", "compare"))


# ----------------------------------------------------------------------------- API keys


def test_remote_commands_pass_the_api_key(live_server: BackgroundServer, session_factory: Any) -> None:
    from clusterbook.store.db import make_sessionmaker
    from clusterbook.store.keys import create_api_key
    from tests.factories import make_cluster

    cluster = make_cluster(session_factory, "keyed", cluster_name="keyed-cluster")
    with make_sessionmaker(session_factory.kw["bind"], writes=True)() as session, session.begin():
        _, key = create_api_key(session, namespace_ids=[cluster.namespace_id], name="cli")
    listed = json.loads(ok(cli(live_server, "clusters", "list", "--format", "json", "--api-key", key)))
    assert [c["cluster_id"] for c in listed["results"]] == [cluster.cluster_id]
    from_env = ok(cli(live_server, "clusters", "show", "keyed-cluster", "--format", "json", CLUSTERBOOK_API_KEY=key))
    assert json.loads(from_env)["cluster_id"] == cluster.cluster_id
    assert error_line(cli(live_server, "clusters", "list")).endswith("[401]")
    assert error_line(cli(live_server, "clusters", "list", "--api-key", key + "x")).startswith(
        "error: the API key is not valid"
    )


def test_execute_in_assign_mode_from_the_cli(worker_server: BackgroundServer) -> None:
    with Client(worker_server.url) as client:
        client.collections.create("incoming")
        client.documents.upsert("incoming", blobs(60))
        client.clusters.create(
            "arrivals", collection_ids=["incoming"], vector_config={"algorithm_params": {"n_clusters": 3}}
        )
        first = client.clusters.execute("arrivals", wait=True, timeout=120)
    assigned = json.loads(
        ok(cli(worker_server, "execute", "arrivals", "-w", "--mode", "assign", "--all-documents", "-f", "json"))
    )
    assert assigned["mode"] == "assign" and assigned["source_run_id"] == first.run_id
    assert assigned["num_points"] == 60 and assigned["metrics"]["unassigned_ratio"] == 0.0
    shown = ok(cli(worker_server, "executions", "show", assigned["run_id"]))
    assert f"assign, to the centres of {first.run_id}" in shown
    strict = ok(cli(worker_server, "execute", "arrivals", "-w", "--mode", "assign", "--all-documents",
                    "--source-run", first.run_id, "--assignment-threshold", "1"))  # fmt: skip
    assert "re-cluster" in strict and "unassigned" in strict
    refused = cli(worker_server, "execute", "arrivals", "--source-run", first.run_id)
    assert refused.exit_code == 1 and 'applies only to "mode": "assign"' in refused.stderr
