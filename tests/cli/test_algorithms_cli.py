"""``client.algorithms.list()`` and ``clusterbook algorithms`` against a live server: the catalogue the API
serves, as the engine declares it (one declaration, CONVENTIONS 13), through the one SDK (CONVENTIONS 14)."""

from __future__ import annotations

import asyncio
import json

import httpx
from click.testing import Result
from typer.testing import CliRunner

from clusterbook.api.background import BackgroundServer
from clusterbook.cli.main import app
from clusterbook.client import AsyncClient, Client
from clusterbook.engine.params import ALGORITHM_PARAMS
from clusterbook.engine.preprocessing import STEP_PARAMS
from clusterbook.models.catalogue import AlgorithmCatalogue

CLEAN_ENV = {"CLUSTERBOOK_URL": None, "CLUSTERBOOK_API_KEY": None, "CLUSTERBOOK_NAMESPACE": None}


def cli(server: BackgroundServer, *args: str) -> Result:
    return CliRunner().invoke(app, [*args, "--url", server.url], env=CLEAN_ENV)


def test_the_sdk_returns_the_served_catalogue(live_server: BackgroundServer) -> None:
    with Client(live_server.url) as client:
        catalogue = client.algorithms.list()
    served = httpx.get(f"{live_server.url}/v1/algorithms").json()
    assert catalogue.to_dict() == served
    by_name = {a.name: a for a in catalogue.algorithms}
    assert set(ALGORITHM_PARAMS) <= set(by_name)
    hdbscan = {p.name: p for p in by_name["hdbscan"].params}
    assert hdbscan["min_cluster_size"].default == 5 and hdbscan["min_cluster_size"].minimum == 2
    assert "knn" in hdbscan["implementation"].choices
    assert {s.name for s in catalogue.preprocessing_steps} == set(STEP_PARAMS)


def test_the_async_sdk_returns_the_same(live_server: BackgroundServer) -> None:
    async def fetch() -> AlgorithmCatalogue:
        async with AsyncClient(live_server.url) as client:
            return await client.algorithms.list()

    catalogue = asyncio.run(fetch())
    with Client(live_server.url) as client:
        assert catalogue == client.algorithms.list()


def test_the_cli_lists_algorithms_params_defaults_and_bounds(live_server: BackgroundServer) -> None:
    result = cli(live_server, "algorithms")
    assert result.exit_code == 0, (result.stdout, result.stderr)
    text = " ".join(result.stdout.split())
    for name in ALGORITHM_PARAMS:
        assert f"{name} (" in text, name
    assert "min_cluster_size" in text and "preprocessing step pca" in text and "preset topics" in text
    one = cli(live_server, "algorithms", "hdbscan", "--format", "json")
    assert one.exit_code == 0, one.stderr
    data = json.loads(one.stdout)
    assert [a["name"] for a in data["algorithms"]] == ["hdbscan"]
    params = {p["name"]: p for p in data["algorithms"][0]["params"]}
    assert params["min_cluster_size"]["default"] == 5 and params["min_cluster_size"]["minimum"] == 2


def test_an_unknown_name_exits_1_naming_the_known_ones(live_server: BackgroundServer) -> None:
    result = cli(live_server, "algorithms", "kmeens")
    assert result.exit_code == 1
    assert "no algorithm, step or preset named 'kmeens'" in result.stderr and "kmeans" in result.stderr
