"""Curated labels on the run page: a cluster's label is edited inline (saved over the API, shown with
who curated it and the computed label beside it, removed again with "Use computed"), a label carried
forward from the baseline says where it came from, and checked clusters are merged (the run rescored)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import httpx
from playwright.sync_api import expect
from sqlalchemy import insert

from clusterbook.store.tables import execution_members
from tests.factories import BASE_TIME, make_cluster, make_collection, make_documents, make_execution


def _centroid(n: int, size: int, label: str, **extra: Any) -> dict[str, Any]:
    return {"cluster_id": f"cl_{n}", "num_members": size, "label": label, "keywords": [label.lower(), "misc"], **extra}


def _run_with_members(site: Any) -> tuple[Any, Any]:
    """A completed run of three clusters over 30 stored 2-d vectors (10 per cluster), with memberships."""
    collection = make_collection(site.factory, collection_name="points")
    centres = [(0.0, 1.0), (1.0, 0.0), (-1.0, 0.0)]
    docs = [
        {"document_id": f"p{i:02d}", "vector": [centres[i % 3][0] + 0.01 * i, centres[i % 3][1] - 0.01 * i]}
        for i in range(30)
    ]
    make_documents(site.factory, collection, docs)
    cluster = make_cluster(site.factory, cluster_name="labelled", collection_ids=[collection.collection_id])
    run = make_execution(
        site.factory,
        cluster,
        run_name="nightly",
        status="completed",
        created_at=BASE_TIME,
        started_at=BASE_TIME,
        completed_at=BASE_TIME + timedelta(seconds=2),
        algorithm="kmeans",
        num_clusters=3,
        num_points=30,
        metrics={"silhouette_score": 0.8},
        config={
            "algorithm": "kmeans",
            "collection_ids": [collection.collection_id],
            "normalize_features": True,
            "embedded": False,
            "dimensions": 2,
            "random_state": 0,
        },
        centroids=[_centroid(0, 10, "Billing"), _centroid(1, 10, "Shipping"), _centroid(2, 10, "Returns")],
    )
    with site.factory() as session, session.begin():
        session.execute(
            insert(execution_members),
            [
                {"run_id": run.run_id, "document_id": d["document_id"], "cluster_id": f"cl_{i % 3}", "distance": 0.1}
                for i, d in enumerate(docs)
            ],
        )
    return cluster, run


def test_a_cluster_label_is_edited_inline_and_shown_with_who_and_the_computed_one(fresh_tab) -> None:
    fresh_tab.watch.allow(r"404 \(Not Found\)")  # no stored projection: the scatter plot's 404
    site = fresh_tab.site
    cluster, run = _run_with_members(site)
    page = fresh_tab.open(f"/clusters/{cluster.cluster_id}/runs/{run.run_id}")
    row = page.locator(".centroids-table tbody tr[data-cluster='cl_1']")
    expect(row.locator(".centroid-label")).to_have_text("Shipping")
    expect(row.locator(".label-provenance")).to_have_count(0)

    row.get_by_role("button", name="Edit the label of cl_1").click()
    field = row.get_by_label("Label of cl_1")
    expect(field).to_be_focused()
    field.fill("Parcels and couriers")
    row.get_by_label("Keywords of cl_1 (comma-separated)").fill("parcel, courier")
    fresh_tab.shot("run-label-editing")
    row.get_by_role("button", name="Save").click()

    expect(row.locator(".centroid-label")).to_have_text("Parcels and couriers")
    expect(row.locator(".curated-by")).to_contain_text("curated by anonymous")
    expect(row.locator(".computed-label")).to_have_text("computed: Shipping")
    expect(row.locator(".keywords li")).to_have_text(["parcel", "courier"])
    fresh_tab.shot("run-label-curated")
    stored = httpx.get(f"{site.url}/v1/clusters/{cluster.cluster_id}/executions/{run.run_id}").json()
    saved = next(c for c in stored["centroids"] if c["cluster_id"] == "cl_1")
    assert saved["override"]["label"] == "Parcels and couriers" and saved["computed_label"] == "Shipping"
    assert saved["override"]["keywords"] == ["parcel", "courier"] and saved["override"]["summary"] is None

    page.reload()  # it is stored, not only drawn
    expect(row.locator(".centroid-label")).to_have_text("Parcels and couriers")
    row.get_by_role("button", name="Edit the label of cl_1").click()
    row.get_by_label("Label of cl_1").fill("x" * 200)
    row.get_by_role("button", name="Cancel").click()
    expect(row.locator(".centroid-label")).to_have_text("Parcels and couriers")
    row.get_by_role("button", name="Edit the label of cl_1").click()
    row.get_by_role("button", name="Use computed").click()
    expect(row.locator(".centroid-label")).to_have_text("Shipping")
    expect(row.locator(".label-provenance")).to_have_count(0)
    expect(row.locator(".keywords li")).to_have_text(["shipping", "misc"])


def test_checked_clusters_are_merged_and_the_run_rescored(fresh_tab) -> None:
    fresh_tab.watch.allow(r"404 \(Not Found\)")
    site = fresh_tab.site
    cluster, run = _run_with_members(site)
    page = fresh_tab.open(f"/clusters/{cluster.cluster_id}/runs/{run.run_id}")
    merge = page.locator(".merge-clusters")
    expect(merge).to_be_disabled()
    page.get_by_label("Select cl_2 to merge").check()
    page.get_by_label("Select cl_1 to merge").check()
    expect(merge).to_have_text("Merge 2 clusters")
    page.once("dialog", lambda dialog: dialog.accept("Goods on the move"))
    merge.click()

    rows = page.locator(".centroids-table tbody tr")
    expect(rows).to_have_count(2)
    merged = page.locator(".centroids-table tbody tr[data-cluster='cl_2']")
    expect(merged.locator(".centroid-label")).to_have_text("Goods on the move")
    expect(merged.locator(".merged-from")).to_have_text("merged from cl_2, cl_1")
    expect(merged.locator(".members-cell")).to_contain_text("20")
    expect(page.locator(".merges-note")).to_contain_text("cl_2 + cl_1 merged into cl_2 by anonymous")
    expect(page.locator("#centroids-title")).to_have_text("Clusters (2)")
    fresh_tab.shot("run-clusters-merged")
    stored = httpx.get(f"{site.url}/v1/clusters/{cluster.cluster_id}/executions/{run.run_id}").json()
    assert stored["num_clusters"] == 2 and stored["metrics"]["silhouette_score"] != 0.8


def test_an_inherited_label_says_which_run_and_cluster_it_came_from(fresh_tab) -> None:
    fresh_tab.watch.allow(r"404 \(Not Found\)")
    site = fresh_tab.site
    cluster = make_cluster(site.factory, cluster_name="carried")
    inherited = {
        "label": "Billing disputes",
        "run_id": "run_Earlier0001",
        "cluster_id": "cl_3",
        "jaccard": 0.81,
        "by": "alice",
        "at": BASE_TIME.isoformat(),
    }
    run = make_execution(
        site.factory,
        cluster,
        run_name="later",
        status="completed",
        created_at=BASE_TIME,
        completed_at=BASE_TIME + timedelta(seconds=2),
        num_clusters=1,
        num_points=10,
        centroids=[_centroid(0, 10, "Billing disputes", computed_label="invoice / refund", inherited=inherited)],
    )
    page = fresh_tab.open(f"/clusters/{cluster.cluster_id}/runs/{run.run_id}")
    row = page.locator(".centroids-table tbody tr").first
    expect(row.locator(".centroid-label")).to_have_text("Billing disputes")
    expect(row.locator(".inherited-from")).to_have_text("from run_Earlier0001 cl_3")
    expect(row.locator(".computed-label")).to_have_text("computed: invoice / refund")


def test_a_back_dated_demo_run_says_when_it_really_ran(fresh_tab) -> None:
    fresh_tab.watch.allow(r"404 \(Not Found\)")
    site = fresh_tab.site
    cluster = make_cluster(site.factory, cluster_name="nightly")
    ran = BASE_TIME + timedelta(days=20)
    run = make_execution(
        site.factory,
        cluster,
        run_name="nightly 2026-01-01 03:00 UTC (back-dated)",
        status="completed",
        created_at=BASE_TIME,
        completed_at=BASE_TIME + timedelta(seconds=2),
        num_clusters=1,
        num_points=10,
        details={
            "backdated": {
                "slot": BASE_TIME.isoformat(),
                "shift_seconds": -20 * 86400.0,
                "ran_at": ran.isoformat(),
                "cadence": "every 2 days at 03:00 UTC",
                "why": "demo history: a real run, computed when the demo started and moved back to its night",
            }
        },
    )
    page = fresh_tab.open(f"/clusters/{cluster.cluster_id}/runs/{run.run_id}")
    fact = page.locator(".facts .backdated")
    expect(fact).to_contain_text("really ran")
    expect(fact).to_have_attribute("title", re.compile("demo history"))
