"""``client.webhooks`` (sync and async) against a live server, and ``verify_signature`` on what the
delivery loop really sends."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy.orm import Session, sessionmaker

from clusterbook.api.background import BackgroundServer
from clusterbook.client import AsyncClient, Client, NotFound, SignatureError, ValidationFailed, verify_signature
from clusterbook.models.signatures import signature_header
from clusterbook.runner.webhooks import encode_body
from clusterbook.store.namespaces import ensure_namespace
from clusterbook.store.webhooks import enqueue_event


def test_sync_create_update_iterate_deliveries_delete(client: Client, session_factory: sessionmaker[Session]) -> None:
    hook = client.webhooks.create("https://example.com/a", ["monitor.triggered"], description="one")
    other = client.webhooks.create("https://example.com/b", ["execution.completed"], active=False)
    assert {h.webhook_id for h in client.webhooks.iter(page_size=1)} == {hook.webhook_id, other.webhook_id}
    changed = client.webhooks.update(hook.webhook_id, url="https://example.com/c", description=None)
    assert (changed.url, changed.description, changed.events) == ("https://example.com/c", None, ["monitor.triggered"])
    assert client.webhooks.get(hook.webhook_id) == changed
    with session_factory() as session, session.begin():
        ns = ensure_namespace(session, name="default").namespace_id
        for i in range(3):
            enqueue_event(session, namespace_id=ns, event="monitor.triggered", payload={"i": i})
    log = list(client.webhooks.iter_deliveries(hook.webhook_id, page_size=2))
    assert len(log) == 3 and {d.status for d in log} == {"pending"}
    page = client.webhooks.deliveries(hook.webhook_id, include_payload=True, page_size=3)
    assert sorted(d.payload["data"]["i"] for d in page.results if d.payload) == [0, 1, 2]
    with pytest.raises(ValidationFailed, match="allowed events"):
        client.webhooks.create("https://example.com", ["execution.started"])
    client.webhooks.delete(hook.webhook_id)
    with pytest.raises(NotFound):
        client.webhooks.deliveries(hook.webhook_id)


def test_async_twin(live_server: BackgroundServer) -> None:
    async def main() -> tuple[str, bool, int]:
        async with AsyncClient(live_server.url, retries=0) as client:
            hook = await client.webhooks.create("https://example.com/x", ["execution.failed"])
            off = await client.webhooks.update(hook.webhook_id, active=False)
            found = [h.webhook_id async for h in client.webhooks.iter()]
            empty = await client.webhooks.deliveries(hook.webhook_id)
            assert [d async for d in client.webhooks.iter_deliveries(hook.webhook_id)] == []
            await client.webhooks.delete(hook.webhook_id)
            assert found == [hook.webhook_id]
            return hook.secret, off.active, empty.total_count

    secret, active, count = asyncio.run(main())
    assert secret.startswith("whsec_") and active is False and count == 0


def test_verify_signature_checks_secret_body_and_age() -> None:
    body = encode_body({"type": "execution.failed", "data": {"run_id": "run_x", "label": "Straße"}})
    header = signature_header("whsec_a", body, timestamp=1_700_000_000)
    assert verify_signature("whsec_a", header, body, now=1_700_000_100) == 1_700_000_000
    for secret, sent, now, why in (
        ("whsec_b", body, 1_700_000_100, "does not match"),
        ("whsec_a", body.replace(b"run_x", b"run_y"), 1_700_000_100, "does not match"),
        ("whsec_a", body, 1_700_000_301, "more than 300 s"),
    ):
        with pytest.raises(SignatureError, match=why):
            verify_signature(secret, header, sent, now=now)
    for bad in (None, "", "v1=abc", "t=1700000000"):
        with pytest.raises(SignatureError):
            verify_signature("whsec_a", bad, body, now=1_700_000_000)
    # a second scheme beside v1 (a rotated secret, a future version) does not stop the match
    assert verify_signature("whsec_a", header + ",v1=00ff", body, now=1_700_000_000)
