"""The SDK's exports against a live server on both databases: ``client.executions.export`` (sync and
async) streams the same runs the listing returns into a file, ``export_members`` and
``client.documents.export`` too; errors come back as the server's exception classes and leave no
file behind, and a response that breaks off midway leaves no truncated file under the name asked for."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import socket
import threading
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from clusterbook.client import AsyncClient, Client, ConnectionFailed, F
from clusterbook.errors import NotFound, ValidationFailed
from clusterbook.store import exports as walks
from clusterbook.store.queue import insert_members
from tests.factories import make_collection, make_documents, make_runs


def test_export_streams_the_listing_runs_into_a_file(client: Client, zoo, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(walks, "RUN_BATCH", 3)
    monkeypatch.setattr(walks, "WIRE_RUN_BATCH", 3)
    filters = F.status.in_(["completed", "failed"])
    listed = [r.run_id for r in client.executions.iter(zoo.cluster_id, filters=filters, sort="-num_points")]
    target = tmp_path / "runs.parquet"
    written = client.executions.export(
        zoo.cluster_id,
        to=target,
        format="parquet",
        filters=filters,
        sort="-num_points",
        config_fields=["config.random_state"],
    )
    assert written == target.stat().st_size and not (tmp_path / "runs.parquet.part").exists()
    table = pq.read_table(target)
    assert table.column("run_id").to_pylist() == listed
    assert "config.random_state" in table.schema.names
    buffer = io.BytesIO()  # an open binary file works too
    client.executions.export("zoo", to=buffer, format="ndjson", search="refund")
    lines = [json.loads(line) for line in buffer.getvalue().decode().splitlines()]
    assert [line["run_id"] for line in lines] == [r.run_id for r in client.executions.iter("zoo", search="refund")]


def test_export_errors_are_the_servers_exceptions_and_leave_no_file(client: Client, zoo, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    target = out / "runs.csv"
    with pytest.raises(ValidationFailed) as caught:
        client.executions.export(zoo.cluster_id, to=target, config_fields=["config.unknown"])
    assert caught.value.errors[0].loc == "config_fields"
    with pytest.raises(NotFound):
        client.executions.export("no-such-cluster", to=target)
    with pytest.raises(TypeError):
        client.executions.export(zoo.cluster_id, to=target, config_fields="config.random_state")  # type: ignore[arg-type]
    assert list(out.iterdir()) == []


def test_async_export_of_runs_members_and_documents(live_server, session_factory, tmp_path: Path) -> None:
    collection = make_collection(session_factory)
    docs = [{"document_id": f"d{i}", "text": f"t{i}", "metadata": {"lang": "en"}} for i in range(5)]
    make_documents(session_factory, collection, docs)
    from tests.factories import make_cluster

    cluster = make_cluster(session_factory, collection_ids=[collection.collection_id])
    [run_id] = make_runs(
        session_factory,
        cluster,
        [{"status": "completed", "centroids": [{"cluster_id": "cl_0", "num_members": 5, "label": "All"}],
          "config": {"collection_ids": [collection.collection_id]}}],
    )  # fmt: skip
    with session_factory() as session, session.begin():
        insert_members(session, run_id, [f"d{i}" for i in range(5)], ["cl_0"] * 5, [0.5] * 5)

    async def main() -> None:
        async with AsyncClient(live_server.url, retries=0) as client:
            await client.executions.export(cluster.cluster_id, to=tmp_path / "runs.csv")
            await client.executions.export_members(
                cluster.cluster_id, run_id, to=tmp_path / "members.csv", fields=["metadata.lang"]
            )
            await client.documents.export(collection.collection_name, to=tmp_path / "docs.jsonl")

    asyncio.run(main())
    runs = list(csv.DictReader(io.StringIO((tmp_path / "runs.csv").read_text())))
    assert [r["run_id"] for r in runs] == [run_id]
    members = list(csv.DictReader(io.StringIO((tmp_path / "members.csv").read_text())))
    assert [(m["document_id"], m["label"], m["metadata.lang"]) for m in members] == [
        (f"d{i}", "All", "en") for i in range(5)
    ]
    lines = [json.loads(line) for line in (tmp_path / "docs.jsonl").read_text().splitlines()]
    assert lines == [{"id": f"d{i}", "text": f"t{i}", "metadata": {"lang": "en"}} for i in range(5)]


def _cut_short_server() -> tuple[str, threading.Thread]:
    """An HTTP server that answers one chunked 200, sends one chunk, then closes the connection."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)

    def serve() -> None:
        for _ in range(2):  # the first attempt and one retry
            conn, _ = listener.accept()
            with conn:
                conn.recv(65536)
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/csv\r\nTransfer-Encoding: chunked\r\n\r\n"
                             b"9\r\nrun_id,a\n\r\n")  # fmt: skip
        listener.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return f"http://127.0.0.1:{listener.getsockname()[1]}", thread


def test_a_response_cut_short_leaves_no_truncated_file(tmp_path: Path) -> None:
    url, thread = _cut_short_server()
    target = tmp_path / "runs.csv"
    with Client(url, retries=1, backoff=0.01) as client, pytest.raises(ConnectionFailed):
        client.executions.export("cl_x", to=target)
    thread.join(timeout=10)
    assert list(tmp_path.iterdir()) == []
