"""Runs in flight update on screen without a reload: the database changes behind the page's back,
the page notices by polling; cancel from the run page; execute from the history."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from playwright.sync_api import expect

from tests.web.conftest import HISTORY


def test_a_pending_run_that_completes_in_the_database_updates_in_place(fresh_tab):
    site = fresh_tab.site
    page = fresh_tab.open(f"/clusters/{site.clusters['history'].cluster_id}")
    pending_id = site.runs["history"][-1]
    row = page.locator(f"tr[data-run-id='{pending_id}']")
    expect(row.locator(".badge")).to_have_text("Pending")
    expect(page.locator(".stat-inflight .card-value")).to_have_text("2")
    page.evaluate("window.__notReloaded = true")
    fresh_tab.shot("live-before")

    created = HISTORY[-1]["created_at"]
    site.set_run(
        pending_id,
        status="completed",
        started_at=created + timedelta(seconds=1),
        completed_at=created + timedelta(seconds=4),
        duration_ms=4000.0,
        num_clusters=3,
        silhouette_score=0.71,
    )
    expect(row.locator(".badge")).to_have_text("Completed", timeout=15_000)
    expect(row.locator(".sil")).to_contain_text("0.71")
    expect(row.locator("td").nth(4)).to_have_text("4 s")
    # the figures above the table follow (the run left "in flight")
    expect(page.locator(".stat-inflight .card-value")).to_have_text("1")
    assert page.evaluate("window.__notReloaded") is True
    fresh_tab.shot("live-after")


def test_the_run_page_follows_its_run_to_the_end(fresh_tab):
    site = fresh_tab.site
    processing_id = site.runs["history"][-2]
    page = fresh_tab.open(f"/clusters/{site.clusters['history'].cluster_id}/runs/{processing_id}")
    expect(page.locator(".run-head .badge")).to_have_text("Processing")
    expect(page.locator(".notice-live")).to_contain_text("A worker is computing this run")
    page.evaluate("window.__notReloaded = true")
    site.set_run(
        processing_id,
        status="failed",
        completed_at=datetime.now(UTC),
        duration_ms=1234.0,
        error_message="Worker lost: the worker stopped heartbeating",
        error_traceback="Traceback (most recent call last):\nWorkerLost: gone",
    )
    expect(page.locator(".run-head .badge")).to_have_text("Failed", timeout=15_000)
    expect(page.locator(".failure-message")).to_have_text("Worker lost: the worker stopped heartbeating")
    expect(page.locator(".notice-live")).to_have_count(0)
    assert page.evaluate("window.__notReloaded") is True


def test_cancel_a_running_run_from_its_page(fresh_tab):
    site = fresh_tab.site
    processing_id = site.runs["history"][-2]
    page = fresh_tab.open(f"/clusters/{site.clusters['history'].cluster_id}/runs/{processing_id}")
    fresh_tab.shot("run-processing")
    prompts: list[str] = []

    def accept(dialog):
        prompts.append(dialog.message)
        dialog.accept()

    page.on("dialog", accept)
    page.get_by_role("button", name="Cancel run").click()
    expect(page.locator(".run-head .badge")).to_have_text("Canceled")
    expect(page.get_by_role("button", name="Cancel run")).to_have_count(0)
    assert prompts and "Cancel this run?" in prompts[0]
    expect(page.locator(".toast")).to_contain_text("Run canceled")


def test_cancel_can_be_called_off(fresh_tab):
    site = fresh_tab.site
    pending_id = site.runs["history"][-1]
    page = fresh_tab.open(f"/clusters/{site.clusters['history'].cluster_id}/runs/{pending_id}")
    page.on("dialog", lambda dialog: dialog.dismiss())
    page.get_by_role("button", name="Cancel run").click()
    expect(page.locator(".run-head .badge")).to_have_text("Pending")


def test_execute_from_the_history_adds_a_pending_run(fresh_tab):
    site = fresh_tab.site
    page = fresh_tab.open(f"/clusters/{site.clusters['history'].cluster_id}")
    expect(page.locator(".pager-showing")).to_have_text(f"Showing 1–10 of {len(HISTORY)}")
    page.get_by_role("button", name="Execute", exact=True).click()
    expect(page.locator(".toast")).to_contain_text("Run queued")
    expect(page.locator(".pager-showing")).to_have_text(f"Showing 1–10 of {len(HISTORY) + 1}")
    first = page.locator(".history-table tbody tr").first
    expect(first.locator(".badge")).to_have_text("Pending")
    page.locator(".toast").get_by_role("link", name="Open run").click()
    expect(page).to_have_url(re.compile(r"/runs/run_"))
    expect(page.locator(".run-head .badge")).to_have_text("Pending")


def test_the_clusters_page_follows_runs_in_flight_to_their_end(fresh_tab):
    site = fresh_tab.site
    page = fresh_tab.open("/")
    row = page.locator("tr", has=page.get_by_role("link", name="support-tickets"))
    expect(row.locator(".badge")).to_have_text("Pending")
    expect(row.locator("td").nth(3)).to_contain_text("2 in flight")
    page.evaluate("window.__notReloaded = true")
    created = HISTORY[-1]["created_at"]
    for run_id in site.runs["history"][-2:]:  # the processing and the pending run end behind its back
        site.set_run(
            run_id,
            status="completed",
            started_at=created + timedelta(seconds=1),
            completed_at=created + timedelta(seconds=3),
            duration_ms=2000.0,
            num_clusters=3,
            silhouette_score=0.83,
        )
    expect(row.locator(".badge")).to_have_text("Completed", timeout=15_000)
    expect(row.locator(".interpreted")).to_contain_text("0.83")
    expect(row.locator("td").nth(3)).not_to_contain_text("in flight")
    assert page.evaluate("window.__notReloaded") is True
    fresh_tab.shot("clusters-live-after")
