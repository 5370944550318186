"""Concurrent writers and readers against one server: every request answered, none lost.

SQLite allows one writer at a time; writing requests take the write lock when their transaction
begins, so a read-then-write request can never fail with "database is locked" half way.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.factories import make_cluster, make_history


def test_parallel_writes_and_reads_all_succeed(live_server, session_factory):
    history = make_cluster(session_factory)
    make_history(session_factory, history, 30)

    def write(worker: int) -> list[int]:
        codes = []
        with httpx.Client(base_url=live_server.url, timeout=60) as client:
            for i in range(8):
                created = client.post("/v1/clusters", json={"cluster_name": f"w{worker}-{i}"})
                codes.append(created.status_code)
                if created.status_code == 201:
                    cid = created.json()["cluster_id"]
                    codes.append(client.patch(f"/v1/clusters/{cid}", json={"description": "x"}).status_code)
        return codes

    def read(_: int) -> list[int]:
        with httpx.Client(base_url=live_server.url, timeout=60) as client:
            return [
                client.post(
                    f"/v1/clusters/{history.cluster_id}/executions/list", json={"search": "billing"}
                ).status_code
                for _ in range(10)
            ]

    with ThreadPoolExecutor(max_workers=12) as pool:
        writers = [pool.submit(write, n) for n in range(6)]
        readers = [pool.submit(read, n) for n in range(6)]
        codes = [code for future in writers + readers for code in future.result()]
    assert len(codes) == 6 * 8 * 2 + 6 * 10
    assert set(codes) <= {200, 201}, codes
    with httpx.Client(base_url=live_server.url) as client:
        assert client.post("/v1/clusters/list?page_size=100", json={}).json()["total_count"] == 1 + 6 * 8
