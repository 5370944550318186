"""Uploads share a budget of bytes in flight: one that finds no room waits a bounded time, then gets a
503 with Retry-After; when the upload holding the room ends, the next one gets in. Real HTTP, both
databases; the held upload is a real socket whose body is sent in two halves."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest

from clusterbook.api.background import BackgroundServer
from clusterbook.api.limits import UploadGate
from clusterbook.settings import Settings
from tests.api.helpers import assert_problem

BUDGET = 64 * 1024


def _gate(server: BackgroundServer) -> UploadGate:
    app: Any = server.app.middleware_stack
    while not isinstance(app, UploadGate):
        app = app.app
    return app


def _until(condition, what: str) -> None:
    """Wait for a state of the server (a synchronisation point, not a timing assertion)."""
    deadline = time.monotonic() + 30
    while not condition():
        assert time.monotonic() < deadline, f"the server never reached: {what}"
        time.sleep(0.01)


def _body(n: int, prefix: str) -> bytes:
    docs = [{"document_id": f"{prefix}{i}", "text": "x" * 200} for i in range(n)]
    return json.dumps({"documents": docs}).encode()


class HeldUpload:
    """An upload whose headers and first half are sent; ``finish()`` sends the rest and reads the answer."""

    def __init__(self, server: BackgroundServer, body: bytes) -> None:
        self.body = body
        self.sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
        head = (
            f"POST /v1/collections/up/documents HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        ).encode()
        self.sock.sendall(head + body[: len(body) // 2])

    def finish(self) -> str:
        self.sock.sendall(self.body[len(self.body) // 2 :])
        answer = b""
        while chunk := self.sock.recv(65536):
            answer += chunk
        self.sock.close()
        return answer.decode().split("\r\n", 1)[0]


@pytest.fixture
def budget_server(db_url: str, request: pytest.FixtureRequest) -> Iterator[BackgroundServer]:
    wait = getattr(request, "param", 0.0)
    settings = Settings(
        database_url=db_url, secret_key="test-signing-key", upload_budget_bytes=BUDGET, upload_wait_seconds=wait
    )
    with BackgroundServer(settings) as server:
        yield server


def test_an_upload_beyond_the_budget_gets_503_with_retry_after_then_room_after_the_first(budget_server):
    import httpx

    with httpx.Client(base_url=budget_server.url, timeout=30) as http:
        assert http.post("/v1/collections", json={"collection_name": "up"}).status_code == 201
        gate = _gate(budget_server)
        first = _body(200, "a")  # ~45 KB: most of the 64 KiB budget
        held = HeldUpload(budget_server, first)
        _until(lambda: gate.in_flight == len(first), "the first upload holds its bytes")
        refused = http.post("/v1/collections/up/documents", content=_body(100, "b"))
        body = assert_problem(refused, 503, "service_unavailable")
        assert refused.headers["retry-after"] == "1"
        assert "CLUSTERBOOK_UPLOAD_BUDGET_BYTES" in body["detail"]
        small = http.post("/v1/collections/up/documents", json={"documents": [{"document_id": "s", "text": "t"}]})
        assert small.status_code == 200, small.text  # a small upload still fits beside it
        assert held.finish() == "HTTP/1.1 200 OK"
        _until(lambda: gate.in_flight == 0, "the first upload released its bytes")
        again = http.post("/v1/collections/up/documents", content=_body(100, "b"))
        assert again.status_code == 200, again.text
        assert http.get("/v1/collections/up").json()["document_count"] == 301
        # A body larger than the whole budget still runs (alone), counted as the whole budget.
        whole = http.post("/v1/collections/up/documents", content=_body(400, "c"))
        assert whole.status_code == 200, whole.text


@pytest.mark.parametrize("budget_server", [30.0], indirect=True)
def test_an_upload_without_room_waits_for_it(budget_server):
    import threading

    import httpx

    with httpx.Client(base_url=budget_server.url, timeout=60) as http:
        assert http.post("/v1/collections", json={"collection_name": "up"}).status_code == 201
        gate = _gate(budget_server)
        first = _body(200, "a")
        held = HeldUpload(budget_server, first)
        _until(lambda: gate.in_flight == len(first), "the first upload holds its bytes")
        answers: list[httpx.Response] = []
        waiting = threading.Thread(
            target=lambda: answers.append(http.post("/v1/collections/up/documents", content=_body(100, "b")))
        )
        waiting.start()
        _until(lambda: gate._room is not None and len(gate._room._waiters) == 1, "the second upload waits")
        assert gate.in_flight == len(first)  # it has not started beside the first
        assert held.finish() == "HTTP/1.1 200 OK"
        waiting.join(60)
        assert answers and answers[0].status_code == 200, answers
        assert http.get("/v1/collections/up").json()["document_count"] == 300
