"""The pure clustering engine: arrays and texts in, labels, metrics, labelled centroids and a 2-D projection out.

It never sees a database, an HTTP request or a wire model; ``run_pipeline`` is the one entry point, and
``validate_algorithm_params`` lets the API check a cluster's parameters before any run.
"""

from clusterbook.engine.config import EngineInput, LLMSettings, RunConfig
from clusterbook.engine.embedders import EMBEDDERS
from clusterbook.engine.parallel import SerialMap, TaskMap
from clusterbook.engine.params import ALGORITHMS, validate_algorithm_params
from clusterbook.engine.pipeline import run_pipeline
from clusterbook.engine.results import CentroidResult, EngineResult
from clusterbook.engine.stability import StabilityConfig

__all__ = [
    "ALGORITHMS",
    "EMBEDDERS",
    "CentroidResult",
    "EngineInput",
    "EngineResult",
    "LLMSettings",
    "RunConfig",
    "SerialMap",
    "StabilityConfig",
    "TaskMap",
    "run_pipeline",
    "validate_algorithm_params",
]
