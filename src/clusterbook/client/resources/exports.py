"""The export calls of the SDK: routes and request bodies, shared by ``client.executions.export``,
``client.executions.export_members`` and ``client.documents.export`` (sync and async alike).

The server streams every matching row; the transport writes the body to disk chunk by chunk
(``SyncTransport.download``), so an export of any size takes the client no more memory than a chunk.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from clusterbook.client._http import Call, no_content, route
from clusterbook.client._params import SortLike, list_body
from clusterbook.client.filters import FilterLike

RUNS = route("POST", "/v1/clusters/{cluster_id}/executions/export", idempotent=True)  # reads only
MEMBERS = route("GET", "/v1/clusters/{cluster_id}/executions/{run_id}/members/export")
DOCUMENTS = route("POST", "/v1/collections/{collection_id}/documents/export", idempotent=True)  # reads only

RunFormat = Literal["csv", "ndjson", "parquet"]
MemberFormat = Literal["csv", "parquet"]


def runs_call(
    cluster_id: str,
    format: RunFormat,
    filters: FilterLike | None,
    sort: SortLike | None,
    search: str | None,
    config_fields: Sequence[str] | None,
) -> Call[None]:
    if isinstance(config_fields, str):  # a lone name would be sent as one field per character
        raise TypeError('config_fields must be a list of names, e.g. ["config.params.n_clusters"]')
    body = list_body(filters, sort, search, config_fields=None if config_fields is None else list(config_fields))
    return Call.to(RUNS, no_content, params={"format": format}, body=body, cluster_id=cluster_id)


def members_call(cluster_id: str, run_id: str, format: MemberFormat, fields: Sequence[str] | None) -> Call[None]:
    if isinstance(fields, str):
        raise TypeError('fields must be a list of names, e.g. ["metadata.lang"]')
    params = {"format": format, "fields": list(fields) if fields else None}
    return Call.to(MEMBERS, no_content, params=params, cluster_id=cluster_id, run_id=run_id)


def documents_call(
    collection: str, filters: FilterLike | None, sort: SortLike | None, search: str | None
) -> Call[None]:
    body = list_body(filters, sort, search)
    return Call.to(DOCUMENTS, no_content, params={"format": "ndjson"}, body=body, collection_id=collection)
