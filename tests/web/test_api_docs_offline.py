"""The API docs work on a machine without internet: Swagger UI loads from the server itself (the tab fails on any request that leaves it; here such requests are also cut off)."""

from __future__ import annotations

from playwright.sync_api import Route, expect


def cut_off_the_internet(tab) -> None:
    origin = tab.site.url

    def only_the_server(route: Route) -> None:
        if route.request.url.startswith(origin):
            route.continue_()
        else:
            route.abort("internetdisconnected")

    tab.page.context.route("**/*", only_the_server)


def test_swagger_ui_renders_every_route_without_a_network(tab):
    cut_off_the_internet(tab)
    page = tab.open("/docs")
    listing = page.locator(".opblock-summary-path", has_text="/v1/clusters/{cluster_id}/executions/list")
    expect(listing.first).to_be_visible()
    listing.first.click()  # an operation opens with its request body schema
    expect(page.locator(".opblock-body").first).to_be_visible()
    expect(page.locator(".information-container .title")).to_contain_text("clusterbook")
    tab.shot("api-docs-offline")
