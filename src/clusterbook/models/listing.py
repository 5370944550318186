"""Wire models of the listing endpoints: the request body, pagination, stats and the envelope."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import ConfigDict, Field, field_validator, model_validator

from clusterbook.folding import fold
from clusterbook.models.base import StorableBody, WireModel
from clusterbook.models.config_fields import config_field_names, config_kind
from clusterbook.models.executions import ClusterExecutionResult
from clusterbook.models.filters import Node, parse_filter_tree

MAX_SEARCH_TERMS = 16
MIN_INDEXED_TERM = 3
"""Search terms shorter than this have no trigram: every candidate row's text is scanned for them."""
MAX_SHORT_TERMS = 4
"""Short terms per search: each one is a scan of the text of every row the other terms leave."""


def reject_unknown_keys(data: Any, accepted: tuple[str, ...], what: str) -> Any:
    """Fail with the accepted keys named, instead of pydantic's bare 'extra inputs' message."""
    if isinstance(data, dict):
        unknown = sorted(set(data) - set(accepted))
        if unknown:
            raise ValueError(f"unknown {what} key {unknown[0]!r}; accepted keys: {', '.join(accepted)}")
    return data


class SortSpec(WireModel):
    """Sort by one field; nulls always last, ties broken by run_id."""

    model_config = ConfigDict(extra="forbid")

    field: str = Field(description="created_at, completed_at, num_clusters, num_points, metrics.*, status, duration …")
    direction: Literal["asc", "desc"] = "desc"

    @field_validator("direction", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value


class ListRequestBase(StorableBody):
    """Filters, sort and search shared by every listing endpoint."""

    _checked_elsewhere: ClassVar[tuple[str, ...]] = ("filters",)  # the filter parser: invalid_filter at the node

    filters: dict[str, Any] | None = Field(
        default=None,
        description="Logical filter tree: {operator: AND|OR, conditions: [...]}, {AND|OR|NOT: [...]} or {field: value}.",
        examples=[{"operator": "AND", "conditions": [{"field": "status", "operator": "eq", "value": "completed"}]}],
    )
    sort: SortSpec | None = None
    search: str | None = Field(
        default=None,
        max_length=500,
        description="Case-insensitive partial match; whitespace-separated terms are AND-ed.",
    )

    @field_validator("search")
    @classmethod
    def _few_terms(cls, value: str | None) -> str | None:
        terms = set(fold(value).split()) if value is not None else set()
        if len(terms) > MAX_SEARCH_TERMS:
            raise ValueError(f"search may have at most {MAX_SEARCH_TERMS} distinct terms")
        if sum(len(term) < MIN_INDEXED_TERM for term in terms) > MAX_SHORT_TERMS:
            raise ValueError(
                f"search may have at most {MAX_SHORT_TERMS} terms shorter than {MIN_INDEXED_TERM} characters "
                "(no index serves them); use longer terms"
            )
        return value

    @model_validator(mode="before")
    @classmethod
    def _known_keys(cls, data: Any) -> Any:
        return reject_unknown_keys(data, tuple(cls.model_fields), "request body")

    def filter_tree(self) -> Node | None:
        """The validated filter tree (raises InvalidFilter naming the bad node)."""
        return parse_filter_tree(self.filters)

    def search_terms(self) -> list[str]:
        """Distinct folded (``clusterbook.folding``), whitespace-separated search terms (empty when there is none)."""
        return list(dict.fromkeys(fold(term) for term in (self.search or "").split()))


MAX_PERCENTILES = 10


def check_group_by(value: str | None) -> str | None:
    """``status``, ``algorithm`` or a ``config.*`` field (``models/config_fields.py``)."""
    if value is not None and value not in ("status", "algorithm") and config_kind(value) is None:
        raise ValueError(f"cannot group by {value!r}; accepted: status, algorithm, {', '.join(config_field_names())}")
    return value


class ListClusterExecutionsRequest(ListRequestBase):
    """Body of ``POST /v1/clusters/{cluster_id}/executions/list``; ``{}`` lists all, newest first."""

    stats_scope: Literal["page", "all"] = Field(
        default="page",
        description="'page' (the contract): stats over the returned page. 'all': over the whole filtered set.",
    )
    group_by: str | None = Field(
        default=None,
        max_length=120,
        description="With stats_scope 'all': the same stats per value of status, algorithm or a config.* field "
        "(config.params.n_clusters …), in the response's 'groups'.",
    )
    percentiles: list[float] | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_PERCENTILES,
        description="With stats_scope 'all': these percentiles (0–100) of execution time and each declared "
        "metric, in the response's 'percentiles'.",
        examples=[[50, 95]],
    )

    @field_validator("group_by")
    @classmethod
    def _group_by(cls, value: str | None) -> str | None:
        return check_group_by(value)

    @field_validator("percentiles")
    @classmethod
    def _percentiles(cls, value: list[float] | None) -> list[float] | None:
        for p in value or ():
            if not 0 <= p <= 100:
                raise ValueError(f"percentiles are from 0 to 100, not {p:g}")
        return None if value is None else list(dict.fromkeys(value))

    @model_validator(mode="after")
    def _whole_set_only(self) -> ListClusterExecutionsRequest:
        for name in ("group_by", "percentiles"):
            if getattr(self, name) is not None and self.stats_scope != "all":
                raise ValueError(f'{name} describes the whole filtered set: send it with stats_scope "all"')
        return self


class ListClustersRequest(ListRequestBase):
    """Body of ``POST /v1/clusters/list``."""


class PaginationResponse(WireModel):
    """Where this page sits: totals, and absolute URLs / a keyset cursor for the neighbours."""

    total: int
    page: int
    page_size: int
    total_pages: int
    next_page: str | None = None
    previous_page: str | None = None
    next_cursor: str | None = Field(
        default=None, description="Opaque keyset cursor for the next page; pass it back as ?cursor=."
    )


class ClusterExecutionListStats(WireModel):
    """Aggregates over the current page (default) or the whole filtered set (stats_scope='all')."""

    total_executions: int = 0
    executions_by_status: dict[str, int] = Field(default_factory=dict)
    avg_execution_time_ms: float = 0.0
    total_documents_clustered: int = 0
    avg_num_clusters: float = 0.0


class ExecutionStatsGroup(WireModel):
    """The stats of the runs whose ``group_by`` field has this value (null: runs without it)."""

    key: str | float | int | bool | None
    stats: ClusterExecutionListStats


class ListClusterExecutionsResponse(WireModel):
    """The execution-history page: results, pagination, total_count and stats."""

    results: list[ClusterExecutionResult]
    pagination: PaginationResponse
    total_count: int
    stats: ClusterExecutionListStats | None = None
    groups: list[ExecutionStatsGroup] | None = Field(
        default=None, description="With group_by: the stats per value, nulls last (absent otherwise)."
    )
    percentiles: dict[str, dict[str, float | None]] | None = Field(
        default=None,
        description="With percentiles: {measure: {percentile: value}} for execution_time_ms and each declared "
        "metric (metrics.<name>); null where no run has a value.",
    )
