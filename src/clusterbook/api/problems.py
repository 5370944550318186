"""One error shape for every 4xx/5xx: RFC 9457 problem details plus a stable ``code``.

Validation errors also list each bad location. No stack trace or SQL ever reaches a response.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from clusterbook.errors import ClusterbookError, ErrorLocation
from clusterbook.models.filters import MAX_DEPTH

logger = logging.getLogger(__name__)

PROBLEM_TYPE = "application/problem+json"
RAW_BODY_KEY = "clusterbook.raw_body"
"""Where the body-size middleware leaves the raw body (as its list of chunks), so an error handler can say
why it did not parse."""
BODY_TOO_LARGE_KEY = "clusterbook.body_too_large"
"""Set by the body-size middleware to ``(limit, hint)`` when it stops a body that streams in without a
Content-Length: FastAPI turns the error raised inside its body read into a 400 "error parsing the
body", which the handler answers as the 413 it is."""
FASTAPI_BODY_PARSE_FAILURE = "There was an error parsing the body"
HTTP_TITLES = {400: "Bad request", 404: "Not found", 405: "Method not allowed", 413: "Payload too large"}


class ProblemError(BaseModel):
    """One bad place in a request."""

    loc: str = Field(description="Where: a dotted path such as filters.conditions[1].value, or query.page_size.")
    message: str
    type: str


class Problem(BaseModel):
    """RFC 9457 problem details plus a stable ``code``: the body of every error response."""

    type: str = Field(description="/problems/<code>")
    title: str
    status: int
    detail: str = Field(description="What was wrong and how to fix it; never a stack trace or SQL.")
    instance: str = Field(description="The request path.")
    code: str = Field(description="Stable machine-readable code, e.g. invalid_filter, invalid_cursor, not_found.")
    errors: list[ProblemError] | None = Field(default=None, description="Each bad location (validation errors).")


PROBLEM_DESCRIPTIONS = {
    400: "Malformed request: a body that is not JSON in UTF-8 (invalid_json), a malformed X-Namespace header "
    "(invalid_request) or a cursor that is forged, altered or for another query (invalid_cursor)",
    401: "No valid API key: missing, unknown or revoked (unauthorized)",
    403: "The key may not do this (forbidden)",
    404: "The namespace, or an object named in the path, does not exist in it (not_found)",
    409: "The request conflicts with the current state (conflict)",
    413: "The body is over the server's size limit (payload_too_large); refused before it is parsed",
    422: "The request is well-formed but invalid; errors[] names each bad location "
    "(validation_error, invalid_filter, invalid_sort, invalid_pagination)",
    503: "The server is busy (service_unavailable), e.g. with other large uploads; retry after the "
    "Retry-After header's seconds",
}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` documenting these error statuses with the problem shape (served as
    application/problem+json, see :func:`document_problems`)."""
    return {status: {"model": Problem, "description": PROBLEM_DESCRIPTIONS[status]} for status in statuses}


COMMON_PROBLEMS = problem_responses(400, 401, 404, 413, 422)
"""What any /v1 route that reads ``X-Namespace`` (and perhaps a body or path ids) may answer."""


def document_problems(app: FastAPI) -> None:
    """Make the app's OpenAPI schema say what error responses really carry: every 4xx/5xx body is
    documented as ``application/problem+json`` (FastAPI would list the route's ``application/json``)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            for item in schema.get("paths", {}).values():
                for operation in item.values():
                    for status, response in (operation.get("responses") or {}).items():
                        content = response.get("content") or {}
                        if str(status)[:1] in "45" and "application/json" in content:
                            content.setdefault(PROBLEM_TYPE, content.pop("application/json"))
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def problem_body(
    *, status: int, code: str, title: str, detail: str, instance: str, errors: list[ErrorLocation] | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": f"/problems/{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": instance,
        "code": code,
    }
    if errors:
        body["errors"] = [e.to_dict() for e in errors]
    return body


def problem_response(
    request: Request,
    *,
    status: int,
    code: str,
    title: str,
    detail: str,
    errors: list[ErrorLocation] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body = problem_body(status=status, code=code, title=title, detail=detail, instance=request.url.path, errors=errors)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_TYPE, headers=headers)


def payload_too_large(instance: str, max_bytes: int, *, hint: str = "") -> JSONResponse:
    body = problem_body(
        status=413,
        code="payload_too_large",
        title="Payload too large",
        detail=f"request bodies may be at most {max_bytes} bytes{hint}",
        instance=instance,
    )
    return JSONResponse(body, status_code=413, media_type=PROBLEM_TYPE)


def _loc(parts: tuple[Any, ...]) -> str:
    """('body', 'filters', 'conditions', 1, 'value') → 'filters.conditions[1].value'."""
    if parts and parts[0] == "body":
        parts = parts[1:]
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "body"


def _message(error: dict[str, Any]) -> str:
    if tuple(error.get("loc", ())) == ("body",) and error.get("type") == "model_attributes_type":
        return 'the request body must be a JSON object sent as Content-Type: application/json, such as {} or {"filters": {...}}'
    message = str(error.get("msg", "invalid value"))
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    return message


def validation_locations(errors: list[Any], prefix: str) -> list[ErrorLocation]:
    """Pydantic's errors for one part of a body, as the locations a 422 lists (``prefix`` names the part)."""
    found = []
    for error in errors:
        inner = _loc(tuple(error.get("loc", ())))
        where = prefix if inner == "body" else (f"{prefix}.{inner}" if not inner.startswith("[") else prefix + inner)
        found.append(ErrorLocation(where, _message(error), str(error.get("type", "invalid"))))
    return found


def too_deep_response(request: Request) -> JSONResponse:
    return problem_response(
        request,
        status=422,
        code="validation_error",
        title="Request validation failed",
        detail=f"the request body is nested too deeply to parse; filter trees may be at most {MAX_DEPTH} levels deep",
        errors=[ErrorLocation("body", "nested too deeply", "too_deep")],
    )


def _unparsable_body(request: Request) -> JSONResponse:
    """Say why the JSON parser gave up on a body FastAPI could not read (it only says that it did)."""
    raw = b"".join(request.scope.get(RAW_BODY_KEY, ()))
    try:
        json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        reason = "the request body is not valid UTF-8; send JSON text encoded as UTF-8"
    except RecursionError:
        return too_deep_response(request)
    except ValueError as exc:
        reason = f"the request body is not valid JSON: {exc}"
    else:
        reason = "the request body could not be read as JSON"
    return problem_response(request, status=400, code="invalid_json", title="Malformed JSON", detail=reason)


def install_problem_handlers(app: FastAPI) -> None:
    document_problems(app)

    @app.exception_handler(ClusterbookError)
    async def _ours(request: Request, exc: ClusterbookError) -> JSONResponse:
        return problem_response(
            request,
            status=exc.status,
            code=exc.code,
            title=exc.title,
            detail=exc.message,
            errors=exc.errors,
            headers={"WWW-Authenticate": "Bearer"} if exc.status == 401 else None,
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        raw = list(exc.errors())
        if any(e.get("type") == "json_invalid" for e in raw):
            return problem_response(
                request,
                status=400,
                code="invalid_json",
                title="Malformed JSON",
                detail="the request body is not valid JSON (UTF-8); send a JSON object such as {}",
            )
        errors = [ErrorLocation(_loc(tuple(e.get("loc", ()))), _message(e), str(e.get("type", "invalid"))) for e in raw]
        detail = "; ".join(f"{e.loc}: {e.message}" for e in errors[:5])
        return problem_response(
            request,
            status=422,
            code="validation_error",
            title="Request validation failed",
            detail=detail,
            errors=errors,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400 and exc.detail == FASTAPI_BODY_PARSE_FAILURE:
            refused = request.scope.get(BODY_TOO_LARGE_KEY)
            if refused is not None:
                return payload_too_large(request.url.path, refused[0], hint=refused[1])
            return _unparsable_body(request)
        title = HTTP_TITLES.get(exc.status_code, "Error")
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        detail = exc.detail if isinstance(exc.detail, str) else title
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"no such endpoint: {request.method} {request.url.path}"
        return problem_response(
            request, status=exc.status_code, code=code, title=title, detail=detail, headers=exc.headers
        )

    @app.exception_handler(RecursionError)
    async def _too_deep(request: Request, exc: RecursionError) -> JSONResponse:
        return too_deep_response(request)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        logger.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem_response(
            request,
            status=500,
            code="internal_error",
            title="Internal server error",
            detail="the server failed to handle this request; the error has been logged",
        )
