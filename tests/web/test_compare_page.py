"""The compare page on the server's compare (POST …/executions/compare): picked in the history, the
measures with the server's best marked, the config differences, matched clusters side by side with
Jaccard and both labels, the flow diagram and its table, moved documents, and runs it refuses."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.api.test_compare_routes import completed_run
from tests.web.conftest import HISTORY, PHONE, Site, Tab, new_context, screenshot, watch_page

N = 300
REFERENCE = {f"doc-{i:03d}": f"cl_{i % 3}" for i in range(N)}
RELABELED = {"cl_0": "cl_1", "cl_1": "cl_2", "cl_2": "cl_0"}
SEED = {doc: RELABELED[c] if i % 30 else RELABELED[f"cl_{(i + 1) % 3}"] for i, (doc, c) in enumerate(REFERENCE.items())}
"""The reference's clusters under other names, every 30th document moved to the next cluster."""
COARSE = {doc: "cl_0" if c == "cl_0" or i % 30 == 2 else "cl_1" for i, (doc, c) in enumerate(REFERENCE.items())}
"""Two clusters: the reference's cl_1 and most of cl_2 merged (so cl_1 is the one matched)."""


def config(k: int, seed: int) -> dict[str, Any]:
    return {"algorithm": "kmeans", "params": {"n_clusters": k, "init": "k-means++"}, "random_state": seed}


@pytest.fixture(scope="module")
def runs(site: Site) -> dict[str, str]:
    """A cluster whose three runs hold memberships (added to the module's site)."""
    from tests.factories import make_cluster

    cluster = make_cluster(site.factory, cluster_name="compare-me")
    site.clusters["compare"] = cluster
    made = {
        "reference": completed_run(
            site.factory,
            cluster,
            0,
            REFERENCE,
            config=config(3, 1),
            metrics={"silhouette_score": 0.71, "davies_bouldin_index": 0.5},
            labels=("Billing", "Login", "Shipping"),
        ),
        "seed": completed_run(
            site.factory,
            cluster,
            1,
            SEED,
            config=config(3, 2),
            metrics={"silhouette_score": 0.69, "davies_bouldin_index": 0.45},
            labels=("Delivery", "Invoices", "Passwords"),
        ),
        "coarse": completed_run(
            site.factory,
            cluster,
            2,
            COARSE,
            config=config(2, 1),
            metrics={"silhouette_score": 0.4, "davies_bouldin_index": 1.1},
            labels=("Invoices", "Accounts and shipping"),
        ),
    }
    site.set_run(made["reference"], run_name="k3-seed1")
    site.set_run(made["seed"], run_name="k3-seed2")
    site.set_run(made["coarse"], run_name="k2-seed1")
    return made


def test_matched_clusters_flows_config_and_metrics(tab: Tab, runs: dict[str, str]) -> None:
    cluster_id = tab.site.clusters["compare"].cluster_id
    ids = ",".join([runs["reference"], runs["seed"], runs["coarse"]])
    page = tab.open(f"/clusters/{cluster_id}/compare?runs={ids}")
    header = page.locator(".compare-table thead .compare-col")
    expect(header).to_have_count(3)
    expect(header.first).to_contain_text("k3-seed1")
    expect(header.first.locator(".reference-badge")).to_have_text("reference")
    # the server's best: silhouette higher, Davies-Bouldin lower
    silhouette = page.locator(".compare-table tbody tr[data-measure='silhouette_score']")
    expect(silhouette.locator("td.best")).to_contain_text("0.71")
    expect(silhouette.locator("td").nth(0)).to_have_class(re.compile(r"\bbest\b"))
    davies = page.locator(".compare-table tbody tr[data-measure='davies_bouldin_index']")
    expect(davies.locator("td").nth(1)).to_have_class(re.compile(r"\bbest\b"))
    expect(davies.locator("td.best")).to_have_count(1)
    # config differences: only what differs
    diff = page.locator(".config-diff tbody tr")
    expect(diff).to_have_count(2)
    expect(page.locator(".config-diff tr[data-key='params.n_clusters'] td")).to_have_text(["3", "3", "2"])
    expect(page.locator(".config-diff tr[data-key='random_state'] td")).to_have_text(["1", "2", "1"])

    pairs = page.locator("section.pair")
    expect(pairs).to_have_count(2)
    seed = pairs.nth(0)
    expect(seed.get_by_role("heading", level=2)).to_have_text("k3-seed2 against k3-seed1")
    expect(seed.locator(".card", has_text="Shared documents").locator(".card-value")).to_have_text("300")
    expect(seed.locator(".card", has_text="Moved").locator(".card-value")).to_have_text("10")
    rows = seed.locator(".matches-table tbody tr")
    expect(rows).to_have_count(3)
    billing = seed.locator(".matches-table tr[data-reference='cl_0']")
    expect(billing).to_contain_text("Billing")
    expect(billing).to_contain_text("Invoices")  # cl_0 of the reference became cl_1 of the seed run
    expect(billing.locator(".jaccard")).to_contain_text(re.compile(r"0\.9\d"))
    # the flow diagram is drawn, and its flows are in a table too
    canvas = seed.locator(".flow-box canvas")
    expect(canvas).to_be_visible()
    assert page.evaluate("(c) => c.toDataURL().length", canvas.element_handle()) > 5000
    assert page.evaluate("(c) => Chart.getChart(c).config.type", canvas.element_handle()) == "sankey"
    seed.get_by_text("Flows as a table").click()
    flows = seed.locator(".flows-table tbody tr")
    expect(flows).to_have_count(4)
    expect(flows).to_have_text(["LoginPasswords100", "ShippingDelivery100", "BillingInvoices90", "BillingPasswords10"])
    seed.get_by_text("Moved documents").click()
    expect(seed.locator(".moved-list li")).to_have_count(10)
    expect(seed.locator(".moved-list li").first).to_have_text("doc-000: cl_0 → cl_2")

    coarse = pairs.nth(1)
    expect(coarse.locator(".matches-table tbody tr")).to_have_count(3)
    expect(coarse.locator(".matches-table tr[data-reference='cl_2']")).to_contain_text("no match")
    tab.shot("compare-server")


def test_history_selection_leads_to_the_compare(tab: Tab) -> None:
    site = tab.site
    cluster_id = site.clusters["history"].cluster_id
    page = tab.open(f"/clusters/{cluster_id}?status=completed")
    rows = page.locator(".history-table tbody tr")
    expect(rows.first.locator(".badge")).to_have_text("Completed")
    names = rows.locator(".row-title").all_inner_texts()[:3]
    for i in range(3):
        rows.nth(i).get_by_role("checkbox").check()
    expect(page.locator(".compare-bar")).to_contain_text("3 of 4 runs selected")
    page.get_by_role("link", name="Compare 3 runs").click()
    expect(page).to_have_url(re.compile(r"/compare\?runs=run_"))
    header = page.locator(".compare-table thead .compare-col")
    expect(header).to_have_count(3)
    for i, name in enumerate(names):
        expect(header.nth(i)).to_contain_text(name)
    by_name = {f"nightly-{i:03d}": s for i, s in enumerate(HISTORY)}
    best = max(by_name[n]["metrics"]["silhouette_score"] for n in names)
    silhouette_row = page.locator(".compare-table tbody tr[data-measure='silhouette_score']")
    expect(silhouette_row.locator("td.best")).to_contain_text(f"{best:.2f}")
    # these runs kept no memberships: each pair says so
    expect(page.locator("section.pair")).to_have_count(2)
    expect(page.locator("section.pair .notice").first).to_have_text("No agreement: the runs share no document.")
    # remove one, add another from the picker; the URL follows
    page.get_by_role("button", name=f"Remove {names[1]} from the comparison").click()
    expect(header).to_have_count(2)
    picker = page.get_by_label("Add a run (newest completed runs)")
    expect(picker).to_be_enabled()
    picker.select_option(index=1)
    page.get_by_role("button", name="Add", exact=True).click()
    expect(header).to_have_count(3)
    page.reload()
    expect(header).to_have_count(3)


def test_compare_without_runs_explains_what_to_do(tab: Tab) -> None:
    page = tab.open(f"/clusters/{tab.site.clusters['history'].cluster_id}/compare")
    expect(page.get_by_text("Pick two to four runs to compare")).to_be_visible()
    expect(page.get_by_label("Add a run (newest completed runs)")).to_be_enabled()


def test_runs_the_server_will_not_compare_are_named(tab: Tab) -> None:
    tab.watch.allow(r"422 \(Unprocessable (Entity|Content)\)")
    tab.watch.allow(r"404 \(Not Found\)")  # the unknown run, looked up for its column
    site = tab.site
    good = site.runs["history"][0]
    failed = site.runs["history"][3]
    page = tab.open(f"/clusters/{site.clusters['history'].cluster_id}/compare?runs={good},run_missing,{failed}")
    expect(page.get_by_role("alert")).to_contain_text("only completed runs can")
    columns = page.locator(".compare-col")
    expect(columns.first).to_contain_text("nightly-000")
    expect(columns.nth(1)).to_contain_text("Run not found in this namespace")
    expect(columns.nth(2)).to_contain_text("is failed; only completed runs can be compared")
    expect(columns.nth(2)).to_contain_text("nightly-003")
    failed_status = page.locator(".compare-table tbody tr", has=page.get_by_role("rowheader", name="Status"))
    expect(failed_status.locator("td").nth(2)).to_contain_text("Failed")
    columns.nth(1).get_by_role("button", name=re.compile("Remove")).click()
    expect(columns).to_have_count(2)
    tab.shot("compare-refused")


@pytest.fixture
def phone_tab(browser: Any, site: Site) -> Iterator[Tab]:
    context = new_context(browser, PHONE)
    page = context.new_page()
    found = Tab(page, site, watch_page(page, site.url))
    yield found
    context.close()


def test_the_compare_fits_a_phone(phone_tab: Tab, runs: dict[str, str]) -> None:
    cluster_id = phone_tab.site.clusters["compare"].cluster_id
    page = phone_tab.open(f"/clusters/{cluster_id}/compare?runs={runs['reference']},{runs['coarse']}")
    expect(page.locator("section.pair .flow-box canvas")).to_be_visible()
    overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1, f"the page scrolls sideways by {overflow}px"
    screenshot(page, "compare-server-phone")
