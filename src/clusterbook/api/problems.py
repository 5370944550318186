"""One error shape for every 4xx/5xx: RFC 9457 problem details plus a stable ``code``.

Validation errors also list each bad location. No stack trace or SQL ever reaches a response.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from clusterbook.errors import ClusterbookError, ErrorLocation
from clusterbook.models.filters import MAX_DEPTH

logger = logging.getLogger(__name__)

PROBLEM_TYPE = "application/problem+json"
FASTAPI_BODY_PARSE_FAILURE = "There was an error parsing the body"
HTTP_TITLES = {400: "Bad request", 404: "Not found", 405: "Method not allowed", 413: "Payload too large"}


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
    body: dict[str, Any] = {
        "type": f"/problems/{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
        "code": code,
    }
    if errors:
        body["errors"] = [e.to_dict() for e in errors]
    return JSONResponse(body, status_code=status, media_type=PROBLEM_TYPE, headers=headers)


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
        return 'the request body must be a JSON object, such as {} or {"filters": {...}}'
    message = str(error.get("msg", "invalid value"))
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    return message


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(ClusterbookError)
    async def _ours(request: Request, exc: ClusterbookError) -> JSONResponse:
        return problem_response(
            request, status=exc.status, code=exc.code, title=exc.title, detail=exc.message, errors=exc.errors
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
            # FastAPI's answer when the JSON parser itself gives up (in practice: recursion depth).
            return problem_response(
                request,
                status=422,
                code="validation_error",
                title="Request validation failed",
                detail="the request body is nested too deeply to parse; filter trees may be at most "
                f"{MAX_DEPTH} levels deep",
                errors=[ErrorLocation("body", "nested too deeply", "too_deep")],
            )
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
        return problem_response(
            request,
            status=422,
            code="validation_error",
            title="Request validation failed",
            detail="the request body is nested too deeply; filter trees may be at most 8 levels deep",
        )

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
