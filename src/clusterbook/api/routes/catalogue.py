"""``GET /v1/algorithms``: the catalogue of algorithms, their parameters, preprocessing steps and presets."""

from __future__ import annotations

from fastapi import APIRouter

from clusterbook.api.problems import COMMON_PROBLEMS
from clusterbook.models.catalogue import AlgorithmCatalogue

router = APIRouter(prefix="/v1", tags=["meta"], responses=COMMON_PROBLEMS)


@router.get(
    "/algorithms",
    response_model=AlgorithmCatalogue,
    summary="The algorithms, their parameters, the preprocessing steps and the presets",
    description="Declared once in the engine: every algorithm a cluster may use (family, description, each "
    "parameter's type, default, bounds and meaning, the defaults a cluster gets), every step of "
    "vector_config.preprocessing with its parameters, and the presets (such as 'topics') that "
    "vector_config.clustering_method also accepts. The dashboard's new-cluster form is built from it.",
)
def list_algorithms() -> AlgorithmCatalogue:
    from clusterbook.runner.catalogue import algorithm_catalogue  # the engine loads on first use

    return algorithm_catalogue()
