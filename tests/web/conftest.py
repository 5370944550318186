"""Browser tests: Debian's Chromium driven by Playwright against a real clusterbook server with a
known history, over real HTTP. No browser is ever downloaded (``playwright install`` is not used):
Chromium comes from the system (``apt-get install chromium``; ``make test`` installs it when it runs
as root with apt-get, via ``scripts/ensure-browser``). Without it these tests are skipped with a loud
reason, unless ``CLUSTERBOOK_REQUIRE_BROWSER=1`` (set by ``.ci/run``) turns the skip into a failure.

Screenshots go to ``$CLUSTERBOOK_ARTIFACTS`` (default ``test-artifacts/``), one per view worth
looking at, plus one of the page at the moment any browser test fails.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright
from sqlalchemy import insert, update
from sqlalchemy.orm import Session, sessionmaker

from clusterbook.api.background import BackgroundServer
from clusterbook.models.clusters import Cluster
from clusterbook.settings import Settings
from clusterbook.store.db import make_sessionmaker
from clusterbook.store.folded import with_folded
from clusterbook.store.tables import execution_projections, executions
from tests.factories import BASE_TIME, make_cluster, make_runs

CHROMIUM = os.environ.get("CLUSTERBOOK_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
]
REQUIRE_BROWSER = os.environ.get("CLUSTERBOOK_REQUIRE_BROWSER") == "1"
ARTIFACTS = Path(os.environ.get("CLUSTERBOOK_ARTIFACTS", "test-artifacts"))
TIMEOUT_MS = 15_000
LAPTOP = {"width": 1280, "height": 860}
PHONE = {"width": 390, "height": 844}

TOPICS = ["Billing", "Login", "Shipping", "Refunds", "Crashes", "Pricing", "Exports", "Security"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/web/" in item.nodeid.replace("\\", "/"):
            item.add_marker(pytest.mark.browser)


# --------------------------------------------------------------------------- the history


def history_specs(count: int = 127) -> list[dict[str, Any]]:
    """A known history, oldest first, one run every 3 hours from BASE_TIME: mostly completed, every
    10th failed (at 3) or canceled (at 7); run 42 is the only one about zebras; the newest two are
    in flight."""
    specs = []
    for i in range(count):
        created = BASE_TIME + timedelta(hours=3 * i)
        status = "failed" if i % 10 == 3 else "canceled" if i % 10 == 7 else "completed"
        if i == count - 1:
            status = "pending"
        elif i == count - 2:
            status = "processing"
        spec: dict[str, Any] = {
            "status": status,
            "created_at": created,
            "num_points": 100 + 10 * i,
            "algorithm": ["kmeans", "hdbscan", "agglomerative"][i % 3],
            "run_name": f"nightly-{i:03d}",
        }
        duration = 1000.0 + (i * 53 % 20) * 1000.0
        if status in ("completed", "failed", "canceled"):
            spec["started_at"] = created + timedelta(milliseconds=50)
            spec["completed_at"] = created + timedelta(milliseconds=duration)
            spec["duration_ms"] = duration
        if status == "processing":
            spec["started_at"] = created + timedelta(milliseconds=50)
        if status == "completed":
            k = 2 + i % 5
            spec["num_clusters"] = k
            spec["metrics"] = {
                "silhouette_score": round((i * 37 % 100) / 100, 2),
                "davies_bouldin_index": round(0.4 + (i % 9) / 5, 2),
                "calinski_harabasz_score": 100.0 + i,
            }
            labels = ["Zebra crossings" if i == 42 and j == 0 else TOPICS[(i + j) % len(TOPICS)] for j in range(k)]
            sizes = [max(1, (100 + 10 * i) // (j + 2)) for j in range(k)]
            spec["centroids"] = [
                {
                    "cluster_id": f"cl_{j}",
                    "num_members": sizes[j],
                    "label": labels[j],
                    "summary": f"Tickets about {labels[j].lower()}.",
                    "keywords": [labels[j].split()[0].lower(), "ticket"],
                }
                for j in range(k)
            ]
        if status == "failed":
            spec["error_message"] = f"Out of memory while clustering batch {i}: use minibatch_kmeans"
            spec["error_traceback"] = (
                "Traceback (most recent call last):\n"
                '  File "clusterbook/runner/worker.py", line 212, in run_execution\n'
                "    result = engine.fit(vectors, config)\n"
                f"MemoryError: Out of memory while clustering batch {i}"
            )
        specs.append(spec)
    return specs


HISTORY = history_specs()


@dataclass
class Site:
    """A running server with a seeded database, and handles to change the data behind its back."""

    url: str
    factory: sessionmaker[Session]
    clusters: dict[str, Cluster] = field(default_factory=dict)
    runs: dict[str, list[str]] = field(default_factory=dict)

    def set_run(self, run_id: str, **values: Any) -> None:
        with self.factory() as session, session.begin():
            session.execute(
                update(executions).where(executions.c.run_id == run_id).values(**with_folded(executions, values))
            )

    def add_projection(self, run_id: str, projection: dict[str, Any]) -> None:
        with self.factory() as session, session.begin():
            session.execute(insert(execution_projections).values(run_id=run_id, projection=projection))


def _start(template: Path, directory: Path) -> tuple[BackgroundServer, sessionmaker[Session]]:
    path = directory / "clusterbook.db"
    shutil.copy(template, path)
    server = BackgroundServer(Settings(database_url=f"sqlite:///{path}", secret_key="web-tests"))
    return server, make_sessionmaker(server.engine)


def seed_site(site: Site) -> None:
    history = make_cluster(site.factory, cluster_name="support-tickets", description="Tickets from the help desk")
    site.clusters["history"] = history
    site.runs["history"] = make_runs(site.factory, history, HISTORY)
    site.clusters["empty"] = make_cluster(site.factory, cluster_name="empty-cluster")
    detail = make_cluster(site.factory, cluster_name="product-reviews")
    site.clusters["detail"] = detail
    good = HISTORY[1] | {
        "run_name": "best-run",
        "metrics": {"silhouette_score": 0.62, "davies_bouldin_index": 0.71, "calinski_harabasz_score": 412.5},
    }
    site.runs["detail"] = make_runs(site.factory, detail, [good, HISTORY[3], HISTORY[-2]])
    points = [
        {
            "document_id": f"doc-{n}",
            "x": (n % 3) * 4 + (n % 7) / 7,
            "y": (n % 3) * 2 + (n % 5) / 5,
            "cluster_id": f"cl_{n % 3}",
        }
        for n in range(60)
    ] + [{"document_id": "doc-noise", "x": 1.0, "y": 9.0, "cluster_id": None}]
    site.add_projection(
        site.runs["detail"][0],
        {
            "points": points,
            "centroids": [{"cluster_id": f"cl_{c}", "x": c * 4 + 0.4, "y": c * 2 + 0.4} for c in range(3)],
            "sampled": len(points),
            "total": 130,
        },
    )


@pytest.fixture(scope="module")
def site(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """A server with the known history, shared by a module's tests that only read."""
    server, factory = _start(sqlite_template, tmp_path_factory.mktemp("site"))
    with server:
        found = Site(server.url, factory)
        seed_site(found)
        yield found


@pytest.fixture
def fresh_site(sqlite_template: Path, tmp_path: Path) -> Iterator[Site]:
    """A server of its own, for tests that change data."""
    server, factory = _start(sqlite_template, tmp_path)
    with server:
        found = Site(server.url, factory)
        seed_site(found)
        yield found


# --------------------------------------------------------------------------- the browser


# Module scope, not session: Playwright's sync API keeps an asyncio loop running in this thread while it
# lives, so a session-long instance made every later ``asyncio.run`` in the same worker (the async SDK
# tests) fail with "cannot be called from a running event loop" whenever they ran after a browser test.
@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        problem = (
            f"BROWSER TESTS NOT RUN: Chromium not found at {CHROMIUM}; install it (apt-get install -y chromium, "
            "never 'playwright install') or set CLUSTERBOOK_CHROMIUM"
        )
        if REQUIRE_BROWSER:
            pytest.fail(problem + " (CLUSTERBOOK_REQUIRE_BROWSER=1)")
        pytest.skip(problem)
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@dataclass
class Watch:
    """What a page did that a test should know about: errors, and requests that left the server."""

    origin: str
    errors: list[str] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)
    allowed_console: list[str] = field(default_factory=list)

    def allow(self, pattern: str) -> None:
        """Accept console messages matching ``pattern`` (e.g. the 404 a test provokes on purpose)."""
        self.allowed_console.append(pattern)


def new_context(browser: Browser, viewport: dict[str, int] = LAPTOP) -> BrowserContext:
    context = browser.new_context(viewport=viewport, timezone_id="UTC", locale="en-US", reduced_motion="reduce")
    context.set_default_timeout(TIMEOUT_MS)
    return context


def watch_page(page: Page, origin: str) -> Watch:
    watch = Watch(origin)
    page.on("pageerror", lambda exc: watch.errors.append(f"uncaught: {exc}"))
    page.on(
        "console", lambda msg: watch.errors.append(f"console.{msg.type}: {msg.text}") if msg.type == "error" else None
    )
    page.on(
        "request", lambda req: None if req.url.startswith((origin, "data:", "blob:")) else watch.foreign.append(req.url)
    )
    return watch


def check_watch(watch: Watch) -> None:
    unexpected = [e for e in watch.errors if not any(re.search(p, e) for p in watch.allowed_console)]
    assert not watch.foreign, f"the page reached outside the server: {watch.foreign}"
    assert not unexpected, f"the page logged errors: {unexpected}"


@dataclass
class Tab:
    page: Page
    site: Site
    watch: Watch

    def open(self, path: str) -> Page:
        self.page.goto(self.site.url + path)
        return self.page

    def shot(self, name: str) -> Path:
        return screenshot(self.page, name)


def screenshot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.wait_for_timeout(100)  # let a last repaint land
    page.screenshot(path=str(path), full_page=True)
    return path


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" and report.failed:
        tab = item.funcargs.get("tab") or item.funcargs.get("fresh_tab")  # type: ignore[attr-defined]
        if isinstance(tab, Tab):
            with contextlib.suppress(Exception):  # a screenshot must never hide the real failure
                screenshot(tab.page, f"FAILED-{re.sub(r'[^A-Za-z0-9_.-]+', '_', item.name)}")


def _tab(browser: Browser, site: Site) -> Iterator[Tab]:
    context = new_context(browser)
    page = context.new_page()
    tab = Tab(page, site, watch_page(page, site.url))
    yield tab
    context.close()
    check_watch(tab.watch)


@pytest.fixture
def tab(browser: Browser, site: Site) -> Iterator[Tab]:
    """A fresh browser context on the shared read-only site; fails the test on page errors."""
    yield from _tab(browser, site)


@pytest.fixture
def fresh_tab(browser: Browser, fresh_site: Site) -> Iterator[Tab]:
    """A fresh browser context on a site of its own."""
    yield from _tab(browser, fresh_site)
