"""The run page draws a run's cluster tree as a collapsible tree, and assign runs show where their
centres came from and, on the run, the history and the cluster list, when it is time to re-cluster."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
from playwright.sync_api import expect
from sqlalchemy import insert

from clusterbook.engine.hierarchy import build_tree, tree_record
from clusterbook.engine.labeling import ClusterLabel
from clusterbook.store.clusters import record_recluster
from clusterbook.store.tables import execution_hierarchies
from tests.factories import BASE_TIME, make_cluster, make_execution

LEAVES = ["football / match", "tennis / serve", "golf / swing", "physics / quark", "biology / cell"]


def _tree() -> dict:
    groups = [np.array([0, 0, 0, 1, 1])]
    labels = [ClusterLabel(label, None, label.split(" / ")) for label in LEAVES]
    nodes = build_tree(groups, np.array([50, 40, 30, 45, 35]), labels, [])
    nodes[1].label, nodes[1].keywords = "sport / team", ["sport", "team"]
    nodes[2].label, nodes[2].keywords = "science / lab", ["science", "lab"]
    return tree_record(nodes, 2, "ward agglomeration over the cluster centres")


def test_the_run_page_draws_the_cluster_tree_collapsible(fresh_tab):
    fresh_tab.watch.allow(r"404 \(Not Found\)")  # no stored projection: its 404 is expected
    site = fresh_tab.site
    cluster = make_cluster(site.factory, cluster_name="nested", vector_config={"hierarchy": {"levels": 2}})
    run = make_execution(
        site.factory,
        cluster,
        run_name="with a tree",
        status="completed",
        created_at=BASE_TIME,
        completed_at=BASE_TIME + timedelta(seconds=3),
        num_clusters=5,
        num_points=200,
        config={"algorithm": "kmeans", "hierarchy": {"levels": 2}},
        centroids=[{"cluster_id": f"cl_{n}", "num_members": 10, "label": LEAVES[n]} for n in range(5)],
        metrics={"silhouette_score": 0.5},
    )
    with site.factory() as session, session.begin():
        session.execute(insert(execution_hierarchies).values(run_id=run.run_id, hierarchy=_tree()))

    page = fresh_tab.open(f"/clusters/{cluster.cluster_id}/runs/{run.run_id}")
    section = page.locator("section.hierarchy")
    expect(section.get_by_role("heading", name="Cluster hierarchy")).to_be_visible()
    groups = section.locator(".tree-root > li.tree-node")
    expect(groups).to_have_count(2)
    expect(groups.nth(0).locator("summary .tree-label")).to_have_text("sport / team")
    expect(groups.nth(0).locator("summary .tree-count")).to_have_text("120 · 60%")
    leaf = section.locator("li[data-node-id='cl_1']")
    expect(leaf).to_be_hidden()  # groups start folded
    groups.nth(0).locator("summary").click()
    expect(leaf).to_be_visible()
    expect(leaf).to_contain_text("tennis / serve")
    expect(groups.nth(0).locator("li.tree-leaf")).to_have_count(3)
    expect(section.locator("li[data-node-id='cl_3']")).to_be_hidden()  # the other group stays folded
    section.get_by_role("button", name="Expand all").click()
    expect(section.locator("li[data-node-id='cl_3']")).to_be_visible()
    fresh_tab.shot("run-hierarchy")
    section.get_by_role("button", name="Collapse all").click()
    expect(leaf).to_be_hidden()


def test_assign_runs_show_their_source_and_the_call_to_recluster(fresh_tab):
    fresh_tab.watch.allow(r"404 \(Not Found\)")
    site = fresh_tab.site
    cluster = make_cluster(site.factory, cluster_name="incoming")
    source = make_execution(
        site.factory,
        cluster,
        run_name="full",
        status="completed",
        created_at=BASE_TIME,
        completed_at=BASE_TIME + timedelta(seconds=3),
        num_clusters=2,
        num_points=100,
        centroids=[{"cluster_id": "cl_0", "num_members": 60}, {"cluster_id": "cl_1", "num_members": 40}],
    )
    reason = "45% of the documents were left unassigned, more than the 20% allowed"
    assigned = make_execution(
        site.factory,
        cluster,
        run_name="new arrivals",
        status="completed",
        created_at=BASE_TIME + timedelta(minutes=1),
        completed_at=BASE_TIME + timedelta(minutes=1, seconds=1),
        num_clusters=2,
        num_points=40,
        config={"mode": "assign", "source_run_id": source.run_id},
        details={"recluster": {"should_recluster": True, "reason": reason, "run_id": "x"}},
        centroids=[{"cluster_id": "cl_0", "num_members": 12}, {"cluster_id": "cl_1", "num_members": 10}],
        metrics={"unassigned_ratio": 0.45},
    )
    with site.factory() as session, session.begin():
        verdict = {"should_recluster": True, "reason": reason, "run_id": assigned.run_id}
        record_recluster(session, cluster_id=cluster.cluster_id, verdict=verdict)

    page = fresh_tab.open(f"/clusters/{cluster.cluster_id}/runs/{assigned.run_id}")
    expect(page.locator(".recluster-notice")).to_contain_text("Time to re-cluster. " + reason)
    mode = page.locator(".assign-mode")
    expect(mode).to_contain_text("assigned to the centres of")
    expect(mode.get_by_role("link")).to_have_attribute("href", f"/clusters/{cluster.cluster_id}/runs/{source.run_id}")
    expect(page.locator("[data-measure='unassigned_ratio'] .card-value")).to_contain_text("0.45")
    fresh_tab.shot("run-assign-recluster")

    page = fresh_tab.open(f"/clusters/{cluster.cluster_id}")
    expect(page.locator(".recluster-notice")).to_contain_text(reason)
    row = page.locator(f"tr[data-run-id='{assigned.run_id}']")
    expect(row.locator(".mode-tag")).to_have_text("assign")
    expect(row.locator(".recluster-tag")).to_have_text("re-cluster")
    expect(page.locator(f"tr[data-run-id='{source.run_id}'] .tag")).to_have_count(0)
    fresh_tab.shot("history-recluster")

    page = fresh_tab.open("/")
    expect(page.locator(f"tr[data-cluster-id='{cluster.cluster_id}'] .recluster-tag")).to_have_text("re-cluster")
