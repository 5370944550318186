"""``client.namespaces``: the tenant scopes a server holds (pick one with ``Client(namespace=...)``)."""

from __future__ import annotations

import builtins

from clusterbook.client._http import AsyncTransport, Call, SyncTransport, model, model_list, route
from clusterbook.models.clusters import Namespace

CREATE = route("POST", "/v1/namespaces")
LIST = route("GET", "/v1/namespaces")


class Namespaces:
    """Namespaces of the server.

    >>> client.namespaces.create("team-docs").namespace_name
    'team-docs'
    >>> "team-docs" in [ns.namespace_name for ns in client.namespaces.list()]
    True
    """

    def __init__(self, http: SyncTransport) -> None:
        self._http = http

    def create(self, namespace_name: str) -> Namespace:
        """Create a namespace (409 :class:`~clusterbook.errors.Conflict` when it exists)."""
        return self._http.call(Call.to(CREATE, model(Namespace), body={"namespace_name": namespace_name}))

    def list(self) -> builtins.list[Namespace]:
        """Every namespace of the server."""
        return self._http.call(Call.to(LIST, model_list(Namespace)))


class AsyncNamespaces:
    """The async twin of :class:`Namespaces`."""

    def __init__(self, http: AsyncTransport) -> None:
        self._http = http

    async def create(self, namespace_name: str) -> Namespace:
        return await self._http.call(Call.to(CREATE, model(Namespace), body={"namespace_name": namespace_name}))

    async def list(self) -> builtins.list[Namespace]:
        return await self._http.call(Call.to(LIST, model_list(Namespace)))
