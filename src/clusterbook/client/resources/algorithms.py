"""``client.algorithms``: the server's catalogue of algorithms, their parameters, preprocessing steps and presets."""

from __future__ import annotations

from clusterbook.client._http import AsyncTransport, Call, SyncTransport, model, route
from clusterbook.models.catalogue import AlgorithmCatalogue

LIST = route("GET", "/v1/algorithms")


class Algorithms:
    """What a cluster may ask for, as the server declares it (``GET /v1/algorithms``).

    >>> catalogue = client.algorithms.list()
    >>> [p.name for p in catalogue.algorithms[0].params][:1]
    ['n_clusters']
    """

    def __init__(self, http: SyncTransport) -> None:
        self._http = http

    def list(self) -> AlgorithmCatalogue:
        """Every algorithm (parameters with type, default, bounds and meaning), preprocessing step and preset."""
        return self._http.call(Call.to(LIST, model(AlgorithmCatalogue)))


class AsyncAlgorithms:
    """The async twin of :class:`Algorithms`."""

    def __init__(self, http: AsyncTransport) -> None:
        self._http = http

    async def list(self) -> AlgorithmCatalogue:
        return await self._http.call(Call.to(LIST, model(AlgorithmCatalogue)))
