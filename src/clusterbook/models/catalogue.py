"""Wire model of ``GET /v1/algorithms``: the engine's catalogue of algorithms, parameters, steps and presets.

The content is declared once in the engine (``engine/catalogue.py``); these models only give it a stable
JSON shape, so the dashboard's "new cluster" form and other tools read it instead of keeping a copy.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from clusterbook.models.base import WireModel


class ParamInfo(WireModel):
    """One declared parameter of an algorithm or a preprocessing step."""

    name: str
    type: Literal["int", "float", "choice", "bool"]
    default: Any = Field(description="The value filled in when the parameter is left out (null: none).")
    has_default: bool = Field(description="False for a parameter checked when given but never filled (the seed).")
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: bool = False
    exclusive_maximum: bool = False
    choices: list[str] = Field(default_factory=list, description="The accepted strings of a 'choice' parameter.")
    also: list[Any] = Field(default_factory=list, description="Literal values accepted besides the range.")
    accepted: str = Field(description="The accepted values in words, as the 422 message says them.")
    meaning: str = Field(description="What the parameter changes, in one line.")


class AlgorithmInfo(WireModel):
    """One algorithm a cluster may use as ``vector_config.clustering_method``."""

    name: str
    family: str
    description: str
    cluster_type: Literal["vector", "attribute"]
    params: list[ParamInfo]
    defaults: dict[str, Any] = Field(description="The parameters a cluster created without any gets.")
    accepts_preprocessing: bool
    accepts_reassign_noise: bool = Field(description="A density algorithm: noise may be reassigned.")


class PreprocessingStepInfo(WireModel):
    """One step of ``vector_config.preprocessing``: ``{"step": name, <param>: value, ...}``."""

    name: str
    description: str
    params: list[ParamInfo]


class PresetInfo(WireModel):
    """A named pipeline usable as ``vector_config.clustering_method``; it expands at submit."""

    name: str
    algorithm: str
    description: str
    cost: str
    algorithm_params: dict[str, Any]
    preprocessing: list[dict[str, Any]]


class AlgorithmCatalogue(WireModel):
    """Every algorithm, preprocessing step and preset the server accepts."""

    algorithms: list[AlgorithmInfo]
    preprocessing_steps: list[PreprocessingStepInfo]
    presets: list[PresetInfo]
