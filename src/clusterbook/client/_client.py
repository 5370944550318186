"""``Client`` and ``AsyncClient``: one connection pool, the resources, and the context-manager protocol."""

from __future__ import annotations

import os
from types import TracebackType
from typing import Any

import httpx

from clusterbook.client._http import (
    DEFAULT_TIMEOUT,
    DEFAULT_URL,
    AsyncTransport,
    Call,
    Connection,
    RetryPolicy,
    SyncTransport,
    json_object,
    route,
)
from clusterbook.client.resources import (
    Algorithms,
    AsyncAlgorithms,
    AsyncCentroids,
    AsyncClusters,
    AsyncCollections,
    AsyncDocuments,
    AsyncExecutions,
    AsyncMonitors,
    AsyncNamespaces,
    AsyncSchedules,
    AsyncWebhooks,
    Centroids,
    Clusters,
    Collections,
    Documents,
    Executions,
    Monitors,
    Namespaces,
    Schedules,
    Webhooks,
)

HEALTH = route("GET", "/healthz")


def _connection(base_url: str | None, api_key: str | None, namespace: str | None) -> Connection:
    return Connection(
        base_url=base_url or os.environ.get("CLUSTERBOOK_URL") or DEFAULT_URL,
        api_key=api_key if api_key is not None else (os.environ.get("CLUSTERBOOK_API_KEY") or None),
        namespace=namespace if namespace is not None else (os.environ.get("CLUSTERBOOK_NAMESPACE") or None),
    )


class Client:
    """The clusterbook API from Python, over one pooled HTTP connection.

    ``base_url``, ``api_key`` and ``namespace`` default to ``CLUSTERBOOK_URL`` (else
    ``http://127.0.0.1:8000``), ``CLUSTERBOOK_API_KEY`` and ``CLUSTERBOOK_NAMESPACE`` (else the
    server's default namespace). An API key is sent as ``Authorization: Bearer <key>``, the namespace
    as ``X-Namespace``. Requests are retried ``retries`` times with exponential backoff (``backoff``
    seconds, doubling) when the server cannot be reached or answers 503; never on another status.
    Errors are raised as the server's exception class (``clusterbook.errors``), carrying its message,
    and, for validation errors, each bad location in ``errors``. ``http_client`` lets you bring a
    configured ``httpx.Client`` (proxies, certificates, event hooks); the SDK sets its base URL and
    headers, and leaves closing it to you.

    >>> with Client(url) as client:
    ...     client.health()["status"]
    'ok'
    >>> with Client(url) as client:
    ...     client.clusters.get("no-such-cluster")
    Traceback (most recent call last):
    ...
    clusterbook.errors.NotFound: cluster 'no-such-cluster' not found
    """

    def __init__(
        self,
        base_url: str | None = None,
        *,
        api_key: str | None = None,
        namespace: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        retries: int = 3,
        backoff: float = 0.5,
        http_client: httpx.Client | None = None,
    ) -> None:
        self._transport = SyncTransport(
            _connection(base_url, api_key, namespace),
            timeout=timeout,
            retry=RetryPolicy(retries=retries, backoff=backoff),
            http_client=http_client,
        )
        self.namespaces = Namespaces(self._transport)
        self.collections = Collections(self._transport)
        self.documents = Documents(self._transport)
        self.executions = Executions(self._transport)
        self.clusters = Clusters(self._transport, self.executions)
        self.schedules = Schedules(self._transport)
        self.webhooks = Webhooks(self._transport)
        self.monitors = Monitors(self._transport)
        self.centroids = Centroids(self._transport)
        self.algorithms = Algorithms(self._transport)

    @property
    def base_url(self) -> str:
        return self._transport.connection.base_url

    @property
    def namespace(self) -> str | None:
        """The namespace every request acts in (``None``: the server's default)."""
        return self._transport.connection.namespace

    def health(self) -> dict[str, Any]:
        """The server's liveness answer: ``{"status": "ok", "version": ...}``."""
        return self._transport.call(Call.to(HEALTH, json_object))

    def close(self) -> None:
        """Close the connection pool (not an ``http_client`` passed in)."""
        self._transport.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Client({self.base_url!r}, namespace={self.namespace!r})"


class AsyncClient:
    """The async twin of :class:`Client`: the same resources and methods, awaited.

    >>> import asyncio
    >>> async def main() -> str:
    ...     async with AsyncClient(url) as client:
    ...         page = await client.clusters.list()
    ...         return type(page).__name__
    >>> asyncio.run(main())
    'ListClustersResponse'
    """

    def __init__(
        self,
        base_url: str | None = None,
        *,
        api_key: str | None = None,
        namespace: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        retries: int = 3,
        backoff: float = 0.5,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        self._transport = AsyncTransport(
            _connection(base_url, api_key, namespace),
            timeout=timeout,
            retry=RetryPolicy(retries=retries, backoff=backoff),
            http_client=http_client,
        )
        self.namespaces = AsyncNamespaces(self._transport)
        self.collections = AsyncCollections(self._transport)
        self.documents = AsyncDocuments(self._transport)
        self.executions = AsyncExecutions(self._transport)
        self.clusters = AsyncClusters(self._transport, self.executions)
        self.schedules = AsyncSchedules(self._transport)
        self.webhooks = AsyncWebhooks(self._transport)
        self.monitors = AsyncMonitors(self._transport)
        self.centroids = AsyncCentroids(self._transport)
        self.algorithms = AsyncAlgorithms(self._transport)

    @property
    def base_url(self) -> str:
        return self._transport.connection.base_url

    @property
    def namespace(self) -> str | None:
        return self._transport.connection.namespace

    async def health(self) -> dict[str, Any]:
        return await self._transport.call(Call.to(HEALTH, json_object))

    async def close(self) -> None:
        await self._transport.close()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"AsyncClient({self.base_url!r}, namespace={self.namespace!r})"
