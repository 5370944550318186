"""The SDK takes numpy arrays as vectors and sends them compactly (``vector_b64``); lists still go as
lists. Against a live server on both databases, sync and async."""

from __future__ import annotations

import asyncio
import json

import numpy as np
import pytest

from clusterbook.api.background import BackgroundServer
from clusterbook.client import AsyncClient, Client
from clusterbook.client.resources.documents import upsert_batches
from clusterbook.errors import ValidationFailed


def _stored(client: Client, collection: str) -> dict[str, np.ndarray]:
    return {
        d.document_id: np.asarray(d.vector, dtype=np.float32)
        for d in client.documents.iter(collection, include_vectors=True)
    }


def test_numpy_vectors_travel_as_base64_and_lists_as_lists() -> None:
    docs = [
        {"document_id": "a", "vector": np.array([0.1, 0.2], dtype=np.float64), "metadata": {"k": 1}},
        {"document_id": "b", "vector": [0.5, 1.5]},
    ]
    (body,) = upsert_batches(docs, 10, 1 << 20)
    sent = json.loads(body)["documents"]
    assert sent[0] == {"document_id": "a", "metadata": {"k": 1}, "vector_b64": "zczMPc3MTD4="}
    assert sent[1] == {"document_id": "b", "vector": [0.5, 1.5]}
    with pytest.raises(ValueError, match="1-D"):
        list(upsert_batches([{"document_id": "m", "vector": np.ones((2, 2))}], 10, 1 << 20))


def test_sync_upsert_of_numpy_vectors_round_trips_exactly(client: Client) -> None:
    client.collections.create("np")
    vectors = np.random.default_rng(3).standard_normal((250, 32)).astype(np.float32)
    docs = [{"document_id": f"d{i:03}", "vector": v} for i, v in enumerate(vectors)]
    result = client.documents.upsert("np", docs, batch_size=100)
    assert (result.created, result.collection.vector_dimension) == (250, 32)
    stored = _stored(client, "np")
    assert np.array_equal(np.stack([stored[f"d{i:03}"] for i in range(250)]), vectors)


def test_a_numpy_vector_beyond_float32_is_refused_naming_the_component(client: Client) -> None:
    client.collections.create("np")
    too_big = np.array([1.0, 1e300, 2.0])  # float64: finite, but infinity as float32
    with pytest.raises(ValidationFailed) as caught:
        client.documents.upsert("np", [{"document_id": "a", "text": "t"}, {"document_id": "b", "vector": too_big}])
    assert caught.value.errors[0].loc == "documents[1].vector[1]"
    assert "float32" in caught.value.errors[0].message
    assert client.collections.get("np").document_count == 0


def test_async_upsert_of_numpy_vectors_round_trips_exactly(live_server: BackgroundServer, client: Client) -> None:
    vectors = np.random.default_rng(4).standard_normal((40, 8)).astype(np.float32)

    async def go() -> None:
        async with AsyncClient(live_server.url, retries=0) as aclient:
            await aclient.collections.create("anp")
            docs = [{"document_id": f"d{i:02}", "vector": v} for i, v in enumerate(vectors)]
            result = await aclient.documents.upsert("anp", docs, batch_size=16)
            assert result.created == 40

    asyncio.run(go())
    stored = _stored(client, "anp")
    assert np.array_equal(np.stack([stored[f"d{i:02}"] for i in range(40)]), vectors)
