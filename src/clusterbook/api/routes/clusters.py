"""Cluster routes: create, read (by id or name), update, delete, list."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Request, Response

from clusterbook.api.deps import ClusterDep, NamespaceDep, SessionDep, writes_database
from clusterbook.api.paging import PageParams, page_params, pagination_block, prepare_listing
from clusterbook.api.problems import COMMON_PROBLEMS, problem_responses
from clusterbook.models.clusters import Cluster, ClusterCreate, ClusterUpdate, ListClustersResponse
from clusterbook.models.listing import ListClustersRequest
from clusterbook.runner.config import validate_cluster_config
from clusterbook.store import clusters as store
from clusterbook.store.fields import CLUSTER_FIELDS

router = APIRouter(prefix="/v1/clusters", tags=["clusters"], responses=COMMON_PROBLEMS)


@router.post(
    "",
    response_model=Cluster,
    status_code=201,
    summary="Create a cluster configuration",
    responses=problem_responses(409),
)
@writes_database
def create_cluster(data: ClusterCreate, namespace: NamespaceDep, session: SessionDep) -> Cluster:
    validate_cluster_config(data.cluster_type, data.vector_config, data.attribute_config)
    return store.create_cluster(session, namespace_id=namespace.namespace_id, data=data)


@router.post("/list", response_model=ListClustersResponse, summary="List the namespace's clusters")
def list_clusters(
    request: Request,
    namespace: NamespaceDep,
    session: SessionDep,
    params: Annotated[PageParams, Depends(page_params)],
    body: Annotated[ListClustersRequest | None, Body()] = None,
) -> ListClustersResponse:
    scope = {"ns": namespace.namespace_id, "list": "clusters"}
    query, paging = prepare_listing(request, params, body or ListClustersRequest(), CLUSTER_FIELDS, scope)
    results, fetched = store.list_clusters(
        session, namespace_id=namespace.namespace_id, query=query, page=paging.request
    )
    total = fetched.total or 0
    return ListClustersResponse(
        results=results,
        pagination=pagination_block(request, paging, total=total, next_key=fetched.next_key),
        total_count=total,
    )


@router.get("/{cluster_id}", response_model=Cluster, summary="One cluster, by id or name")
def get_cluster(cluster: ClusterDep) -> Cluster:
    return cluster


@router.patch(
    "/{cluster_id}",
    response_model=Cluster,
    summary="Change a cluster's configuration",
    responses=problem_responses(409),
)
@writes_database
def update_cluster(data: ClusterUpdate, cluster: ClusterDep, namespace: NamespaceDep, session: SessionDep) -> Cluster:
    changed = data.model_fields_set
    validate_cluster_config(
        cluster.cluster_type,
        data.vector_config if "vector_config" in changed else cluster.vector_config,
        data.attribute_config if "attribute_config" in changed else cluster.attribute_config,
    )
    return store.update_cluster(session, namespace_id=namespace.namespace_id, cluster_id=cluster.cluster_id, data=data)


@router.delete("/{cluster_id}", status_code=204, summary="Delete a cluster and its execution history")
@writes_database
def delete_cluster(cluster: ClusterDep, session: SessionDep) -> Response:
    store.delete_cluster(session, cluster_id=cluster.cluster_id)
    return Response(status_code=204)
