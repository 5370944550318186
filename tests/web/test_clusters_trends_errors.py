"""The clusters page (latest run, quality, run count; create, execute), the trends page, and the
designed error states: unknown cluster, a server error, an unreachable server."""

from __future__ import annotations

import json
import re
from collections import Counter

from playwright.sync_api import Route, expect

from tests.web.conftest import HISTORY

PROBLEM_500 = {
    "type": "/problems/internal_error",
    "title": "Internal server error",
    "status": 500,
    "detail": "The server could not complete the request",
    "code": "internal_error",
}


def test_clusters_page_shows_latest_run_quality_and_counts(tab):
    page = tab.open("/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Clusters")
    row = page.locator("tr", has=page.get_by_role("link", name="support-tickets"))
    expect(row.locator(".badge")).to_have_text("Pending")  # its newest run
    newest_completed = next(s for s in reversed(HISTORY) if s["status"] == "completed")
    expect(row.locator(".interpreted")).to_contain_text(f"{newest_completed['metrics']['silhouette_score']:.2f}")
    expect(row.locator("td").nth(3)).to_contain_text(str(len(HISTORY)))
    failed = Counter(s["status"] for s in HISTORY)["failed"]
    expect(row.locator("td").nth(3)).to_contain_text(f"2 in flight · {failed} failed")
    empty = page.locator("tr", has=page.get_by_role("link", name="empty-cluster"))
    expect(empty).to_contain_text("Never run")
    expect(empty).to_contain_text("No completed run")
    tab.shot("clusters")
    page.get_by_label("Search clusters").fill("review")
    expect(page.locator(".clusters-table tbody tr")).to_have_count(1)
    expect(page).to_have_url(re.compile(r"q=review"))
    page.get_by_role("link", name="product-reviews").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("product-reviews")


def test_create_a_cluster_then_execute_it(fresh_tab):
    page = fresh_tab.open("/")
    page.get_by_role("button", name="New cluster").click()
    dialog = page.get_by_role("dialog", name="New cluster")
    expect(dialog).to_be_visible()
    dialog.get_by_label("Name").fill("chat transcripts")
    dialog.get_by_label("Description (optional)").fill("Support chats, weekly")
    expect(dialog.get_by_role("checkbox").first).to_be_visible()
    dialog.get_by_role("checkbox").first.check()
    dialog.get_by_label("Algorithm").select_option("hdbscan")
    expect(dialog.get_by_label("Parameters (JSON)")).to_have_value(re.compile(r'^\{"min_cluster_size":5,'))
    fresh_tab.shot("clusters-create-dialog")
    dialog.get_by_role("button", name="Create cluster").click()
    expect(dialog).to_be_hidden()
    row = page.locator("tr", has=page.get_by_role("link", name="chat transcripts"))
    expect(row).to_contain_text("Never run")
    expect(row).to_contain_text("hdbscan")
    row.get_by_role("button", name="Execute").click()
    expect(page.locator(".toast").last).to_contain_text("Run queued for chat transcripts")
    expect(row.locator(".badge")).to_have_text("Pending")


def test_create_shows_the_servers_validation_errors(fresh_tab):
    fresh_tab.watch.allow(r"409 \(Conflict\)")
    page = fresh_tab.open("/")
    page.get_by_role("button", name="New cluster").click()
    dialog = page.get_by_role("dialog", name="New cluster")
    dialog.get_by_label("Name").fill("support-tickets")  # taken
    dialog.get_by_role("button", name="Create cluster").click()
    expect(dialog.get_by_role("alert")).to_contain_text("already exists")
    dialog.get_by_label("Parameters (JSON)").fill("[1, 2")
    dialog.get_by_role("button", name="Create cluster").click()
    expect(dialog.get_by_role("alert")).to_contain_text("Parameters must be a JSON object")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()


def test_trends_chart_the_filtered_history(tab):
    site = tab.site
    page = tab.open(f"/clusters/{site.clusters['history'].cluster_id}/trends")
    days = len({s["created_at"].date() for s in HISTORY})
    expect(page.locator(".trend-summary")).to_have_text(f"{len(HISTORY)} runs over {days} days")
    for title in ("Runs by status", "Execution time", "Silhouette"):
        expect(page.get_by_role("heading", name=title)).to_be_visible()
    expect(page.locator(".trend-grid canvas")).to_have_count(3)
    tab.shot("trends")
    page.get_by_role("button", name="Failed", exact=True).click()
    failed = Counter(s["status"] for s in HISTORY)["failed"]
    expect(page.locator(".trend-summary")).to_have_text(re.compile(f"^{failed} runs matching the filters over"))
    page.get_by_label("Group by").select_option("week")
    expect(page).to_have_url(re.compile(r"bucket=week"))
    expect(page.locator(".trend-summary")).to_have_text(re.compile(r"over 3 weeks$"))
    page.get_by_label("Search").fill("nothing-matches-this")
    expect(page.get_by_text("No runs match these filters")).to_be_visible()


def test_unknown_cluster_is_a_designed_not_found_page(tab):
    tab.watch.allow(r"404 \(Not Found\)")
    for path in ("/clusters/clust_nope", "/clusters/clust_nope/trends", "/clusters/clust_nope/compare?runs=a,b"):
        page = tab.open(path)
        alert = page.get_by_role("alert")
        expect(alert).to_contain_text("Cluster not found")
        expect(alert).to_contain_text("clust_nope")
    tab.shot("error-unknown-cluster")
    page.get_by_role("link", name="All clusters").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Clusters")


def test_a_server_error_is_explained_and_retry_recovers(tab):
    tab.watch.allow(r"500 \(Internal Server Error\)")
    page = tab.page
    failing = {"on": True}

    def handler(route: Route) -> None:
        if failing["on"]:
            route.fulfill(status=500, content_type="application/problem+json", body=json.dumps(PROBLEM_500))
        else:
            route.continue_()

    page.route(re.compile(r".*/executions/list.*"), handler)
    tab.open(f"/clusters/{tab.site.clusters['history'].cluster_id}")
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("The server had a problem")
    expect(alert).to_contain_text("The server could not complete the request")
    expect(page.locator(".pager")).to_be_hidden()
    # the filters stay usable, and the header still shows the cluster
    expect(page.get_by_role("heading", level=1)).to_have_text("support-tickets")
    tab.shot("error-server")
    failing["on"] = False
    alert.get_by_role("button", name="Retry").click()
    expect(page.locator(".pager-showing")).to_have_text(f"Showing 1–10 of {len(HISTORY)}")
    expect(page.get_by_role("alert")).to_have_count(0)


def test_an_unreachable_server_is_explained(tab):
    tab.watch.allow(r"net::ERR_FAILED|Failed to load resource")
    page = tab.page
    page.route(re.compile(r".*/v1/clusters/list.*"), lambda route: route.abort("failed"))
    tab.open("/")
    expect(page.get_by_role("alert")).to_contain_text("Cannot reach the server")
    expect(page.get_by_role("button", name="Retry")).to_be_visible()


def test_keyboard_only_walk_from_the_cluster_list_to_a_run(tab):
    page = tab.open("/")
    expect(page.get_by_role("link", name="support-tickets")).to_be_visible()
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.get_by_role("link", name="support-tickets").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("support-tickets")
    expect(page.get_by_role("heading", level=1)).to_be_focused()  # focus moves to the new page
    first_run = page.locator(".history-table .row-title").first
    first_run.focus()
    outline = page.evaluate("(el) => getComputedStyle(el).outlineStyle", first_run.element_handle())
    assert outline != "none"  # a visible focus ring
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/runs/run_"))
