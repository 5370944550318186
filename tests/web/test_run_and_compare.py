"""One run: metrics with their meaning, centroids, scatter plot, a failure's traceback (the compare
page is in test_compare_page.py)."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.web.conftest import HISTORY

NO_PROJECTION = r"404 \(Not Found\)"  # runs without a stored projection answer 404 for it, as documented


def test_a_completed_run_shows_interpreted_metrics_centroids_and_its_projection(tab):
    site = tab.site
    run_id = site.runs["detail"][0]
    page = tab.open(f"/clusters/{site.clusters['detail'].cluster_id}/runs/{run_id}")
    expect(page.get_by_role("heading", level=1)).to_have_text("best-run")
    expect(page.locator(".breadcrumbs")).to_contain_text("product-reviews")
    silhouette = page.locator(".metric", has_text="Silhouette")
    expect(silhouette.locator(".card-value")).to_have_text("0.62 — good")
    expect(page.locator(".metric", has_text="Davies–Bouldin").locator(".card-value")).to_have_text("0.71 — good")
    expect(page.locator(".metric", has_text="Calinski–Harabasz").locator(".card-value")).to_have_text("412.5")
    centroids = HISTORY[1]["centroids"]
    table = page.locator(".centroids-table tbody tr")
    expect(table).to_have_count(len(centroids))
    expect(table.first).to_contain_text(centroids[0]["label"])
    expect(table.first).to_contain_text(centroids[0]["summary"])
    expect(table.first.locator(".keywords li")).to_have_count(len(centroids[0]["keywords"]))
    canvas = page.locator(".scatter-canvas canvas")
    expect(canvas).to_be_visible()
    expect(page.get_by_text("A sample of 61 of 130 documents")).to_be_visible()
    # the chart drew something: the canvas is not blank
    assert page.evaluate("(c) => c.toDataURL().length", canvas.element_handle()) > 5000
    tab.shot("run-completed")


def test_a_failed_run_puts_its_error_and_traceback_first_and_copies_them(tab, browser):
    site = tab.site
    run_id = site.runs["detail"][1]
    page = tab.open(f"/clusters/{site.clusters['detail'].cluster_id}/runs/{run_id}")
    failure = page.locator(".failure")
    expect(failure.get_by_role("heading")).to_have_text("This run failed")
    expect(failure.locator(".failure-message")).to_have_text(HISTORY[3]["error_message"])
    expect(failure.locator("pre")).to_have_text(HISTORY[3]["error_traceback"])
    # the failure comes before anything else on the page
    assert page.evaluate(
        "() => document.querySelector('.failure').getBoundingClientRect().top < window.innerHeight / 2"
    )
    tab.page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=site.url)
    failure.get_by_role("button", name="Copy error").click()
    expect(failure.get_by_role("button", name="Copied")).to_be_visible()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert HISTORY[3]["error_message"] in copied and "Traceback (most recent call last)" in copied
    tab.shot("run-failed")


def test_a_run_without_a_projection_says_so(tab):
    tab.watch.allow(NO_PROJECTION)
    site = tab.site
    run_id = site.runs["history"][0]
    page = tab.open(f"/clusters/{site.clusters['history'].cluster_id}/runs/{run_id}")
    expect(page.get_by_text("No projection was stored for this run")).to_be_visible()
    expect(page.locator(".metric", has_text="Silhouette").locator(".card-value")).to_contain_text("0.00 — weak")


def test_unknown_run_and_unknown_cluster(tab):
    tab.watch.allow(r"404 \(Not Found\)")
    site = tab.site
    page = tab.open(f"/clusters/{site.clusters['detail'].cluster_id}/runs/run_doesnotexist")
    expect(page.get_by_role("alert")).to_contain_text("Run not found")
    expect(page.get_by_role("alert")).to_contain_text("run_doesnotexist")
    page = tab.open("/clusters/clust_doesnotexist/runs/run_x")
    expect(page.get_by_role("alert")).to_contain_text("Cluster not found")
    page.get_by_role("link", name="All clusters").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Clusters")
