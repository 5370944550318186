"""The run page shows a run's agreement with its baseline: the agreement cards (from the measure
declaration; "—" with the reason when there is no baseline), a link to the baseline run, and for each
cluster the matched baseline cluster with its label and the Jaccard of the pair."""

from __future__ import annotations

from datetime import timedelta

from playwright.sync_api import expect

from tests.factories import BASE_TIME, make_cluster, make_execution

DASH = "—"
NO_BASELINE = "no baseline: no run of this cluster had completed when this run was submitted"


def _centroid(n, size, label, **extra):  # noqa: ANN001, ANN202, ANN003 - test helper
    return {"cluster_id": f"cl_{n}", "num_members": size, "label": label, "keywords": ["a", "b"], **extra}


def test_the_run_page_shows_the_baseline_its_agreement_and_the_matched_clusters(fresh_tab):
    fresh_tab.watch.allow(r"404 \(Not Found\)")  # the runs have no stored projection, which answers 404
    site = fresh_tab.site
    cluster = make_cluster(site.factory, cluster_name="agreeing")
    first = make_execution(
        site.factory,
        cluster,
        run_name="seed 1",
        status="completed",
        created_at=BASE_TIME,
        completed_at=BASE_TIME + timedelta(seconds=3),
        num_clusters=3,
        num_points=300,
        centroids=[_centroid(0, 120, "Billing"), _centroid(1, 100, "Shipping"), _centroid(2, 80, "Returns")],
        metrics={"silhouette_score": 0.7},
        details={"metric_notes": dict.fromkeys(("agreement_ari", "agreement_ami"), NO_BASELINE)},
    )
    second = make_execution(
        site.factory,
        cluster,
        run_name="seed 2",
        status="completed",
        created_at=BASE_TIME + timedelta(minutes=5),
        completed_at=BASE_TIME + timedelta(minutes=5, seconds=3),
        num_clusters=3,
        num_points=300,
        baseline_run_id=first.run_id,
        centroids=[
            _centroid(0, 118, "Invoices", baseline_cluster_id="cl_0", jaccard=0.9672, baseline_label="Billing"),
            _centroid(1, 104, "Parcels", baseline_cluster_id="cl_1", jaccard=0.8846, baseline_label="Shipping"),
            _centroid(2, 78, "Odds and ends", baseline_cluster_id=None, jaccard=None, baseline_label=None),
        ],
        metrics={
            "silhouette_score": 0.69,
            "agreement_ari": 0.8123,
            "agreement_ami": 0.8456,
            "matched_fraction": 0.9033,
            "moved_documents": 29,
        },
    )

    page = fresh_tab.open(f"/clusters/{cluster.cluster_id}/runs/{second.run_id}")
    expect(page.get_by_role("heading", level=1)).to_have_text("seed 2")
    expect(page.locator("[data-measure='agreement_ari'] .card-value")).to_contain_text("0.81")
    expect(page.locator("[data-measure='agreement_ami'] .card-value")).to_contain_text("0.85")
    expect(page.locator("[data-measure='matched_fraction'] .card-value")).to_contain_text("0.90")
    expect(page.locator("[data-measure='moved_documents'] .card-value")).to_contain_text("29")
    baseline = page.locator(".facts .baseline-run a")
    expect(baseline).to_have_text("seed 1")

    table = page.locator(".centroids-table")
    expect(table.locator("thead th")).to_contain_text(["Baseline match", "Jaccard"])
    rows = table.locator("tbody tr")
    expect(rows.nth(0).locator(".baseline-cell")).to_have_text("cl_0 Billing")
    expect(rows.nth(0).locator(".jaccard-cell")).to_have_text("0.97")
    expect(rows.nth(1).locator(".baseline-cell")).to_have_text("cl_1 Shipping")
    expect(rows.nth(1).locator(".jaccard-cell")).to_have_text("0.88")
    expect(rows.nth(2)).to_contain_text("unmatched")
    expect(rows.nth(2).locator("td").last).to_have_text(DASH)
    fresh_tab.shot("run-agreement")

    rows.nth(0).locator(".baseline-cell a").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("seed 1")
    expect(page.locator(".facts .baseline-run")).to_have_count(0)
    expect(page.locator(".facts")).to_contain_text("none")
    card = page.locator("[data-measure='agreement_ari']")
    expect(card.locator(".card-value")).to_have_text(DASH)
    expect(card.locator(".card-note")).to_have_text(NO_BASELINE)
    expect(page.locator(".centroids-table thead")).not_to_contain_text("Baseline match")
    fresh_tab.shot("run-no-baseline")
