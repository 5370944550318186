"""The one exception tree of clusterbook, with stable codes and the code → HTTP status table.

Every layer raises these; the API turns them into RFC 9457 problem documents and the SDK maps a
problem's ``code`` back to the same class, so callers catch one hierarchy everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar


@dataclass(frozen=True)
class ErrorLocation:
    """One bad place in a request: a dotted path such as ``filters.conditions[1].value``."""

    loc: str
    message: str
    type: str = "invalid"

    def to_dict(self) -> dict[str, str]:
        return {"loc": self.loc, "message": self.message, "type": self.type}


@dataclass
class ClusterbookError(Exception):
    """Base of every error clusterbook raises on purpose."""

    message: str
    errors: list[ErrorLocation] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    code: ClassVar[str] = "internal_error"
    status: ClassVar[int] = 500
    title: ClassVar[str] = "Internal server error"

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message


class InvalidRequest(ClusterbookError):
    code = "invalid_request"
    status = 400
    title = "Invalid request"


class InvalidJson(InvalidRequest):
    code = "invalid_json"
    title = "Malformed JSON"


class ValidationFailed(ClusterbookError):
    code = "validation_error"
    status = 422
    title = "Request validation failed"


class ClusteringFailed(ClusterbookError):
    """A run could not cluster its data; the message says the cause and the fix."""

    code = "clustering_failed"
    status = 422
    title = "Clustering failed"


class RunTooLarge(ClusteringFailed):
    """A run is beyond its algorithm's declared size limit (``engine/limits.py``); refused at submit.

    The message names the opt-in that brings it within the limit (``sample_size``, or
    ``algorithm_params.pca_components`` for the density algorithms) and ``extra`` holds the estimate.
    """

    code = "run_too_large"
    title = "Run too large"


class InvalidFilter(ValidationFailed):
    code = "invalid_filter"
    title = "Invalid filter"


class InvalidSort(ValidationFailed):
    code = "invalid_sort"
    title = "Invalid sort"


class InvalidPagination(ValidationFailed):
    code = "invalid_pagination"
    title = "Invalid pagination"


class InvalidCursor(InvalidRequest):
    code = "invalid_cursor"
    title = "Invalid cursor"


class Unauthorized(ClusterbookError):
    code = "unauthorized"
    status = 401
    title = "Unauthorized"


class Forbidden(ClusterbookError):
    code = "forbidden"
    status = 403
    title = "Forbidden"


class NotFound(ClusterbookError):
    code = "not_found"
    status = 404
    title = "Not found"


class Conflict(ClusterbookError):
    code = "conflict"
    status = 409
    title = "Conflict"


class PayloadTooLarge(ClusterbookError):
    code = "payload_too_large"
    status = 413
    title = "Payload too large"


class QueryTimeout(ClusterbookError):
    """A read ran past the server's query budget (``CLUSTERBOOK_QUERY_TIMEOUT``) and was stopped.

    422, not 503: the SDK retries a 503, which would only repeat the query that was too expensive;
    the fix is on the caller's side (narrow the request), and the message says which part costs.
    """

    code = "query_timeout"
    status = 422
    title = "Query too expensive"


class ServiceUnavailable(ClusterbookError):
    code = "service_unavailable"
    status = 503
    title = "Service unavailable"


ERROR_CLASSES: dict[str, type[ClusterbookError]] = {
    cls.code: cls
    for cls in (
        ClusterbookError,
        InvalidRequest,
        InvalidJson,
        ValidationFailed,
        ClusteringFailed,
        RunTooLarge,
        InvalidFilter,
        InvalidSort,
        InvalidPagination,
        InvalidCursor,
        Unauthorized,
        Forbidden,
        NotFound,
        Conflict,
        PayloadTooLarge,
        QueryTimeout,
        ServiceUnavailable,
    )
}
"""code → class; the SDK uses it to raise the same class the server raised."""
