"""The SDK's docstring examples, run as doctests against a live server with a worker (so
``execute(..., wait=True)`` really runs). The filter builder's examples run in ``test_filters``."""

from __future__ import annotations

import doctest
import io
import shutil
from pathlib import Path
from types import ModuleType

import pytest

import clusterbook.client
import clusterbook.client._client
import clusterbook.client.resources.algorithms
import clusterbook.client.resources.clusters
import clusterbook.client.resources.collections
import clusterbook.client.resources.documents
import clusterbook.client.resources.executions
import clusterbook.client.resources.monitors
import clusterbook.client.resources.namespaces
import clusterbook.client.resources.schedules
import clusterbook.client.resources.webhooks
import clusterbook.models.signatures
from clusterbook.api.background import BackgroundServer
from clusterbook.client import Client, F
from clusterbook.settings import Settings
from clusterbook.store.db import make_engine, make_sessionmaker
from tests.api.helpers import make_zoo
from tests.client.conftest import WORKER_RUNNER
from tests.factories import make_cluster

MODULES: list[ModuleType] = [
    clusterbook.client,
    clusterbook.client._client,
    clusterbook.client.resources.namespaces,
    clusterbook.client.resources.collections,
    clusterbook.client.resources.documents,
    clusterbook.client.resources.clusters,
    clusterbook.client.resources.executions,
    clusterbook.client.resources.schedules,
    clusterbook.client.resources.webhooks,
    clusterbook.models.signatures,
    clusterbook.client.resources.monitors,
    clusterbook.client.resources.algorithms,
]


@pytest.mark.slow
def test_docstring_examples_run_against_a_live_server(sqlite_template: Path, tmp_path: Path) -> None:
    path = tmp_path / "doctest.db"
    shutil.copy(sqlite_template, path)
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    cluster = make_cluster(make_sessionmaker(engine), cluster_name="history")
    make_zoo(make_sessionmaker(engine), cluster)
    engine.dispose()

    settings = Settings(database_url=url, secret_key="doctest", **WORKER_RUNNER)  # type: ignore[arg-type]
    finder = doctest.DocTestFinder()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    report = io.StringIO()
    with BackgroundServer(settings, workers=1) as server, Client(server.url, retries=0) as client:
        for module in MODULES:
            extra = {"client": client, "url": server.url, "F": F, "cluster": cluster}
            for test in finder.find(module, globs={**vars(module), **extra}):
                runner.run(test, out=report.write)
    failed, attempted = runner.summarize(verbose=False)
    assert failed == 0, report.getvalue()
    assert attempted >= 30
