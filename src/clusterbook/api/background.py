"""Serve the real app with uvicorn on a free localhost port in a background thread.

For end-to-end tests, benchmarks and embedding: real sockets and real HTTP, without a subprocess;
optionally with workers computing the runs it accepts.
"""

from __future__ import annotations

import socket
import threading
import time
from typing import TYPE_CHECKING

import uvicorn
from fastapi import FastAPI
from sqlalchemy import Engine

from clusterbook.api.app import create_app
from clusterbook.settings import Settings

if TYPE_CHECKING:
    from clusterbook.runner.worker import WorkerPool


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class BackgroundServer:
    """``with BackgroundServer(settings) as server: httpx.get(server.url + "/healthz")``."""

    def __init__(self, settings: Settings, *, startup_timeout: float = 30.0, workers: int = 0) -> None:
        self.port = free_port()
        self.app: FastAPI = create_app(settings)
        self.pool: WorkerPool | None = None
        if workers:
            from clusterbook.runner.worker import make_pool

            self.pool = make_pool(self.app.state.engine, settings, workers=workers)
            self.app.state.runner = self.pool
        self.startup_timeout = startup_timeout
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def engine(self) -> Engine:
        engine: Engine = self.app.state.engine
        return engine

    def __enter__(self) -> BackgroundServer:
        if self.pool is not None:
            self.pool.start()
        self.thread.start()
        deadline = time.monotonic() + self.startup_timeout
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError(f"clusterbook did not start on port {self.port}")
            time.sleep(0.01)
        return self

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        if self.pool is not None:
            self.pool.stop()
        self.engine.dispose()
