"""The "new cluster" form is built from the catalogue (``GET /v1/algorithms``): every algorithm and preset
it offers creates a cluster from the catalogue's own defaults (so the form can never send a parameter the
server refuses, as its old gaussian_mixture preset did), and its hints are the declared meanings."""

from __future__ import annotations

import re

import httpx
from playwright.sync_api import expect

from clusterbook.models.clusters import Cluster


def test_the_form_creates_a_cluster_for_every_algorithm_and_preset_from_the_catalogue(fresh_tab):
    site = fresh_tab.site
    catalogue = httpx.get(f"{site.url}/v1/algorithms").json()
    vector = [a for a in catalogue["algorithms"] if a["cluster_type"] == "vector"]
    offered = [(a["name"], a["defaults"], a) for a in vector] + [
        (p["name"], p["algorithm_params"], next(a for a in vector if a["name"] == p["algorithm"]))
        for p in catalogue["presets"]
    ]
    assert {name for name, _, _ in offered} >= {"kmeans", "gaussian_mixture", "hdbscan", "topics"}
    page = fresh_tab.open("/")
    for name, params, algorithm in offered:
        page.get_by_role("button", name="New cluster").click()
        dialog = page.get_by_role("dialog", name="New cluster")
        dialog.get_by_label("Name").fill(f"form {name}")
        dialog.get_by_label("Algorithm").select_option(name)
        hints = dialog.locator(".param-hints")
        first = algorithm["params"][0]
        expect(hints).to_contain_text(first["meaning"])
        expect(hints).to_contain_text(first["accepted"])
        if name == "gaussian_mixture":
            expect(dialog.get_by_label("Parameters (JSON)")).to_have_value(re.compile(r'"n_clusters":8'))
            expect(dialog.get_by_label("Parameters (JSON)")).not_to_have_value(re.compile("n_components"))
            fresh_tab.shot("new-cluster-catalogue-hints")
        dialog.get_by_role("button", name="Create cluster").click()
        expect(dialog).to_be_hidden()
        expect(page.locator("tr", has=page.get_by_role("link", name=f"form {name}"))).to_be_visible()
        created = Cluster.model_validate(httpx.get(f"{site.url}/v1/clusters/form {name}").json())
        assert created.vector_config is not None
        assert created.vector_config.clustering_method == name
        assert created.vector_config.algorithm_params == params, name
