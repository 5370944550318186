"""The SDK with a real API key: sent as a Bearer token, bound to its namespace; a missing or
revoked key raises Unauthorized, another tenant's cluster is NotFound like a missing one."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy.orm import Session, sessionmaker

from clusterbook.api.background import BackgroundServer
from clusterbook.client import AsyncClient, Client, NotFound, Unauthorized
from clusterbook.store.db import make_sessionmaker
from clusterbook.store.keys import create_api_key, revoke_api_key
from clusterbook.store.namespaces import ensure_namespace
from tests.factories import make_cluster


def _key(factory: sessionmaker[Session], namespace: str) -> tuple[str, str]:
    with make_sessionmaker(factory.kw["bind"], writes=True)() as session, session.begin():
        ns = ensure_namespace(session, name=namespace)
        key, secret = create_api_key(session, namespace_ids=[ns.namespace_id], name="sdk")
    return key.key_id, secret


def test_the_sdk_sends_its_key(live_server: BackgroundServer, session_factory: sessionmaker[Session]) -> None:
    mine = make_cluster(session_factory, "team-a", cluster_name="ours")
    theirs = make_cluster(session_factory, "team-b", cluster_name="theirs")
    key_id, key = _key(session_factory, "team-a")
    _key(session_factory, "team-b")  # still a key on the server once team-a's is revoked
    with Client(live_server.url, api_key=key, retries=0) as client:
        assert [c.cluster_id for c in client.clusters.list().results] == [mine.cluster_id]
        assert [ns.namespace_name for ns in client.namespaces.list()] == ["team-a"]
        with pytest.raises(NotFound):
            client.clusters.get(theirs.cluster_id)
    with Client(live_server.url, retries=0) as anonymous, pytest.raises(Unauthorized) as caught:
        anonymous.clusters.get(mine.cluster_id)
    assert caught.value.extra["status"] == 401
    with make_sessionmaker(session_factory.kw["bind"], writes=True)() as session, session.begin():
        revoke_api_key(session, key_id=key_id)
    with Client(live_server.url, api_key=key, retries=0) as client, pytest.raises(Unauthorized):
        client.clusters.get(mine.cluster_id)


def test_the_async_sdk_sends_its_key(live_server: BackgroundServer, session_factory: sessionmaker[Session]) -> None:
    mine = make_cluster(session_factory, "team-a", cluster_name="ours")
    _, key = _key(session_factory, "team-a")

    async def main() -> None:
        async with AsyncClient(live_server.url, api_key=key, retries=0) as client:
            assert (await client.clusters.get("ours")).cluster_id == mine.cluster_id
        async with AsyncClient(live_server.url, api_key="cbk_wrong", retries=0) as client:
            with pytest.raises(Unauthorized):
                await client.clusters.get("ours")

    asyncio.run(main())
