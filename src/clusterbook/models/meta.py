"""Wire model of ``GET /v1/meta/measures``: the declared measures of a run, for the dashboard and tools."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from clusterbook.models.base import WireModel
from clusterbook.models.measures import MEASURES, Measure


class MeasureInfo(WireModel):
    """One declared measure (see ``models/measures.py``)."""

    name: str
    path: str = Field(description="Where the value sits in a run: 'metrics.<name>' or a top-level attribute.")
    field: str = Field(description="The name to filter and sort by.")
    aliases: list[str] = Field(description="Other names filters and sorts accept for it.")
    kind: Literal["number", "integer"]
    direction: Literal["higher", "lower"] | None = Field(description="Which way is better; null when neither is.")
    minimum: float | None
    maximum: float | None
    unit: str | None
    digits: int = Field(description="Decimals worth showing.")
    label: str
    meaning: str

    @classmethod
    def of(cls, measure: Measure) -> MeasureInfo:
        return cls(
            name=measure.name,
            path=measure.path,
            field=measure.field,
            aliases=list(measure.aliases),
            kind=measure.kind,
            direction=measure.direction,
            minimum=measure.minimum,
            maximum=measure.maximum,
            unit=measure.unit,
            digits=measure.digits,
            label=measure.label,
            meaning=measure.meaning,
        )


class MeasuresResponse(WireModel):
    """Every declared measure, in display order."""

    results: list[MeasureInfo]


def measures_response() -> MeasuresResponse:
    return MeasuresResponse(results=[MeasureInfo.of(m) for m in MEASURES])
