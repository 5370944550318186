"""The export commands against a live server (SQLite and PostgreSQL behind it): ``executions export``
writes every matching run in the format of the file's extension, ``executions export-members`` a run's
members, and ``clusterbook export`` a collection that ``clusterbook import`` reads back unchanged (the
round trip, through the real commands in subprocesses)."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq

from clusterbook.store.queue import insert_members
from tests.api.helpers import ids, ok_list
from tests.cli.test_remote_cli import cli, error_line, ok
from tests.factories import make_cluster, make_collection, make_documents, make_runs

CLI = [sys.executable, "-m", "clusterbook.cli"]


def run(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args, "--url", url], capture_output=True, text=True, timeout=120)


def all_documents(http, collection: str) -> list[dict]:
    body = {"include_vectors": True, "sort": {"field": "document_id", "direction": "asc"}}
    response = http.post(f"/v1/collections/{collection}/documents/list", json=body, params={"page_size": 100})
    assert response.status_code == 200, response.text
    return [{k: d.get(k) for k in ("document_id", "text", "metadata", "vector")} for d in response.json()["results"]]


def test_import_then_export_round_trips_a_collection(live_server, http, tmp_path: Path) -> None:
    rows = [
        {"id": f"d{i:02d}", "text": f"story {i} · ünïcode", "vector": [i / 3, 0.1, -1e-7],
         "year": 2000 + i, "tags": ["a", "b"], "source": {"name": "wire", "deep": {"x": [1, {"y": None}]}}}
        for i in range(40)
    ]  # fmt: skip
    rows[5]["metadata"] = {"lang": "en"}  # a metadata object in the source joins the other fields
    source = tmp_path / "source.jsonl"
    source.write_text("".join(json.dumps(row) + "\n" for row in rows))
    done = run(live_server.url, "import", str(source), "--collection", "first", "--batch-size", "7")
    assert done.returncode == 0, done.stderr

    exported = tmp_path / "first.jsonl"
    done = run(live_server.url, "export", "--collection", "first", "-o", str(exported))
    assert done.returncode == 0, done.stderr
    assert "wrote" in done.stderr and not (tmp_path / "first.jsonl.part").exists()
    done = run(live_server.url, "import", str(exported), "--collection", "second")
    assert done.returncode == 0, done.stderr
    assert "imported 40 of 40 rows" in done.stderr

    first, second = all_documents(http, "first"), all_documents(http, "second")
    assert len(first) == 40 and first == second
    assert first[5]["metadata"] == {"lang": "en", "year": 2005, "tags": ["a", "b"],
                                    "source": {"name": "wire", "deep": {"x": [1, {"y": None}]}}}  # fmt: skip
    again = tmp_path / "second.jsonl"
    assert run(live_server.url, "export", "--collection", "second", "-o", str(again)).returncode == 0
    assert again.read_bytes() == exported.read_bytes()


def test_executions_export_writes_the_matching_runs_in_the_format_of_the_extension(
    live_server, http, zoo, tmp_path: Path
) -> None:
    target = tmp_path / "runs.parquet"
    ok(cli(live_server, "executions", "export", "zoo", "-o", str(target), "--status", "completed", "--status", "failed",
           "--sort", "-num_points", "--config-field", "config.params.n_clusters"))  # fmt: skip
    body = {"filters": {"field": "status", "operator": "in", "value": ["completed", "failed"]},
            "sort": {"field": "num_points", "direction": "desc"}}  # fmt: skip
    table = pq.read_table(target)
    assert table.column("run_id").to_pylist() == ids(ok_list(http, zoo.cluster_id, body, page_size=100))
    assert table.schema.names[-1] == "config.params.n_clusters"
    csv_target = tmp_path / "runs.csv"
    ok(cli(live_server, "executions", "export", zoo.cluster_id, "-o", str(csv_target), "--search", "refund"))
    rows = list(csv.DictReader(io.StringIO(csv_target.read_text())))
    assert [r["run_id"] for r in rows] == ids(ok_list(http, zoo.cluster_id, {"search": "refund"}))
    stdout = ok(cli(live_server, "executions", "export", "zoo", "-o", "-", "--format", "ndjson"))
    assert len(stdout.splitlines()) == 8


def test_export_errors_are_one_line(live_server, zoo, tmp_path: Path) -> None:
    target = tmp_path / "runs.csv"
    line = error_line(cli(live_server, "executions", "export", "zoo", "-o", str(target), "--config-field", "x"))
    assert "config_fields" in line and "config.params.<name>" in line
    line = error_line(cli(live_server, "executions", "export", "zoo", "-o", str(tmp_path / "runs.xlsx.jsonl"),
                          "--config-field", "config.algorithm"))  # fmt: skip
    assert "csv and parquet" in line
    result = cli(live_server, "executions", "export-members", "run_x", "-o", str(tmp_path / "m.ndjson"))
    assert result.exit_code == 2 and "--format" in result.stderr
    assert not target.exists()


def test_export_members_of_a_run(live_server, session_factory, tmp_path: Path) -> None:
    collection = make_collection(session_factory)
    make_documents(session_factory, collection, [{"document_id": f"d{i}", "text": "t", "metadata": {"lang": "de"}}
                                                 for i in range(3)])  # fmt: skip
    cluster = make_cluster(session_factory, collection_ids=[collection.collection_id])
    [run_id] = make_runs(session_factory, cluster, [
        {"status": "completed", "centroids": [{"cluster_id": "cl_0", "num_members": 2, "label": "Zwei"}],
         "config": {"collection_ids": [collection.collection_id]}}])  # fmt: skip
    with session_factory() as session, session.begin():
        insert_members(session, run_id, ["d0", "d1", "d2"], ["cl_0", "cl_0", None], [0.25, 0.5, None])
    target = tmp_path / "members.parquet"
    ok(cli(live_server, "executions", "export-members", run_id, "-o", str(target), "--field", "metadata.lang"))
    assert pq.read_table(target).to_pylist() == [
        {"document_id": "d0", "cluster_id": "cl_0", "label": "Zwei", "distance": 0.25, "metadata.lang": '"de"'},
        {"document_id": "d1", "cluster_id": "cl_0", "label": "Zwei", "distance": 0.5, "metadata.lang": '"de"'},
        {"document_id": "d2", "cluster_id": None, "label": None, "distance": None, "metadata.lang": '"de"'},
    ]
