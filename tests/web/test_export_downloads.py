"""The download buttons in a real browser: the history page exports every run matching its current
filters and sort (not only the page shown), as CSV and typed Parquet; the run page exports the run's
members. Each downloaded file is read back and compared with what the API lists."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import httpx
import pyarrow as pa
import pyarrow.parquet as pq
from playwright.sync_api import expect

from clusterbook.store.queue import insert_members
from tests.web.conftest import HISTORY


def _download(page, button) -> Path:
    with page.expect_download() as info:
        button.click()
    download = info.value
    path = Path(download.path())
    assert download.failure() is None
    return path.rename(path.with_name(download.suggested_filename))


def test_history_downloads_every_run_matching_the_filters_and_sort(tab) -> None:
    cluster = tab.site.clusters["history"]
    page = tab.open(f"/clusters/{cluster.cluster_id}?status=completed,failed&sort=points&dir=asc&min_sil=0.3")
    expect(page.locator(".history-table tbody tr:not(.skeleton-row)").first).to_be_visible()
    body = {
        "filters": {"operator": "AND", "conditions": [
            {"field": "status", "operator": "in", "value": ["completed", "failed"]},
            {"field": "metrics.silhouette_score", "operator": "gte", "value": 0.3},
        ]},
        "sort": {"field": "num_points", "direction": "asc"},
    }  # fmt: skip
    listed = httpx.post(
        f"{tab.site.url}/v1/clusters/{cluster.cluster_id}/executions/list", json=body, params={"page_size": 100}
    ).json()
    expected = [run["run_id"] for run in listed["results"]]
    assert listed["total_count"] == len(expected) > 10  # more than the page the table shows

    group = page.get_by_role("group", name="Download matching runs")
    saved = _download(page, group.get_by_role("button", name="CSV"))
    assert saved.name == "support-tickets-runs.csv"
    rows = list(csv.DictReader(io.StringIO(saved.read_text())))
    assert [row["run_id"] for row in rows] == expected
    assert all(float(row["silhouette_score"]) >= 0.3 for row in rows)
    expect(page.locator(".toast-success")).to_contain_text("Downloaded")
    tab.shot("history-export")

    saved = _download(page, group.get_by_role("button", name="Parquet"))
    table = pq.read_table(saved)
    assert table.column("run_id").to_pylist() == expected
    assert table.schema.field("num_points").type == pa.int64()
    assert table.schema.field("created_at").type == pa.timestamp("us", tz="UTC")


def test_the_run_page_downloads_its_members(fresh_tab) -> None:
    site = fresh_tab.site
    run_id = site.runs["detail"][0]
    ids = [f"doc-{n:03d}" for n in range(130)]
    with site.factory() as session, session.begin():
        insert_members(
            session, run_id, ids, [f"cl_{n % 3}" if n % 10 else None for n in range(130)],
            [n / 100 if n % 10 else None for n in range(130)],
        )  # fmt: skip
    page = fresh_tab.open(f"/clusters/{site.clusters['detail'].cluster_id}/runs/{run_id}")
    group = page.get_by_role("group", name="Download members")
    expect(group).to_be_visible()
    saved = _download(page, group.get_by_role("button", name="CSV"))
    rows = list(csv.DictReader(io.StringIO(saved.read_text())))
    assert [row["document_id"] for row in rows] == ids
    labels = {c["cluster_id"]: c["label"] for c in HISTORY[1]["centroids"]}
    assert rows[1] == {"document_id": "doc-001", "cluster_id": "cl_1", "label": labels["cl_1"], "distance": "0.01"}
    assert rows[10]["cluster_id"] == "" and rows[10]["label"] == ""
    fresh_tab.shot("run-members-export")
    saved = _download(page, group.get_by_role("button", name="Parquet"))
    assert pq.read_table(saved).num_rows == 130


def test_a_run_that_is_not_completed_offers_no_member_download(tab) -> None:
    site = tab.site
    run_id = site.runs["detail"][1]  # failed
    page = tab.open(f"/clusters/{site.clusters['detail'].cluster_id}/runs/{run_id}")
    expect(page.get_by_role("heading", name="This run failed")).to_be_visible()
    expect(page.get_by_role("group", name="Download members")).to_have_count(0)
