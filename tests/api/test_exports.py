"""The streamed exports over real HTTP on SQLite and PostgreSQL: the run export answers the listing's
filters, sort and search with exactly the listing's runs (the shared truth table), every run comes
out across many batches, CSV flattens the declared measures and chosen config fields, Parquet keeps
types, NDJSON lines are the listing's rows, members export with labels and metadata, and bad
requests are 4xx problems before any byte of an export is sent."""

from __future__ import annotations

import csv
import io
import json
import threading
import time
from typing import Any

import httpx
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from clusterbook.models.exports import RUN_COLUMNS, run_columns
from clusterbook.models.measures import MEASURES
from clusterbook.store import exports as walks
from clusterbook.store.queue import insert_members
from tests.api.helpers import assert_invalid, assert_problem, ids, make_zoo, ok_list, walk_by_cursor
from tests.api.test_query_budget import heavy_cluster, hostile_filter, tight  # noqa: F401 - fixtures
from tests.factories import make_cluster, make_collection, make_documents, make_history, make_runs
from tests.truth_table import load_history, mismatches, zoo_mismatches


def export_path(cluster_id: str) -> str:
    return f"/v1/clusters/{cluster_id}/executions/export"


def export(http, cluster_id: str, fmt: str, body: Any = None) -> bytes:
    response = http.post(export_path(cluster_id), params={"format": fmt}, json={} if body is None else body)
    assert response.status_code == 200, response.text
    return response.content


def ndjson_rows(content: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in content.decode().splitlines()]


def csv_rows(content: bytes) -> tuple[list[str], list[dict[str, str]]]:
    reader = csv.DictReader(io.StringIO(content.decode()))
    rows = list(reader)
    return list(reader.fieldnames or []), rows


def test_the_export_returns_exactly_the_listing_runs_for_every_row_of_the_truth_table(http, session_factory) -> None:
    history, zoo = load_history(session_factory), make_cluster(session_factory)
    make_zoo(session_factory, zoo)

    def lister(cluster_id: str):
        def list_runs(body: dict[str, Any]) -> list[str]:
            return [row["run_id"] for row in ndjson_rows(export(http, cluster_id, "ndjson", body))]

        return list_runs

    failures = mismatches(lister(history.cluster_id)) + zoo_mismatches(lister(zoo.cluster_id))
    assert not failures, "\n".join(failures)


def test_every_run_comes_out_across_many_batches_in_the_listing_order(http, session_factory, monkeypatch) -> None:
    monkeypatch.setattr(walks, "RUN_BATCH", 7)  # 60 runs: nine batches, the last one partial
    monkeypatch.setattr(walks, "WIRE_RUN_BATCH", 7)
    cluster = make_cluster(session_factory)
    make_history(session_factory, cluster, 60)
    body = {"sort": {"field": "metrics.silhouette_score", "direction": "desc"}}
    expected = walk_by_cursor(http, cluster.cluster_id, body, page_size=13)
    assert len(expected) == 60
    assert [r["run_id"] for r in ndjson_rows(export(http, cluster.cluster_id, "ndjson", body))] == expected
    _, rows = csv_rows(export(http, cluster.cluster_id, "csv", body))
    assert [r["run_id"] for r in rows] == expected
    table = pq.read_table(io.BytesIO(export(http, cluster.cluster_id, "parquet", body)))
    assert table.column("run_id").to_pylist() == expected
    assert pq.ParquetFile(io.BytesIO(export(http, cluster.cluster_id, "parquet", body))).num_row_groups == 9


def test_ndjson_lines_are_the_listing_rows(http, session_factory) -> None:
    cluster = make_cluster(session_factory)
    make_zoo(session_factory, cluster)
    body = {"filters": {"field": "status", "operator": "in", "value": ["completed", "failed", "processing"]}}
    listed = ok_list(http, cluster.cluster_id, body, page_size=100)["results"]
    assert len(listed) == 6
    assert ndjson_rows(export(http, cluster.cluster_id, "ndjson", body)) == listed


def test_csv_has_one_column_per_declared_measure_and_the_chosen_config_fields(http, session_factory) -> None:
    cluster = make_cluster(session_factory)
    config = {"algorithm": "kmeans", "random_state": 7, "params": {"n_clusters": "auto", "init": "k-means++"}}
    [run_id] = make_runs(
        session_factory,
        cluster,
        [
            {
                "status": "completed",
                "run_name": 'quarterly, "big" run',
                "num_points": 120,
                "num_clusters": 4,
                "metrics": {"silhouette_score": 0.61, "noise_points": 3},
                "config": config,
            }
        ],
    )
    fields = ["config.params.n_clusters", "config.random_state", "config.params.missing"]
    header, rows = csv_rows(export(http, cluster.cluster_id, "csv", {"config_fields": fields}))
    assert header == [c.name for c in RUN_COLUMNS] + fields
    assert {m.name for m in MEASURES} <= set(header)
    [row] = rows
    assert row["run_id"] == run_id
    assert row["run_name"] == 'quarterly, "big" run'  # quoted by the CSV writer, read back whole
    assert row["silhouette_score"] == "0.61" and row["noise_points"] == "3"
    assert row["davies_bouldin_index"] == ""  # null is an empty cell
    assert row["num_points"] == "120" and row["status"] == "completed"
    assert row["config.params.n_clusters"] == "auto" and row["config.random_state"] == "7"
    assert row["config.params.missing"] == ""
    assert row["created_at"].endswith("+00:00")


def test_parquet_keeps_the_types(http, session_factory) -> None:
    cluster = make_cluster(session_factory)
    make_zoo(session_factory, cluster)
    content = export(http, cluster.cluster_id, "parquet", {"config_fields": ["config.random_state"]})
    table = pq.read_table(io.BytesIO(content))
    types = {field.name: field.type for field in table.schema}
    assert list(types) == [c.name for c in run_columns(["config.random_state"])]
    assert types["created_at"] == pa.timestamp("us", tz="UTC")
    assert types["num_points"] == pa.int64() and types["noise_points"] == pa.int64()
    assert types["silhouette_score"] == pa.float64() and types["duration_ms"] == pa.float64()
    assert types["status"] == pa.string() and types["config.random_state"] == pa.int64()
    listed = ok_list(http, cluster.cluster_id, {}, page_size=100)["results"]
    got = table.to_pylist()
    assert [r["run_id"] for r in got] == [r["run_id"] for r in listed]
    for exported, run in zip(got, listed, strict=True):
        assert exported["num_points"] == run["num_points"]
        assert exported["silhouette_score"] == (run["metrics"] or {}).get("silhouette_score")
        assert exported["duration_ms"] == run["duration_ms"]
        assert exported["created_at"].isoformat().replace("+00:00", "Z") == run["created_at"]


def test_an_empty_history_exports_a_header_or_an_empty_file(http, session_factory) -> None:
    cluster = make_cluster(session_factory)
    header, rows = csv_rows(export(http, cluster.cluster_id, "csv"))
    assert header == [c.name for c in RUN_COLUMNS] and rows == []
    assert export(http, cluster.cluster_id, "ndjson") == b""
    table = pq.read_table(io.BytesIO(export(http, cluster.cluster_id, "parquet")))
    assert table.num_rows == 0 and table.schema.names == [c.name for c in RUN_COLUMNS]


def test_the_response_says_what_it_is(http, session_factory) -> None:
    cluster = make_cluster(session_factory)
    response = http.post(export_path(cluster.cluster_id), params={"format": "parquet"}, json={})
    assert response.headers["content-type"] == "application/vnd.apache.parquet"
    assert response.headers["content-disposition"] == f'attachment; filename="{cluster.cluster_name}-runs.parquet"'
    response = http.post(export_path(cluster.cluster_id), params={"format": "csv"})  # no body: everything
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")


@pytest.mark.parametrize(
    ("params", "body", "loc", "fragment"),
    [
        ({"format": "xlsx"}, {}, "query.format", "csv"),
        ({}, {}, "query.format", "required"),
        ({"format": "csv"}, {"stats_scope": "all"}, "body", "accepted keys"),
        ({"format": "csv"}, {"config_fields": ["config.nope"]}, "config_fields", "config.params.<name>"),
        ({"format": "csv"}, {"config_fields": [f"config.params.p{i}" for i in range(33)]}, "config_fields", "32"),
        ({"format": "csv"}, {"config_fields": ["config.sample_size", "config.sample_size"]}, "config_fields", "twice"),
        ({"format": "ndjson"}, {"config_fields": ["config.algorithm"]}, "config_fields", "csv and parquet"),
        ({"format": "csv"}, {"sort": {"field": "centroids"}}, "sort.field", "centroids"),
    ],
)
def test_bad_requests_are_422_before_anything_streams(http, session_factory, params, body, loc, fragment) -> None:
    cluster = make_cluster(session_factory)
    response = http.post(export_path(cluster.cluster_id), params=params, json=body)
    problem = assert_problem(response, 422)
    assert any(e["loc"] == loc and fragment in e["message"] for e in problem["errors"]), problem


def test_a_bad_filter_names_the_node_and_an_unknown_cluster_is_404(http, session_factory) -> None:
    cluster = make_cluster(session_factory)
    response = http.post(
        export_path(cluster.cluster_id),
        params={"format": "csv"},
        json={"filters": {"field": "metrics.nope", "operator": "gt", "value": 1}},
    )
    assert_problem(response, 422, "invalid_filter")
    response = http.post(export_path("cl_missing"), params={"format": "csv"}, json={})
    assert_problem(response, 404, "not_found")


# ---------------------------------------------------------------- members


def members_path(cluster_id: str, run_id: str) -> str:
    return f"/v1/clusters/{cluster_id}/executions/{run_id}/members/export"


@pytest.fixture
def clustered(session_factory) -> dict[str, Any]:
    """A completed run over 30 documents (two clusters and noise) whose documents carry metadata."""
    collection = make_collection(session_factory)
    docs = [
        {"document_id": f"doc-{i:03d}", "text": f"text {i}", "metadata": {"lang": "en" if i % 2 else "de", "n": i}}
        for i in range(30)
    ]
    docs[4]["metadata"] = {"lang": "fr", "src": {"site": "forum", "tags": ["a", "b"]}}
    make_documents(session_factory, collection, docs)
    cluster = make_cluster(session_factory, collection_ids=[collection.collection_id])
    centroids = [
        {"cluster_id": "cl_0", "num_members": 15, "label": "Billing"},
        {"cluster_id": "cl_1", "num_members": 12, "label": None},
    ]
    [run_id] = make_runs(
        session_factory,
        cluster,
        [
            {
                "status": "completed",
                "num_points": 30,
                "num_clusters": 2,
                "centroids": centroids,
                "config": {"collection_ids": [collection.collection_id]},
            }
        ],
    )
    assignment = {d["document_id"]: ("cl_0" if i < 15 else "cl_1" if i < 27 else None) for i, d in enumerate(docs)}
    with session_factory() as session, session.begin():
        ids_ = list(assignment)
        insert_members(
            session,
            run_id,
            ids_,
            [assignment[i] for i in ids_],
            [None if assignment[i] is None else k / 10 for k, i in enumerate(ids_)],
        )
    return {"cluster": cluster, "run_id": run_id, "assignment": assignment}


def test_members_export_in_csv_with_labels_and_metadata(http, clustered, monkeypatch) -> None:
    monkeypatch.setattr(walks, "MEMBER_BATCH", 4)  # eight batches: the metadata lookups of each batch
    cluster, run_id = clustered["cluster"], clustered["run_id"]
    response = http.get(
        members_path(cluster.cluster_id, run_id),
        params={"format": "csv", "fields": ["metadata.lang,metadata.src.site", "metadata.n"]},
    )
    assert response.status_code == 200, response.text
    header, rows = csv_rows(response.content)
    assert header == [
        "document_id",
        "cluster_id",
        "label",
        "distance",
        "metadata.lang",
        "metadata.src.site",
        "metadata.n",
    ]
    assert [r["document_id"] for r in rows] == sorted(clustered["assignment"])
    by_id = {r["document_id"]: r for r in rows}
    assert by_id["doc-001"] | {} == {
        "document_id": "doc-001",
        "cluster_id": "cl_0",
        "label": "Billing",
        "distance": "0.1",
        "metadata.lang": "en",
        "metadata.src.site": "",
        "metadata.n": "1",
    }
    assert by_id["doc-004"]["metadata.src.site"] == "forum" and by_id["doc-004"]["metadata.n"] == ""
    assert by_id["doc-020"]["cluster_id"] == "cl_1" and by_id["doc-020"]["label"] == ""
    noise = by_id["doc-028"]
    assert noise["cluster_id"] == "" and noise["label"] == "" and noise["distance"] == ""


def test_members_export_in_parquet_keeps_types_and_metadata_as_json(http, clustered) -> None:
    cluster, run_id = clustered["cluster"], clustered["run_id"]
    params = {"format": "parquet", "fields": ["metadata.src", "metadata.n"]}
    response = http.get(members_path(cluster.cluster_id, run_id), params=params)
    assert response.status_code == 200, response.text
    table = pq.read_table(io.BytesIO(response.content))
    assert table.schema.field("distance").type == pa.float64()
    assert table.schema.field("metadata.src").type == pa.string()
    rows = {r["document_id"]: r for r in table.to_pylist()}
    assert len(rows) == 30
    assert json.loads(rows["doc-004"]["metadata.src"]) == {"site": "forum", "tags": ["a", "b"]}
    assert json.loads(rows["doc-007"]["metadata.n"]) == 7 and rows["doc-007"]["metadata.src"] is None
    assert rows["doc-029"]["cluster_id"] is None and rows["doc-029"]["distance"] is None


def test_members_export_refuses_bad_fields_and_unknown_runs(http, clustered) -> None:
    cluster, run_id = clustered["cluster"], clustered["run_id"]
    path = members_path(cluster.cluster_id, run_id)
    assert_invalid(http.get(path, params={"format": "csv", "fields": "text"}), "query.fields", "metadata.<key>")
    many = ",".join(f"metadata.k{i}" for i in range(33))
    assert_invalid(http.get(path, params={"format": "csv", "fields": many}), "query.fields", "at most 32")
    assert_invalid(http.get(path, params={"format": "ndjson"}), "query.format", "csv")
    assert_problem(http.get(members_path(cluster.cluster_id, "run_nope"), params={"format": "csv"}), 404, "not_found")


def test_a_run_without_members_exports_the_header_only(http, session_factory) -> None:
    cluster = make_cluster(session_factory)
    [run_id] = make_runs(session_factory, cluster, [{"status": "pending"}])
    response = http.get(members_path(cluster.cluster_id, run_id), params={"format": "csv"})
    assert response.status_code == 200
    assert response.text == "document_id,cluster_id,label,distance\n"


# ---------------------------------------------------------------- documents


def test_documents_export_as_import_lines_in_id_order_and_filtered(http, session_factory, monkeypatch) -> None:
    monkeypatch.setattr(walks, "DOCUMENT_BATCH", 3)
    collection = make_collection(session_factory)
    docs = [
        {"document_id": f"d{i}", "text": f"t{i}", "metadata": {"k": i % 2}, "vector": [i, 0.5, -1.25]} for i in range(8)
    ]
    make_documents(session_factory, collection, docs)
    path = f"/v1/collections/{collection.collection_name}/documents/export"
    response = http.post(path, params={"format": "ndjson"})
    assert response.status_code == 200, response.text
    lines = ndjson_rows(response.content)
    assert lines[0] == {"id": "d0", "text": "t0", "vector": [0.0, 0.5, -1.25], "metadata": {"k": 0}}
    assert [line["id"] for line in lines] == [f"d{i}" for i in range(8)]
    filtered = http.post(path, json={"filters": {"metadata.k": 1}})
    assert [line["id"] for line in ndjson_rows(filtered.content)] == ["d1", "d3", "d5", "d7"]
    assert_invalid(http.post(path, params={"format": "csv"}), "query.format", "ndjson only")
    assert_problem(http.post("/v1/collections/nope/documents/export"), 404, "not_found")


def test_export_ids_match_listing_ids_for_a_search(http, session_factory) -> None:
    cluster = make_cluster(session_factory)
    make_zoo(session_factory, cluster)
    body = {"search": "refund", "sort": {"field": "num_points", "direction": "asc"}}
    listed = ids(ok_list(http, cluster.cluster_id, body, page_size=100))
    assert listed and [r["run_id"] for r in ndjson_rows(export(http, cluster.cluster_id, "ndjson", body))] == listed


# ---------------------------------------------------------------- streaming


def _export_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "clusterbook-export"]


def test_a_failure_midway_cuts_the_body_short_instead_of_ending_it(http, session_factory, monkeypatch) -> None:
    monkeypatch.setattr(walks, "RUN_BATCH", 5)
    cluster = make_cluster(session_factory)
    make_history(session_factory, cluster, 30)
    real = walks.KeysetWalk.next_batch
    calls = {"n": 0}

    def failing(self):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("the database went away")
        return real(self)

    monkeypatch.setattr(walks.KeysetWalk, "next_batch", failing)
    with pytest.raises(httpx.RemoteProtocolError):
        http.post(export_path(cluster.cluster_id), params={"format": "csv"}, json={})
    monkeypatch.setattr(walks.KeysetWalk, "next_batch", real)
    assert len(csv_rows(export(http, cluster.cluster_id, "csv"))[1]) == 30  # the server is fine


def test_a_client_that_leaves_stops_the_export(live_server, session_factory, monkeypatch) -> None:
    monkeypatch.setattr(walks, "RUN_BATCH", 2)
    cluster = make_cluster(session_factory)
    make_history(session_factory, cluster, 400)
    real = walks.KeysetWalk.next_batch
    calls = {"n": 0}

    def slow(self):  # 200 batches of 0.05 s: ten seconds unless the export stops when the client leaves
        calls["n"] += 1
        time.sleep(0.05)
        return real(self)

    monkeypatch.setattr(walks.KeysetWalk, "next_batch", slow)
    before = len(_export_threads())
    with (
        httpx.Client(base_url=live_server.url, timeout=30) as client,
        client.stream("POST", export_path(cluster.cluster_id), params={"format": "csv"}, json={}) as response,
    ):
        assert response.status_code == 200
        assert next(response.iter_bytes()).startswith(b"run_id,")
    # the connection is closed after one chunk of ~200 batches
    deadline = time.monotonic() + 4
    while len(_export_threads()) > before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(_export_threads()) == before
    assert calls["n"] < 100, calls


def test_a_batch_past_the_query_budget_is_a_422_naming_the_export(tight, heavy_cluster) -> None:  # noqa: F811
    with httpx.Client(base_url=tight.url, timeout=60) as client:
        response = client.post(export_path(heavy_cluster.cluster_id), params={"format": "csv"}, json=hostile_filter())
        body = assert_problem(response, 422, "query_timeout")
        assert "each batch of 2000 runs of an export" in body["detail"]
        assert "text condition" in body["detail"]
        # the server is fine afterwards: a cheap export of the same cluster answers
        assert client.post(export_path(heavy_cluster.cluster_id), params={"format": "csv"}, json={}).status_code == 200
