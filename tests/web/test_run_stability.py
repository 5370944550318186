"""The run page shows bootstrap stability: the metric card (from the measure declaration) and a
Stability column in the clusters table, each score with its band; a run without it has neither a
value nor the column."""

from __future__ import annotations

from datetime import timedelta

from playwright.sync_api import expect

from tests.factories import BASE_TIME, make_cluster, make_execution

DASH = "—"


def _centroid(n, size, label, stability):  # noqa: ANN001, ANN202 - test helper
    return {"cluster_id": f"cl_{n}", "num_members": size, "label": label, "keywords": ["a"], "stability": stability}


def test_the_run_page_shows_each_clusters_stability_and_the_metric(fresh_tab):
    fresh_tab.watch.allow(r"404 \(Not Found\)")  # the runs have no stored projection, which answers 404
    site = fresh_tab.site
    cluster = make_cluster(site.factory, cluster_name="resampled")
    scored = make_execution(
        site.factory,
        cluster,
        run_name="with stability",
        status="completed",
        created_at=BASE_TIME,
        completed_at=BASE_TIME + timedelta(seconds=3),
        num_clusters=3,
        num_points=300,
        centroids=[
            _centroid(0, 120, "Billing", 0.9712),
            _centroid(1, 100, "Shipping", 0.7034),
            _centroid(2, 80, "Mixed", 0.4121),
        ],
        metrics={"silhouette_score": 0.6, "stability": 0.6956},
    )
    plain = make_execution(
        site.factory,
        cluster,
        run_name="without",
        status="completed",
        created_at=BASE_TIME + timedelta(minutes=1),
        completed_at=BASE_TIME + timedelta(minutes=1, seconds=3),
        num_clusters=1,
        num_points=300,
        centroids=[{"cluster_id": "cl_0", "num_members": 300, "label": "All", "keywords": []}],
        metrics={"silhouette_score": 0.1},
    )

    page = fresh_tab.open(f"/clusters/{cluster.cluster_id}/runs/{scored.run_id}")
    expect(page.get_by_role("heading", level=1)).to_have_text("with stability")
    expect(page.locator("[data-measure='stability'] .card-value")).to_contain_text("0.70")
    table = page.locator(".centroids-table")
    expect(table.locator("thead th").last).to_have_text("Stability")
    cells = table.locator("tbody tr .stability-cell")
    expect(cells).to_have_count(3)
    expect(cells.nth(0)).to_have_text("0.97stable")
    expect(cells.nth(1)).to_have_text("0.70doubtful")
    expect(cells.nth(2)).to_have_text("0.41unstable")
    expect(cells.nth(2)).to_have_class("num stability-cell stability-unstable")
    fresh_tab.shot("run-stability")

    page = fresh_tab.open(f"/clusters/{cluster.cluster_id}/runs/{plain.run_id}")
    expect(page.get_by_role("heading", level=1)).to_have_text("without")
    expect(page.locator("[data-measure='stability'] .card-value")).to_have_text(DASH)
    expect(page.locator(".centroids-table thead")).not_to_contain_text("Stability")
    expect(page.locator(".stability-cell")).to_have_count(0)
