"""LLM labeling against a real OpenAI-shaped HTTP server on localhost, and every way it can fail."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from clusterbook.demo import demo_documents
from clusterbook.engine import EngineResult, LLMSettings, run_pipeline
from tests.engine.conftest import demo_input


@dataclass
class FakeLLM:
    """What the server answers (``mode``) and what it received."""

    mode: str = "ok"
    requests: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""


class _Handler(BaseHTTPRequestHandler):
    server: Any

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        fake: FakeLLM = self.server.fake
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        fake.requests.append({"path": self.path, "auth": self.headers.get("Authorization"), "body": body})
        if fake.mode == "slow":
            time.sleep(1.0)
        if fake.mode == "error":
            return self._send(500, {"error": {"message": "model overloaded"}})
        if fake.mode == "unauthorized":
            return self._send(401, {"error": {"message": "bad key"}})
        n = len(fake.requests)
        answer = {"label": f"LLM topic {n}", "summary": f"LLM summary {n}", "keywords": ["alpha", "beta"]}
        content = "not json at all" if fake.mode == "garbage" else f"```json\n{json.dumps(answer)}\n```"
        self._send(
            200,
            {
                "id": "x",
                "object": "chat.completion",
                "choices": [
                    {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
                ],
            },
        )

    def _send(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that timed out and hung up is expected here


@pytest.fixture
def fake_llm() -> Iterator[FakeLLM]:
    server = _Server(("127.0.0.1", 0), _Handler)
    server.fake = FakeLLM(url=f"http://127.0.0.1:{server.server_address[1]}/v1")  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server.fake  # type: ignore[attr-defined]
    server.shutdown()
    server.server_close()


DOCS = demo_documents(per_topic=10)


def _run(settings: LLMSettings) -> EngineResult:
    return run_pipeline(demo_input(DOCS, params={"n_clusters": 6}, llm=settings))


def _errors(result: EngineResult) -> list[dict[str, Any]]:
    return [json.loads(e) for e in result.llm_labeling_errors]


def test_labels_come_from_the_model(fake_llm: FakeLLM) -> None:
    result = _run(LLMSettings(base_url=fake_llm.url, model="tiny-model", api_key="sekret"))
    assert result.llm_labeling_errors == []
    assert sorted(c.label for c in result.centroids) == [f"LLM topic {n}" for n in range(1, 7)]
    assert all(c.summary and c.summary.startswith("LLM summary") for c in result.centroids)
    assert all(c.keywords == ["alpha", "beta"] for c in result.centroids)
    assert len(fake_llm.requests) == 6
    request = fake_llm.requests[0]
    assert request["path"] == "/v1/chat/completions" and request["auth"] == "Bearer sekret"
    assert request["body"]["model"] == "tiny-model"
    prompt = request["body"]["messages"][-1]["content"]
    assert prompt.startswith("Keywords: ") and "Representative documents:\n1. " in prompt


def test_without_summary_and_keywords_only_the_label_is_taken(fake_llm: FakeLLM) -> None:
    settings = LLMSettings(base_url=fake_llm.url, model="m", include_summary=False, include_keywords=False)
    result = _run(settings)
    assert all(c.label.startswith("LLM topic") for c in result.centroids)
    assert all(c.keywords != ["alpha", "beta"] and len(c.keywords) == 8 for c in result.centroids)
    assert all(c.summary and not c.summary.startswith("LLM") for c in result.centroids)
    assert fake_llm.requests[0]["auth"] is None
    assert "summary" not in fake_llm.requests[0]["body"]["messages"][0]["content"]


def _keyword_labels_kept(result: EngineResult) -> None:
    assert all(c.label == " / ".join(c.keywords[:3]) and len(c.keywords) == 8 for c in result.centroids)


def test_server_errors_keep_keyword_labels_and_are_recorded(fake_llm: FakeLLM) -> None:
    fake_llm.mode = "error"
    result = _run(LLMSettings(base_url=fake_llm.url, model="m"))
    _keyword_labels_kept(result)
    (error,) = _errors(result)
    assert (
        error["error"]
        == f'{fake_llm.url}/chat/completions answered HTTP 500: {{"error": {{"message": "model overloaded"}}}}'
    )
    assert error["clusters"] == [f"cl_{n}" for n in range(6)]
    assert len(fake_llm.requests) == 6  # a 5xx may be transient: every cluster is tried


def test_a_4xx_stops_after_the_first_request(fake_llm: FakeLLM) -> None:
    fake_llm.mode = "unauthorized"
    result = _run(LLMSettings(base_url=fake_llm.url, model="m", api_key="wrong"))
    _keyword_labels_kept(result)
    (error,) = _errors(result)
    assert "answered HTTP 401" in error["error"] and len(error["clusters"]) == 6
    assert len(fake_llm.requests) == 1


def test_unparsable_answers_are_recorded(fake_llm: FakeLLM) -> None:
    fake_llm.mode = "garbage"
    result = _run(LLMSettings(base_url=fake_llm.url, model="m"))
    _keyword_labels_kept(result)
    (error,) = _errors(result)
    assert error["error"].startswith("the model's answer is not the JSON object asked for")


def test_a_timeout_stops_further_requests(fake_llm: FakeLLM) -> None:
    fake_llm.mode = "slow"
    result = _run(LLMSettings(base_url=fake_llm.url, model="m", timeout_s=0.2))
    _keyword_labels_kept(result)
    (error,) = _errors(result)
    assert error["error"] == f"no answer from {fake_llm.url}/chat/completions within 0.2 s"
    assert error["clusters"] == [f"cl_{n}" for n in range(6)]
    assert len(fake_llm.requests) == 1


def test_a_closed_port_never_fails_the_run() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = _run(LLMSettings(base_url=f"http://127.0.0.1:{port}/v1", model="m"))
    _keyword_labels_kept(result)
    (error,) = _errors(result)
    assert error["error"].startswith(f"could not reach http://127.0.0.1:{port}/v1/chat/completions: ")
    assert error["clusters"] == [f"cl_{n}" for n in range(6)]
