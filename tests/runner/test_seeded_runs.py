"""A seeded database is a working one: ``clusterbook seed`` writes in-flight runs a real
``clusterbook worker`` completes (logging each run's end once), and neither command prints the
database password."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url

from clusterbook.store.db import display_url, make_engine
from clusterbook.store.tables import executions

CLI = [sys.executable, "-m", "clusterbook.cli"]
ENV = {k: v for k, v in os.environ.items() if not k.startswith("CLUSTERBOOK_")}
PASSWORD = "s3cret-pw"


def with_password(db_url: str) -> str:
    """The same database behind a URL that carries a password (the test PostgreSQL trusts any)."""
    parsed = make_url(db_url)
    if parsed.get_backend_name() != "postgresql":
        return db_url
    return parsed.set(password=PASSWORD).render_as_string(hide_password=False)


def runs(url: str) -> dict[str, tuple[str, str | None, str | None]]:
    engine = make_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(
            select(executions.c.run_id, executions.c.status, executions.c.error_message, executions.c.error_traceback)
        ).all()
    engine.dispose()
    return {r.run_id: (r.status, r.error_message, r.error_traceback) for r in rows}


@pytest.mark.slow
def test_seeded_live_runs_are_computed_by_a_worker_and_no_password_is_printed(db_url: str) -> None:
    url = with_password(db_url)
    seeded = subprocess.run(
        [*CLI, "seed", "--executions", "400", "--clusters", "2", "--database-url", url],
        capture_output=True,
        text=True,
        timeout=300,
        env=ENV,
    )
    assert seeded.returncode == 0, seeded.stderr
    before = runs(db_url)
    live = {run_id for run_id, (status, _, _) in before.items() if status in ("pending", "processing")}
    assert {before[r][0] for r in live} == {"pending", "processing"}, "the seed writes both kinds of live run"

    worker = subprocess.Popen(
        [*CLI, "worker", "--workers", "1", "--database-url", url],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**ENV, "CLUSTERBOOK_LEASE_SECONDS": "20", "CLUSTERBOOK_POLL_SECONDS": "0.2"},
    )
    try:
        deadline = time.monotonic() + 240
        while True:
            after = runs(db_url)
            if all(after[r][0] in ("completed", "failed", "canceled") for r in live):
                break
            assert worker.poll() is None, "the worker exited"
            assert time.monotonic() < deadline, {r: after[r] for r in live}
            time.sleep(0.5)
    finally:
        worker.terminate()
        out, _ = worker.communicate(timeout=60)
    assert {after[r] for r in live} == {("completed", None, None)}, {r: after[r] for r in live}
    assert {r: v for r, v in after.items() if r not in live} == {r: v for r, v in before.items() if r not in live}

    for run_id in live:  # each run's end is logged once, truthfully, by the process that computed it
        assert out.count(f"run {run_id} completed in") == 1, out
    assert "reclaimed" not in out and "canceled" not in out, out

    printed = seeded.stdout + seeded.stderr + out
    assert PASSWORD not in printed
    assert display_url(url) in seeded.stderr.replace("\n", "") and display_url(url) in out.replace("\n", "")
    if url != db_url:
        assert ":***@" in display_url(url)
