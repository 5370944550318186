"""The dashboard asks for the run's estimate before queuing: a run beyond its algorithm's size limit opens
a dialog with the server's reason and is not queued; a small run is queued with the estimate in the notice."""

from __future__ import annotations

import httpx
from playwright.sync_api import expect


def make_spectral_cluster(url: str, n: int) -> str:
    with httpx.Client(base_url=url, timeout=30) as http:
        collection = http.post("/v1/collections", json={"collection_name": f"points-{n}"}).json()["collection_id"]
        docs = [{"document_id": f"p{i:05d}", "vector": [i % 7 / 7, i % 11 / 11]} for i in range(n)]
        assert http.post(f"/v1/collections/{collection}/documents", json={"documents": docs}).status_code == 200
        body = {
            "cluster_name": f"spectral-{n}",
            "collection_ids": [collection],
            "vector_config": {"clustering_method": "spectral", "algorithm_params": {"n_clusters": 3}},
        }
        response = http.post("/v1/clusters", json=body)
        assert response.status_code == 201, response.text
        return str(response.json()["cluster_id"])


def run_count(url: str, cluster_id: str) -> int:
    return int(httpx.post(f"{url}/v1/clusters/{cluster_id}/executions/list", json={}).json()["total_count"])


def test_a_run_beyond_its_limit_is_explained_and_not_queued(fresh_tab):
    url = fresh_tab.site.url
    too_big = make_spectral_cluster(url, 5_001)  # spectral's limit: 5,000 documents per fit
    page = fresh_tab.open("/")
    row = page.locator("tr", has=page.get_by_role("link", name="spectral-5001"))
    row.get_by_role("button", name="Execute").click()
    dialog = page.get_by_role("dialog", name="spectral-5001 is too large to run")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("5,001 documents × 2 dimensions")
    expect(dialog).to_contain_text("spectral is limited to 5,000 documents per fit")
    expect(dialog).to_contain_text("sample_size at most 5,000")
    expect(dialog.get_by_role("button", name="Queue run")).to_have_count(0)
    fresh_tab.shot("execute-refused-dialog")
    dialog.get_by_role("button", name="Close").click()
    expect(dialog).to_be_hidden()
    expect(row).to_contain_text("Never run")
    assert run_count(url, too_big) == 0


def test_a_small_run_is_queued_with_its_estimate(fresh_tab):
    url = fresh_tab.site.url
    small = make_spectral_cluster(url, 60)
    page = fresh_tab.open("/")
    row = page.locator("tr", has=page.get_by_role("link", name="spectral-60"))
    row.get_by_role("button", name="Execute").click()
    toast = page.locator(".toast").last
    expect(toast).to_contain_text("Run queued for spectral-60 (estimated 60 documents × 2 dimensions · ~")
    expect(page.get_by_role("dialog")).to_have_count(0)
    expect(row.locator(".badge")).to_have_text("Pending")
    assert run_count(url, small) == 1
