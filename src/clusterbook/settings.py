"""The one settings tree. Every value comes from ``CLUSTERBOOK_*`` environment variables or the CLI.

Nothing here connects to anything; ``create_app(settings)`` and the CLI build engines from it.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure_logging(level: str) -> None:
    """Logging of an entry point: the CLI's commands, and each run's own process, which the fork
    server starts without the parent's handlers (its lines would be dropped otherwise)."""
    logging.basicConfig(level=level.upper(), format=LOG_FORMAT)
    logging.getLogger("alembic").setLevel(logging.WARNING)


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity, which containers and ``taskset`` narrow)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - platforms without sched_getaffinity
        return max(1, os.cpu_count() or 1)


def default_database_url() -> str:
    """An SQLite file in the working directory: the embedded default needs no other service."""
    return f"sqlite:///{Path('clusterbook.db').resolve()}"


class Settings(BaseSettings):
    """Server configuration (environment prefix ``CLUSTERBOOK_``)."""

    model_config = SettingsConfigDict(env_prefix="CLUSTERBOOK_", extra="ignore")

    database_url: str = Field(default_factory=default_database_url)
    host: str = "127.0.0.1"
    port: int = 8000
    max_page_size: int = Field(default=100, ge=1, le=10_000)
    default_page_size: int = Field(default=10, ge=1)
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    max_upload_bytes: int = Field(
        default=64 * 1024 * 1024, ge=1024, description="Largest body of a document upload (POST …/documents)."
    )
    upload_budget_bytes: int = Field(
        default=128 * 1024 * 1024,
        ge=1024,
        description="Bytes of document uploads handled at once (by Content-Length, or max_upload_bytes without one); "
        "further uploads wait for room.",
    )
    upload_wait_seconds: float = Field(
        default=30.0, ge=0, description="How long an upload waits for room in the budget before a 503 with Retry-After."
    )
    secret_key: str | None = Field(
        default=None,
        description="Signs pagination cursors. When unset, a random key is generated once and kept in the database.",
    )
    insecure: bool = Field(
        default=False,
        description="Answer without API keys while none exists even when listening beyond loopback (`serve --insecure`).",
    )
    query_timeout: float = Field(
        default=5.0,
        gt=0,
        le=3600,
        description="Seconds a read request (listings, trends, overview, documents) may spend in the database; "
        "past it the query is stopped and the caller told which part of the request is expensive.",
    )
    max_unindexed_offset: int = Field(
        default=10_000,
        ge=0,
        description="Deepest offset accepted on a sort no index serves (e.g. by algorithm); deeper pages use "
        "pagination.next_cursor.",
    )
    sqlite_busy_timeout_ms: int = 30_000
    log_level: str = "info"
    # the runner
    workers: int = Field(
        default_factory=lambda: min(64, available_cores()),
        ge=0,
        le=64,
        description="Runs computed at once by `serve` and `worker` (0: API only); default: one per available core.",
    )
    compute_threads: int | None = Field(
        default=None,
        ge=1,
        le=256,
        description="BLAS/OpenMP threads of each run's process; default: available cores ÷ workers (at least 1).",
    )
    runner: Literal["local", "ray"] = Field(
        default="local",
        description="Where runs are computed: `local` (one forked process per run) or `ray` (one Ray task per run; "
        "needs the extra clusterbook[ray]).",
    )
    ray_address: str | None = Field(
        default=None,
        max_length=500,
        description="Ray cluster to join with the Ray runner (`auto`, `ray://host:10001`, or a GCS address); "
        "unset: start a local Ray with the available cores.",
    )
    heartbeat_seconds: float = Field(default=1.0, gt=0, description="How often a busy worker renews its lease.")
    lease_seconds: float = Field(default=30.0, gt=0, description="A run whose lease lapses this long is reclaimed.")
    max_attempts: int = Field(default=3, ge=1, description="Tries before a run whose worker keeps dying fails.")
    run_timeout_seconds: float = Field(default=3600.0, gt=0, description="A run computing longer than this fails.")
    size_limit_factor: float = Field(
        default=1.0,
        gt=0,
        le=1000,
        description="Scales every algorithm's declared size limit (documents and documents × dimensions per fit); "
        "a run beyond its limit is refused at submit (422 run_too_large).",
    )
    poll_seconds: float = Field(default=1.0, gt=0, description="How often an idle worker looks for pending runs.")
    scheduler_seconds: float = Field(
        default=5.0,
        ge=0,
        le=3600,
        description="How often the scheduler beside each worker pool fires due schedules (0: no scheduler in "
        "this process; another process's fires them).",
    )
    # webhook deliveries (runner/webhooks.py): sent by every worker pool, off the request and run paths
    webhook_timeout_seconds: float = Field(
        default=5.0, gt=0, le=60, description="How long one webhook delivery may take (connect, send, first answer)."
    )
    webhook_max_attempts: int = Field(
        default=8, ge=1, le=50, description="Tries of one webhook delivery before it is given up (status failed)."
    )
    webhook_backoff_seconds: float = Field(
        default=10.0, gt=0, le=3600, description="Wait before the first retry of a failed delivery; doubles each time."
    )
    webhook_backoff_max_seconds: float = Field(
        default=3600.0, gt=0, le=86400, description="The longest wait between two tries of one delivery."
    )
    webhook_concurrency: int = Field(
        default=4, ge=1, le=64, description="Webhook deliveries one worker pool sends at once."
    )
    webhook_poll_seconds: float = Field(
        default=1.0, gt=0, le=60, description="How often an idle delivery loop looks for due deliveries."
    )
    monitor_interval_seconds: float = Field(
        default=30.0,
        gt=0,
        le=3600,
        description="How often a worker pool evaluates every monitor (they are also evaluated when a run ends).",
    )
    llm_base_url: str | None = Field(default=None, description="Default OpenAI-compatible API for LLM labeling.")
    llm_api_key: str | None = Field(default=None, description="Key for the LLM API; never stored in the database.")

    @model_validator(mode="after")
    def _default_page_fits(self) -> Settings:
        if self.default_page_size > self.max_page_size:
            if "default_page_size" in self.model_fields_set:
                raise ValueError(
                    f"CLUSTERBOOK_DEFAULT_PAGE_SIZE ({self.default_page_size}) exceeds "
                    f"CLUSTERBOOK_MAX_PAGE_SIZE ({self.max_page_size})"
                )
            self.default_page_size = self.max_page_size  # only the maximum was lowered
        if self.heartbeat_seconds * 2 > self.lease_seconds:
            raise ValueError(
                f"CLUSTERBOOK_LEASE_SECONDS ({self.lease_seconds}) must be at least twice "
                f"CLUSTERBOOK_HEARTBEAT_SECONDS ({self.heartbeat_seconds}), or live runs would be reclaimed"
            )
        return self

    @property
    def webhook_lease_seconds(self) -> float:
        """How long a claimed delivery stays claimed: twice the send timeout plus room to record the
        answer. A worker that died mid-send frees its deliveries for another once this lapses."""
        return 2 * self.webhook_timeout_seconds + 2.0

    def thread_budget(self, workers: int | None = None) -> int:
        """Threads each compute process may use, so concurrent runs never oversubscribe the cores:
        library defaults (one thread per core in every process) made a 0.1 s run take seconds as
        soon as two runs, or a run and the API, competed."""
        if self.compute_threads is not None:
            return self.compute_threads
        return max(1, available_cores() // max(1, self.workers if workers is None else workers))
