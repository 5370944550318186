"""The webhooks page in Chromium: create an endpoint through the form (its secret shown once), watch a
real delivery to a real local receiver fail with a 500 and then land, filter the log, pause the
endpoint, and see form errors come back from the API's validation."""

from __future__ import annotations

import httpx
from playwright.sync_api import expect

from clusterbook.models.signatures import verify_signature
from clusterbook.runner.webhooks import DeliveryLoop
from clusterbook.settings import Settings
from tests.webhook_receiver import Receiver

FAST = {"webhook_backoff_seconds": 5.0, "webhook_poll_seconds": 0.1, "webhook_timeout_seconds": 2.0}


def test_create_an_endpoint_and_follow_its_deliveries(fresh_tab):
    site = fresh_tab.site
    engine = site.factory.kw["bind"]
    settings = Settings(database_url=str(engine.url), secret_key="web-tests", **FAST)  # type: ignore[arg-type]
    fresh_tab.watch.allow(r"422 \(Unprocessable")  # the refused URL, on purpose
    with Receiver(statuses=[500]) as rx:
        page = fresh_tab.open("/")
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Webhooks").click()
        expect(page.get_by_role("heading", name="Webhooks", level=1)).to_be_visible()
        expect(page.get_by_text("No webhook endpoints yet")).to_be_visible()
        fresh_tab.shot("webhooks-empty")

        page.get_by_role("button", name="New endpoint").click()
        dialog = page.get_by_role("dialog", name="New webhook endpoint")
        expect(dialog.get_by_label("execution.canceled")).to_be_checked()  # the declared events, read from the API
        expect(dialog.get_by_label("monitor.triggered")).not_to_be_checked()
        dialog.get_by_label("URL").fill("ftp://example.com/hook")
        dialog.evaluate("d => d.querySelector('input[type=url]').type = 'text'")  # past the browser's own check
        dialog.get_by_role("button", name="Create endpoint").click()
        expect(dialog.get_by_role("alert")).to_contain_text("url must start with http:// or https://")
        dialog.get_by_label("URL").fill(rx.url)
        dialog.get_by_label("Description (optional)").fill("pager")
        dialog.get_by_role("button", name="Create endpoint").click()
        created = page.get_by_role("dialog", name="Endpoint created")
        secret = created.locator("#webhook-secret").inner_text()
        assert secret.startswith("whsec_")
        expect(created).to_contain_text("shown only now")
        fresh_tab.shot("webhooks-secret-once")
        created.get_by_role("button", name="Done").click()

        row = page.locator("#webhooks-list tbody tr")
        expect(row).to_have_count(1)
        expect(row).to_contain_text(rx.url)
        expect(row).to_contain_text("Active")
        assert secret not in page.content()  # gone once the dialog closed
        expect(page.get_by_text("Nothing delivered yet")).to_be_visible()

        # a real event: a pending run of the history is canceled over the API
        pending = site.runs["history"][-1]
        cluster = site.clusters["history"].cluster_id
        assert httpx.post(f"{site.url}/v1/clusters/{cluster}/executions/{pending}/cancel").status_code == 200
        loop = DeliveryLoop(engine, settings).start()
        try:
            log = page.locator("#webhook-deliveries tbody tr")
            expect(log).to_have_count(1)
            expect(log).to_contain_text("HTTP 500")  # the first attempt, refused, waits for its retry
            expect(log).to_contain_text("execution.canceled")
            fresh_tab.shot("webhooks-delivery-retrying")
            expect(log).to_contain_text("Delivered", timeout=20_000)  # the page follows the retry
            expect(log.locator("td").nth(2)).to_have_text("2")
            expect(log.locator("td").nth(3)).to_contain_text("200")
        finally:
            loop.stop()
        first, second = rx.wait_for(2)
        verify_signature(secret, second.headers["clusterbook-signature"], second.body)
        assert second.json()["data"]["run_id"] == pending and second.json()["data"]["status"] == "canceled"
        fresh_tab.shot("webhooks-deliveries")

        page.get_by_label("Status").select_option("failed")
        expect(page.get_by_text("No given up deliveries")).to_be_visible()
        assert "status=failed" in page.url
        page.get_by_label("Status").select_option("")
        expect(page.locator("#webhook-deliveries tbody tr")).to_have_count(1)

        row.get_by_role("button", name="Pause").click()
        expect(row).to_contain_text("Paused")
        assert httpx.get(f"{site.url}/v1/webhooks").json()["results"][0]["active"] is False
        page.reload()  # the picked endpoint lives in the URL
        expect(page.locator("#webhook-deliveries tbody tr")).to_have_count(1)
        expect(page.get_by_role("button", name="Resume")).to_be_visible()
        fresh_tab.shot("webhooks-paused")
