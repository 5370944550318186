"""Curated labels: the wire models of a hand-made label (an override beside the computed one), of a
label carried forward from a baseline run, and of a merge of clusters — plus the one rule that
decides a centroid's effective label.

Why the computed values are kept: a curator fixes what the labeler got wrong, and whoever reads the
run later must still see what the run itself found (``computed_*``) and who changed it, when. The
stored centroid keeps ``label``/``summary``/``keywords`` as the effective values, so the listing,
search text and dashboard read one field, and :func:`effective_centroid` is the only place that
decides them: the override wins, then a label inherited from the baseline, then the computed value.

Plain data and pydantic only: ``store/``, ``runner/`` and ``client/`` import it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import ConfigDict, Field, field_validator, model_validator

from clusterbook.models.base import StorableBody, UTCDatetime, WireModel

CURATED_FIELDS = ("label", "summary", "keywords")
"""The parts of a centroid a curator may override."""
MAX_LABEL = 200
MAX_SUMMARY = 2000
MAX_KEYWORDS = 30
MAX_KEYWORD = 100
MAX_MERGE_IDS = 50
INHERIT_JACCARD = 0.5
"""A new run's cluster inherits the curated label of the baseline cluster matched to it at this
Jaccard overlap or more (the issue's threshold: most members are the same documents)."""
ANONYMOUS = "anonymous"
"""Who curated, when the server has no API keys (open mode)."""


def _clean_keywords(value: list[str] | None) -> list[str] | None:
    if value is None:
        return None
    out: list[str] = []
    for i, word in enumerate(value):
        word = word.strip()
        if not word:
            raise ValueError(f"keywords[{i}] is blank; send words with at least one visible character")
        if len(word) > MAX_KEYWORD:
            raise ValueError(f"keywords[{i}] has {len(word)} characters; at most {MAX_KEYWORD} are allowed")
        if word not in out:
            out.append(word)
    return out


class CentroidUpdate(StorableBody):
    """Body of ``PATCH …/executions/{run_id}/centroids/{cluster_id}``: only the fields present change;
    an explicit null removes that override, so the computed (or inherited) value shows again."""

    model_config = ConfigDict(extra="forbid")

    label: str | None = Field(default=None, min_length=1, max_length=MAX_LABEL)
    summary: str | None = Field(default=None, min_length=1, max_length=MAX_SUMMARY)
    keywords: list[str] | None = Field(
        default=None, max_length=MAX_KEYWORDS, description=f"At most {MAX_KEYWORDS} words of {MAX_KEYWORD} characters."
    )

    _keywords = field_validator("keywords")(_clean_keywords)

    @field_validator("label", "summary")
    @classmethod
    def _visible(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("is blank; send visible text, or null to remove the override")
        return None if value is None else value.strip()

    @model_validator(mode="after")
    def _something(self) -> CentroidUpdate:
        if not self.model_fields_set:
            raise ValueError(f"send at least one of {', '.join(CURATED_FIELDS)} (null removes an override)")
        return self


class CentroidMergeRequest(StorableBody):
    """Body of ``POST …/executions/{run_id}/centroids/merge``: the first id keeps its id and absorbs the
    others; ``label`` (optional) becomes the merged cluster's curated label."""

    model_config = ConfigDict(extra="forbid")

    cluster_ids: list[str] = Field(min_length=2, max_length=MAX_MERGE_IDS)
    label: str | None = Field(default=None, min_length=1, max_length=MAX_LABEL)

    @field_validator("cluster_ids")
    @classmethod
    def _distinct(cls, value: list[str]) -> list[str]:
        seen = set()
        for i, cluster_id in enumerate(value):
            if cluster_id in seen:
                raise ValueError(f"cluster_ids[{i}] {cluster_id!r} is named twice; name each cluster once")
            seen.add(cluster_id)
        return value


class CurationStamp(WireModel):
    """Who changed something, and when: the API key's name (or id) that did it, ``anonymous`` on a
    server without keys."""

    by: str
    key_id: str | None = None
    at: UTCDatetime


class CentroidOverride(CurationStamp):
    """The curated values of a centroid; a field left out is not overridden."""

    label: str | None = None
    summary: str | None = None
    keywords: list[str] | None = None


class InheritedLabel(CurationStamp):
    """A curated label carried forward from the baseline cluster matched to this one."""

    run_id: str = Field(description="The baseline run the label came from.")
    cluster_id: str = Field(description="Its cluster matched to this one.")
    jaccard: float = Field(description=f"The pair's Jaccard overlap (at least {INHERIT_JACCARD}).")
    label: str | None = None
    summary: str | None = None
    keywords: list[str] | None = None


class CentroidMerge(CurationStamp):
    """One merge of a run's clusters, as recorded on the run."""

    into: str = Field(description="The cluster that kept its id.")
    cluster_ids: list[str] = Field(description="Every cluster merged, ``into`` first.")
    label: str | None = None
    metrics_before: dict[str, float | int | None] = Field(
        default_factory=dict, description="The run's clustering metrics before this merge."
    )


def stamp(by: str, key_id: str | None, at: datetime) -> dict[str, Any]:
    """The stored form of a :class:`CurationStamp`."""
    return {"by": by, "key_id": key_id, "at": at.isoformat()}


def computed_values(centroid: dict[str, Any]) -> dict[str, Any]:
    """The values the run computed for a stored centroid (its effective ones until it is curated)."""
    return {name: centroid.get(f"computed_{name}", centroid.get(name)) for name in CURATED_FIELDS}


def effective_centroid(centroid: dict[str, Any]) -> dict[str, Any]:
    """``centroid`` with ``label``/``summary``/``keywords`` decided: the override's value where it
    has one, else the inherited one, else the computed one; ``computed_*`` always kept beside."""
    computed = computed_values(centroid)
    out = {**centroid, **{f"computed_{name}": value for name, value in computed.items()}}
    layers = [centroid.get("inherited") or {}, centroid.get("override") or {}]
    for name in CURATED_FIELDS:
        value = computed[name]
        for layer in layers:
            if layer.get(name) is not None:
                value = layer[name]
        out[name] = value
    return out
