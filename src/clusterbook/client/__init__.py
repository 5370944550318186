"""The clusterbook Python SDK: ``Client`` / ``AsyncClient`` over HTTP, and the ``F`` filter builder.

>>> from clusterbook.client import Client, F
>>> with Client(url) as client:
...     page = client.clusters.list(filters=F.field("cluster_name").starts_with("no-such"))
>>> page.total_count
0

Only ``clusterbook.models`` (pydantic), ``clusterbook.errors`` and httpx are needed: the SDK imports
nothing of the server.
"""

from clusterbook.client._client import AsyncClient, Client
from clusterbook.client._errors import ConnectionFailed, WaitTimeout
from clusterbook.client._http import DEFAULT_URL, RetryPolicy
from clusterbook.client._params import SortLike
from clusterbook.client.filters import F, Field, Filter, FilterLike
from clusterbook.client.resources.clusters import UNSET
from clusterbook.errors import (
    ClusterbookError,
    Conflict,
    InvalidFilter,
    InvalidRequest,
    NotFound,
    QueryTimeout,
    ServiceUnavailable,
    Unauthorized,
    ValidationFailed,
)
from clusterbook.models.signatures import SignatureError, verify_signature

__all__ = [
    "DEFAULT_URL",
    "UNSET",
    "AsyncClient",
    "Client",
    "ClusterbookError",
    "Conflict",
    "ConnectionFailed",
    "F",
    "Field",
    "Filter",
    "FilterLike",
    "InvalidFilter",
    "InvalidRequest",
    "NotFound",
    "QueryTimeout",
    "RetryPolicy",
    "SignatureError",
    "ServiceUnavailable",
    "SortLike",
    "Unauthorized",
    "ValidationFailed",
    "WaitTimeout",
    "verify_signature",
]
