"""The dashboard on a server with API keys: its shell loads without a key, the API's 401 brings up the
key prompt, and the key (kept for the tab's session) is then sent as a Bearer token."""

from __future__ import annotations

from playwright.sync_api import expect

from clusterbook.store.db import make_sessionmaker
from clusterbook.store.keys import create_api_key
from clusterbook.store.namespaces import ensure_namespace


def test_the_dashboard_asks_for_a_key_and_then_uses_it(fresh_tab):
    site = fresh_tab.site
    with make_sessionmaker(site.factory.kw["bind"], writes=True)() as session, session.begin():
        ns = ensure_namespace(session, name="default")
        _, key = create_api_key(session, namespace_ids=[ns.namespace_id], name="browser")
    fresh_tab.watch.allow(r"401 \(Unauthorized\)")
    page = fresh_tab.open("/")
    dialog = page.get_by_role("dialog", name="API key required")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("only requests that carry an API key")
    dialog.get_by_label("API key").fill("cbk_not_a_key")
    dialog.get_by_role("button", name="Use key").click()
    expect(dialog).to_contain_text("The saved key was refused")  # after the reload
    fresh_tab.shot("api-key-prompt")
    dialog.get_by_label("API key").fill(key)
    dialog.get_by_role("button", name="Use key").click()
    expect(page.get_by_role("link", name="support-tickets")).to_be_visible()
    expect(page.get_by_role("dialog")).to_have_count(0)
    assert page.evaluate("sessionStorage.getItem('cb.apiKey')") == key
    page.reload()  # kept for the tab's session
    expect(page.get_by_role("link", name="support-tickets")).to_be_visible()
    expect(page.get_by_role("dialog")).to_have_count(0)
