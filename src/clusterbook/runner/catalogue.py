"""The engine's catalogue as the API's wire model (built once per process; the declaration is static)."""

from __future__ import annotations

from functools import cache
from typing import Any

from clusterbook.engine.catalogue import catalogue
from clusterbook.engine.params import ParamSpec, has_default
from clusterbook.models.catalogue import AlgorithmCatalogue, ParamInfo


def _param(spec: ParamSpec) -> ParamInfo:
    return ParamInfo(
        name=spec.name,
        type=spec.kind,
        default=spec.default if has_default(spec) else None,
        has_default=has_default(spec),
        minimum=spec.low,
        maximum=spec.high,
        exclusive_minimum=spec.low_open,
        exclusive_maximum=spec.high_open,
        choices=list(spec.choices),
        also=list(spec.also),
        accepted=spec.describe(),
        meaning=spec.meaning,
    )


@cache
def algorithm_catalogue() -> AlgorithmCatalogue:
    data: dict[str, Any] = catalogue()
    for entry in (*data["algorithms"], *data["preprocessing_steps"]):
        entry["params"] = [_param(spec) for spec in entry["params"]]
    return AlgorithmCatalogue.model_validate(data)
