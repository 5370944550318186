"""The remote-command tests share the SDK tests' fixtures: a client on the live server, the zoo
history, and a server whose worker computes runs."""

from tests.client.conftest import client, worker_server, zoo  # noqa: F401 - fixtures
