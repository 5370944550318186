"""Parameter-aware history in a real browser: the history table's parameter columns (chosen from
the config.* fields the runs carry) and the trends page split by a group_by field."""

from __future__ import annotations

import re
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from clusterbook.models.clusters import Cluster
from tests.factories import BASE_TIME, make_cluster, make_runs
from tests.web.conftest import Site, Tab

RUNS = 36
K_BY_SLOT = {0: 3, 1: 3, 2: 3, 4: 4, 5: 4, 6: 5}
"""k per slot of eight runs (3 and 7 are HDBSCAN): each value of k has its own number of runs."""


def tuned_specs() -> list[dict[str, Any]]:
    """Four runs a day for nine days: kmeans with k = 3, 4 or 5 and seeds 0-2; every fourth
    run is HDBSCAN, which has no n_clusters (its column shows a dash)."""
    specs = []
    for i in range(RUNS):
        created = BASE_TIME + timedelta(hours=6 * i)
        if i % 4 == 3:
            config: dict[str, Any] = {"algorithm": "hdbscan", "params": {"min_cluster_size": 5 + i}}
        else:
            config = {
                "algorithm": "kmeans",
                "random_state": i % 3,
                "params": {"n_clusters": K_BY_SLOT[i % 8], "init": "k-means++"},
            }
        specs.append(
            {
                "status": "completed",
                "created_at": created,
                "started_at": created + timedelta(milliseconds=10),
                "completed_at": created + timedelta(seconds=1 + i % 4),
                "duration_ms": 1000.0 * (1 + i % 4),
                "num_points": 200,
                "num_clusters": 3,
                "algorithm": config["algorithm"],
                "run_name": f"tuned-{i:02d}",
                "config": config,
                "metrics": {"silhouette_score": round(0.3 + (i % 5) / 10, 2)},
            }
        )
    return specs


SPECS = tuned_specs()
K_COUNTS = Counter(str(s["config"]["params"].get("n_clusters")) for s in SPECS)


@pytest.fixture(scope="module")
def tuned(site: Site) -> Cluster:
    cluster = make_cluster(site.factory, cluster_name="tuned-runs")
    make_runs(site.factory, cluster, SPECS)
    return cluster


def _history(tab: Tab, cluster: Cluster, query: str = "") -> Page:
    page = tab.open(f"/clusters/{cluster.cluster_id}{query}")
    expect(page.locator(".history-table tbody tr:not(.skeleton-row)").first).to_be_visible()
    return page


def _expected_k(run_name: str) -> str:
    spec = next(s for s in SPECS if s["run_name"] == run_name)
    return str(spec["config"]["params"].get("n_clusters", "—"))


def test_a_parameter_column_is_chosen_from_the_runs_and_kept_in_the_url(tab: Tab, tuned: Cluster) -> None:
    page = _history(tab, tuned)
    expect(page.locator("th.param-col")).to_have_count(0)
    page.locator(".columns-menu > summary").click()
    option = page.locator(".columns-option", has_text="n_clusters")
    expect(option).to_contain_text(f"{RUNS - K_COUNTS['None']} runs")  # kmeans carries it, HDBSCAN not
    expect(page.locator(".columns-option", has_text="min_cluster_size")).to_contain_text(f"{K_COUNTS['None']} runs")
    option.locator("input").check()
    expect(page).to_have_url(re.compile(r"cols=config\.params\.n_clusters"))
    expect(page.locator("th.param-col")).to_have_text(["n_clusters"])
    names = page.locator(".history-table tbody tr .row-title").all_inner_texts()
    cells = page.locator('.history-table tbody td[data-field="config.params.n_clusters"]').all_inner_texts()
    assert len(cells) == len(names) == 10
    assert cells == [_expected_k(name) for name in names]
    assert "—" in cells  # an HDBSCAN run on the first page
    # a second column, a declared one; the page reloaded from its URL keeps both
    page.locator(".columns-option", has_text="Random state").locator("input").check()
    expect(page.locator("th.param-col")).to_have_text(["n_clusters", "Random state"])
    tab.shot("history-parameter-columns")
    page.reload()
    expect(page.locator("th.param-col")).to_have_text(["n_clusters", "Random state"])
    newest = SPECS[-1]
    first = page.locator(".history-table tbody tr").first
    expect(first.locator(".row-title")).to_have_text(newest["run_name"])
    expect(first.locator('td[data-field="config.random_state"]')).to_have_text(
        str(newest["config"].get("random_state", "—"))
    )
    # unticking removes the column and its cells
    page.locator(".columns-menu > summary").click()
    page.locator(".columns-option", has_text="n_clusters").locator("input").uncheck()
    expect(page.locator("th.param-col")).to_have_text(["Random state"])
    expect(page.locator('.history-table tbody td[data-field="config.params.n_clusters"]')).to_have_count(0)


def test_trends_split_by_a_parameter_draw_one_series_per_value(tab: Tab, tuned: Cluster) -> None:
    page = tab.open(f"/clusters/{tuned.cluster_id}/trends")
    expect(page.locator(".trend-summary")).to_contain_text(f"{RUNS} runs")
    counts_chart = page.locator(".chart-card canvas").first
    expect(counts_chart).to_have_attribute("aria-label", re.compile("by status"))
    split = page.get_by_label("Split by", exact=True)
    expect(split.locator("option", has_text="n_clusters")).to_have_count(1)
    split.select_option("config.params.n_clusters")
    expect(page).to_have_url(re.compile(r"split=config\.params\.n_clusters"))
    # three values of k plus the runs without it (HDBSCAN)
    expect(page.locator(".split-note")).to_have_text("Split by n_clusters: 4 groups.")
    expect(page.locator("#trend-counts")).to_have_text("Runs by n_clusters")
    for k in ("3", "4", "5"):
        expect(counts_chart).to_have_attribute("aria-label", re.compile(rf"(^|, |: ){k} {K_COUNTS[k]}(,|$)"))
    expect(counts_chart).to_have_attribute("aria-label", re.compile(rf"\(not set\) {K_COUNTS['None']}"))
    tab.shot("trends-split-by-parameter")
    # split by algorithm, then back to no split: the status bars return
    split.select_option("algorithm")
    expect(page.locator(".split-note")).to_have_text("Split by Algorithm: 2 groups.")
    expect(counts_chart).to_have_attribute("aria-label", re.compile(rf"kmeans {RUNS - K_COUNTS['None']}"))
    expect(counts_chart).to_have_attribute("aria-label", re.compile(rf"hdbscan {K_COUNTS['None']}"))
    split.select_option("")
    expect(counts_chart).to_have_attribute("aria-label", re.compile("by status"))
    expect(page.locator("#trend-counts")).to_have_text("Runs by status")
    expect(page).not_to_have_url(re.compile("split="))
