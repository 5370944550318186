"""Retries and error mapping over real sockets: a tiny scripted HTTP server answers 503s, drops
connections or sends problems; a port nobody listens on refuses connections."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from clusterbook.api.background import free_port
from clusterbook.client import AsyncClient, Client, ConnectionFailed
from clusterbook.errors import ClusterbookError, NotFound, ServiceUnavailable

RUN = {
    "run_id": "run_X",
    "cluster_id": "clust_X",
    "status": "pending",
    "num_clusters": 0,
    "num_points": 0,
    "created_at": "2026-01-01T00:00:00Z",
}
NOT_FOUND = {
    "type": "/problems/not_found",
    "title": "Not found",
    "status": 404,
    "detail": "cluster 'x' not found",
    "instance": "/v1/clusters/x",
    "code": "not_found",
}

Answer = tuple[int, Any, dict[str, str]] | None
"""(status, JSON body or text, headers), or None to drop the connection without answering."""


class Scripted:
    """Serves the scripted answers in order (the last one repeats) and records each request."""

    def __init__(self, answers: list[Answer]) -> None:
        self.answers = answers
        self.seen: list[str] = []
        script = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                if length:
                    self.rfile.read(length)
                script.seen.append(f"{self.command} {self.path}")
                answer = script.answers[min(len(script.seen), len(script.answers)) - 1]
                if answer is None:
                    self.close_connection = True
                    return
                status, body, headers = answer
                raw = body.encode() if isinstance(body, str) else json.dumps(body).encode()
                self.send_response(status)
                kind = "text/html" if isinstance(body, str) else "application/json"
                self.send_header("content-type", kind)
                self.send_header("content-length", str(len(raw)))
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(raw)

            do_GET = do_POST = _answer

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> Scripted:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture
def retry_log(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    with caplog.at_level(logging.INFO, logger="clusterbook.client"):
        yield caplog


def retries_logged(caplog: pytest.LogCaptureFixture) -> int:
    return sum("retrying" in r.getMessage() for r in caplog.records)


UNAVAILABLE: Answer = (503, {"code": "service_unavailable", "detail": "warming up", "status": 503}, {})
HEALTHY: Answer = (200, {"status": "ok"}, {})


def test_503_is_retried_until_the_server_answers() -> None:
    with Scripted([UNAVAILABLE, UNAVAILABLE, HEALTHY]) as server:
        with Client(server.url, retries=3, backoff=0.01) as client:
            assert client.health() == {"status": "ok"}
        assert server.seen == ["GET /healthz"] * 3


def test_503_is_retried_even_for_a_post_it_could_not_have_processed() -> None:
    with Scripted([UNAVAILABLE, (202, RUN, {})]) as server, Client(server.url, retries=2, backoff=0.01) as client:
        assert client.clusters.execute("x").run_id == "run_X"
        assert server.seen == ["POST /v1/clusters/x/execute"] * 2


def test_a_lasting_503_ends_as_service_unavailable_with_the_server_message(retry_log: pytest.LogCaptureFixture) -> None:
    with Scripted([UNAVAILABLE]) as server, Client(server.url, retries=2, backoff=0.01) as client:
        with pytest.raises(ServiceUnavailable) as caught:
            client.health()
        assert caught.value.message == "warming up" and caught.value.extra["status"] == 503
        assert len(server.seen) == 3 and retries_logged(retry_log) == 2


def test_retry_after_is_honoured() -> None:
    wait: Answer = (503, {"code": "service_unavailable", "detail": "busy"}, {"Retry-After": "0.3"})
    with Scripted([wait, HEALTHY]) as server, Client(server.url, retries=1, backoff=0.01) as client:
        started = time.monotonic()
        client.health()
        assert time.monotonic() - started >= 0.3


@pytest.mark.parametrize(
    ("answer", "error", "message"),
    [
        ((404, NOT_FOUND, {}), NotFound, "cluster 'x' not found"),
        ((409, {"code": "conflict", "detail": "taken"}, {}), ClusterbookError, "taken"),
        ((500, {"code": "internal_error", "detail": "boom"}, {}), ClusterbookError, "boom"),
        ((502, "<html>bad gateway</html>", {}), ClusterbookError, "HTTP 502 Bad Gateway from GET"),
    ],
)
def test_other_statuses_are_never_retried(answer: Answer, error: type[Exception], message: str) -> None:
    with Scripted([answer, HEALTHY]) as server, Client(server.url, retries=3, backoff=0.01) as client:
        with pytest.raises(error, match=message):
            client.health()
        assert len(server.seen) == 1


def test_a_dropped_connection_is_retried_only_when_the_call_is_idempotent() -> None:
    with Scripted([None, None, HEALTHY]) as server, Client(server.url, retries=3, backoff=0.01) as client:
        assert client.health() == {"status": "ok"}
        assert len(server.seen) == 3
    with Scripted([None, (202, RUN, {})]) as server, Client(server.url, retries=3, backoff=0.01) as client:
        with pytest.raises(ConnectionFailed, match="RemoteProtocolError"):
            client.clusters.execute("x")  # might have been submitted: sending it again could run it twice
        assert server.seen == ["POST /v1/clusters/x/execute"]


def test_connection_refused_is_retried_with_backoff_then_reported(retry_log: pytest.LogCaptureFixture) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with Client(url, retries=2, backoff=0.05) as client:
        started = time.monotonic()
        with pytest.raises(ConnectionFailed) as caught:
            client.clusters.list()
        elapsed = time.monotonic() - started
    err = caught.value
    assert (
        err.message
        == f"cannot reach the clusterbook server at {url}: connection refused or host unreachable after 3 attempts"
    )
    assert err.extra["attempts"] == 3 and isinstance(err, ServiceUnavailable)
    assert retries_logged(retry_log) == 2
    assert elapsed >= 0.05 + 0.1  # waited backoff, then twice that


def test_the_async_client_retries_alike(retry_log: pytest.LogCaptureFixture) -> None:
    async def scenario(url: str) -> dict[str, Any]:
        async with AsyncClient(url, retries=3, backoff=0.01) as client:
            return await client.health()

    with Scripted([UNAVAILABLE, None, HEALTHY]) as server:
        assert asyncio.run(scenario(server.url)) == {"status": "ok"}
        assert len(server.seen) == 3

    async def refused(url: str) -> None:
        async with AsyncClient(url, retries=1, backoff=0.01) as client:
            await client.clusters.get("x")

    with pytest.raises(ConnectionFailed, match="after 2 attempts"):
        asyncio.run(refused(f"http://127.0.0.1:{free_port()}"))

    async def not_found(url: str) -> None:
        async with AsyncClient(url, retries=3, backoff=0.01) as client:
            await client.clusters.get("x")

    with Scripted([(404, NOT_FOUND, {}), HEALTHY]) as server:
        with pytest.raises(NotFound, match="cluster 'x' not found"):
            asyncio.run(not_found(server.url))
        assert len(server.seen) == 1
