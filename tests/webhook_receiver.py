"""A real HTTP receiver for webhook tests: a threaded HTTP server on localhost that records every
request (headers and raw body) and answers what the test scripts — a status per request, or a
hold until the test releases it (a slow endpoint, or one whose worker gets killed mid-send)."""

from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PORTS = range(8120, 8130)
"""The port range these tests may listen on."""


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Receiver:
    """``with Receiver(statuses=[500, 200]) as rx: ... rx.wait_for(2)``. After the scripted statuses
    it answers ``default``. ``hold`` makes every request wait for :meth:`release` before answering."""

    def __init__(self, statuses: list[int] | None = None, default: int = 200, hold: bool = False) -> None:
        self.statuses = list(statuses or [])
        self.default = default
        self.received: list[Received] = []
        self.arrived = threading.Condition()
        self.released = threading.Event()
        if not hold:
            self.released.set()
        self.server = self._bind()
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def _bind(self) -> ThreadingHTTPServer:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with receiver.arrived:
                    receiver.received.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                    status = receiver.statuses.pop(0) if receiver.statuses else receiver.default
                    receiver.arrived.notify_all()
                receiver.released.wait(60)
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "text/plain")
                    answer = b"ok" if status < 300 else b"receiver says no"
                    self.send_header("Content-Length", str(len(answer)))
                    self.end_headers()
                    self.wfile.write(answer)
                except OSError:  # the sender went away (killed, or timed out)
                    pass

            def log_message(self, *_: Any) -> None:
                pass

        for port in PORTS:
            try:
                server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
            except OSError:
                continue
            server.daemon_threads = True
            return server
        raise RuntimeError(f"no free port in {PORTS.start}-{PORTS.stop - 1} for the webhook receiver")

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}/hook"

    def release(self) -> None:
        self.released.set()

    def wait_for(self, count: int, timeout: float = 60.0) -> list[Received]:
        """Block until ``count`` requests arrived; fail after ``timeout``."""
        deadline = time.monotonic() + timeout
        with self.arrived:
            while len(self.received) < count:
                left = deadline - time.monotonic()
                assert left > 0, f"the receiver got {len(self.received)} requests, expected {count}"
                self.arrived.wait(left)
            return list(self.received)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.released.set()
        self.server.shutdown()
        self.server.server_close()


def closed_port_url() -> str:
    """A URL in the range where nothing listens (a dead endpoint)."""
    for port in PORTS:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return f"http://127.0.0.1:{port}/dead"
    raise RuntimeError("no free port in the receiver range")
