"""The SDK's transport: routes, one call description shared by sync and async, retries, error mapping.

Every request the SDK makes is a :class:`Call` on a :class:`Route` declared at import time, so the
route-contract test can check each one against the server's OpenAPI schema. A call is sent by
:class:`SyncTransport` or :class:`AsyncTransport`, which add the headers, retry with exponential
backoff on connection errors and 503 (never on any other status), and turn every problem document
into the exception class the server raised (``clusterbook.errors.ERROR_CLASSES``).
"""

from __future__ import annotations

import asyncio
import enum
import json
import logging
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any, Generic, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel

from clusterbook import __version__
from clusterbook.client._errors import ConnectionFailed
from clusterbook.errors import (
    ERROR_CLASSES,
    ClusterbookError,
    Conflict,
    ErrorLocation,
    InvalidRequest,
    NotFound,
    PayloadTooLarge,
    ServiceUnavailable,
    Unauthorized,
    ValidationFailed,
)

logger = logging.getLogger("clusterbook.client")

T = TypeVar("T")

DEFAULT_URL = "http://127.0.0.1:8000"
DEFAULT_TIMEOUT = 30.0
USER_AGENT = f"clusterbook-python/{__version__}"

ROUTES: list[Route] = []
"""Every route the SDK can call, in declaration order (the route-contract test reads it)."""


@dataclass(frozen=True)
class Route:
    """One endpoint: method and path template, e.g. ``GET /v1/clusters/{cluster_id}``.

    ``idempotent`` says whether sending it twice is harmless; only those calls are retried when a
    connection drops after the request may have reached the server. GET, PATCH and DELETE are;
    a POST only when declared so (the listings, an upsert by id).
    """

    method: str
    template: str
    idempotent: bool

    def path(self, **params: str) -> str:
        """The template with each parameter percent-encoded as one path segment."""
        for name, value in params.items():
            if not value:
                raise ValueError(f"{name} must be a non-empty string")
        return self.template.format(**{name: quote(value, safe="") for name, value in params.items()})


def route(method: str, template: str, *, idempotent: bool | None = None) -> Route:
    """Declare (and register) a route the SDK calls."""
    declared = Route(method, template, method != "POST" if idempotent is None else idempotent)
    ROUTES.append(declared)
    return declared


NO_BODY: Any = object()


@dataclass(frozen=True)
class Call(Generic[T]):
    """One request to make and how to read its answer; the same for the sync and async clients."""

    route: Route
    path: str
    parse: Callable[[httpx.Response], T]
    params: Mapping[str, Any] | None = None
    body: Any = NO_BODY
    content: bytes | None = None
    """A body already encoded as JSON (the document upsert builds its batches as bytes)."""

    @classmethod
    def to(
        cls,
        route: Route,
        parse: Callable[[httpx.Response], T],
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = NO_BODY,
        content: bytes | None = None,
        **path_params: str,
    ) -> Call[T]:
        clean = {k: v for k, v in (params or {}).items() if v is not None}
        return cls(route, route.path(**path_params), parse, clean or None, body, content)


# ----------------------------------------------------------------------------- JSON in and out

M = TypeVar("M", bound=BaseModel)


def json_default(value: Any) -> Any:
    """Encode what ``json`` cannot: timestamps, dates, enums, wire models and filter expressions."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", by_alias=True, exclude_unset=True)
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict):
        return to_dict()
    raise TypeError(f"cannot send a {type(value).__name__} as JSON")


def encode_json(body: Any) -> bytes:
    return json.dumps(body, default=json_default, ensure_ascii=False).encode("utf-8")


def model(cls: type[M]) -> Callable[[httpx.Response], M]:
    """Parse the response body as ``cls``."""

    def parse(response: httpx.Response) -> M:
        return cls.model_validate_json(response.content)

    return parse


def optional_model(cls: type[M]) -> Callable[[httpx.Response], M | None]:
    """Parse the response body as ``cls``, or ``None`` for a JSON ``null``."""

    def parse(response: httpx.Response) -> M | None:
        if response.content.strip() in (b"", b"null"):
            return None
        return cls.model_validate_json(response.content)

    return parse


def model_list(cls: type[M]) -> Callable[[httpx.Response], list[M]]:
    def parse(response: httpx.Response) -> list[M]:
        return [cls.model_validate(item) for item in response.json()]

    return parse


def no_content(response: httpx.Response) -> None:
    return None


def json_object(response: httpx.Response) -> dict[str, Any]:
    data = response.json()
    return dict(data) if isinstance(data, dict) else {"value": data}


# ----------------------------------------------------------------------------- errors

_BY_STATUS: dict[int, type[ClusterbookError]] = {
    400: InvalidRequest,
    401: Unauthorized,
    404: NotFound,
    409: Conflict,
    413: PayloadTooLarge,
    422: ValidationFailed,
    503: ServiceUnavailable,
}


def error_from_response(response: httpx.Response) -> ClusterbookError:
    """The exception a problem document describes: the class of its ``code`` (else of its status),
    carrying the server's ``detail`` as message and its validation locations as ``errors``.

    ``extra`` holds ``status`` (the HTTP status), ``code``, ``title``, ``instance``, ``method`` and ``url``.
    """
    status = response.status_code
    try:
        body = response.json()
    except ValueError:
        body = None
    request = response.request
    extra: dict[str, Any] = {"status": status, "method": request.method, "url": str(request.url)}
    if isinstance(body, dict) and isinstance(body.get("code"), str):
        code = body["code"]
        cls = ERROR_CLASSES.get(code) or _BY_STATUS.get(status, ClusterbookError)
        message = str(body.get("detail") or body.get("title") or f"HTTP {status}")
        errors = [
            ErrorLocation(str(e.get("loc", "")), str(e.get("message", "")), str(e.get("type", "invalid")))
            for e in body.get("errors") or ()
            if isinstance(e, dict)
        ]
        extra.update(code=code, title=body.get("title"), instance=body.get("instance"))
        return cls(message, errors=errors, extra=extra)
    cls = _BY_STATUS.get(status, ClusterbookError)
    if isinstance(body, dict) and isinstance(body.get("detail"), str):
        message = body["detail"]
    else:
        text = " ".join(response.text.split())[:200]
        message = f"HTTP {status} {response.reason_phrase} from {request.method} {request.url}" + (
            f": {text}" if text else ""
        )
    extra.update(code=cls.code, title=response.reason_phrase, instance=request.url.path)
    return cls(message, errors=[], extra=extra)


def _describe(exc: httpx.TransportError) -> str:
    if isinstance(exc, httpx.ConnectError):
        return "connection refused or host unreachable"
    if isinstance(exc, httpx.TimeoutException):
        return f"timed out ({type(exc).__name__})"
    return f"connection failed ({type(exc).__name__}: {exc})" if str(exc) else type(exc).__name__


def connection_failed(exc: httpx.TransportError, method: str, url: str, attempts: int) -> ConnectionFailed:
    tries = f" after {attempts} attempts" if attempts > 1 else ""
    return ConnectionFailed(
        f"cannot reach the clusterbook server at {url}: {_describe(exc)}{tries}",
        extra={"method": method, "url": url, "attempts": attempts},
    )


# ----------------------------------------------------------------------------- retries


@dataclass(frozen=True)
class RetryPolicy:
    """Retry a request ``retries`` more times after the first, waiting ``backoff`` seconds, then twice
    that, and so on (at most ``max_backoff``; a 503's ``Retry-After`` is honoured up to that cap).

    Retried: connection errors (refused, unreachable, connect timeout) always; a connection dropped
    mid-request only for idempotent calls; a 503 answer. Never a 4xx or any other status.
    """

    retries: int = 3
    backoff: float = 0.5
    max_backoff: float = 8.0

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        wait = self.backoff * (2.0**attempt)
        if retry_after is not None:
            wait = max(wait, retry_after)
        return min(wait, self.max_backoff)

    def retryable(self, exc: httpx.TransportError, idempotent: bool) -> bool:
        if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
            return True  # the request never reached the server
        return idempotent and isinstance(exc, httpx.ReadError | httpx.WriteError | httpx.RemoteProtocolError)


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after", "")
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


# ----------------------------------------------------------------------------- downloads

Target = str | os.PathLike[str] | IO[bytes]
"""Where a download goes: a path (written to ``<name>.part`` and renamed into place once complete, so
an interrupted download never leaves a truncated file under the name asked for) or an open binary file."""


class _Sink:
    """One attempt's destination: a ``.part`` file beside the target path, or the caller's open file."""

    def __init__(self, target: Target) -> None:
        self.path: Path | None = None
        self.part: Path | None = None
        if hasattr(target, "write"):
            self.file: IO[bytes] = target  # type: ignore[assignment]
        else:
            self.path = Path(os.fspath(target))
            self.part = self.path.with_name(self.path.name + ".part")
            self.file = self.part.open("wb")
        self.written = 0

    def write(self, chunk: bytes) -> None:
        self.file.write(chunk)
        self.written += len(chunk)

    def commit(self) -> None:
        if self.part is not None and self.path is not None:
            self.file.close()
            os.replace(self.part, self.path)

    def discard(self) -> None:
        if self.part is not None:
            self.file.close()
            self.part.unlink(missing_ok=True)
        elif self.written:
            raise ConnectionFailed(
                f"the download broke off after {self.written} bytes already written to the file given; "
                "download again into an empty file"
            )


# ----------------------------------------------------------------------------- transports


@dataclass
class Connection:
    """Where and as whom the client talks: server URL, API key and namespace (``None``: the server's default)."""

    base_url: str = DEFAULT_URL
    api_key: str | None = None
    namespace: str | None = None

    def headers(self) -> dict[str, str]:
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json, application/problem+json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        if self.namespace:
            headers["X-Namespace"] = self.namespace
        return headers


def _request_args(call: Call[Any]) -> dict[str, Any]:
    args: dict[str, Any] = {"params": call.params}
    content = call.content
    if content is None and call.body is not NO_BODY:
        content = encode_json(call.body)
    if content is not None:
        args["content"] = content
        args["headers"] = {"Content-Type": "application/json"}
    return args


class SyncTransport:
    """Sends calls over one pooled ``httpx.Client`` (connections are reused across calls)."""

    def __init__(
        self,
        connection: Connection,
        *,
        timeout: float,
        retry: RetryPolicy,
        http_client: httpx.Client | None = None,
    ) -> None:
        self.connection = connection
        self.retry = retry
        self._owns_client = http_client is None
        self.http = http_client or httpx.Client(timeout=timeout)
        self.http.base_url = httpx.URL(connection.base_url.rstrip("/") + "/")
        self.http.headers.update(connection.headers())

    def send(self, call: Call[Any]) -> httpx.Response:
        args = _request_args(call)
        attempt = 0
        while True:
            try:
                response = self.http.request(call.route.method, call.path.lstrip("/"), **args)
            except httpx.TransportError as exc:
                if attempt < self.retry.retries and self.retry.retryable(exc, call.route.idempotent):
                    self._wait(call, attempt, _describe(exc))
                    attempt += 1
                    continue
                raise connection_failed(exc, call.route.method, self.connection.base_url, attempt + 1) from exc
            if response.status_code == 503 and attempt < self.retry.retries:
                self._wait(call, attempt, "503 Service Unavailable", _retry_after(response))
                attempt += 1
                continue
            if response.is_error:
                raise error_from_response(response)
            return response

    def call(self, call: Call[T]) -> T:
        return call.parse(self.send(call))

    def download(self, call: Call[Any], target: Target) -> int:
        """Stream the response body of ``call`` into ``target`` chunk by chunk; returns the bytes written.

        Retried like :meth:`send` (connection errors, 503); a body that breaks off midway is retried
        from the start when the call is idempotent (each attempt starts a new ``.part`` file)."""
        args = _request_args(call)
        attempt = 0
        while True:
            sink: _Sink | None = None
            try:
                with self.http.stream(call.route.method, call.path.lstrip("/"), **args) as response:
                    if response.status_code == 503 and attempt < self.retry.retries:
                        response.read()
                        self._wait(call, attempt, "503 Service Unavailable", _retry_after(response))
                        attempt += 1
                        continue
                    if response.is_error:
                        response.read()
                        raise error_from_response(response)
                    sink = _Sink(target)
                    for chunk in response.iter_bytes():
                        sink.write(chunk)
                    sink.commit()
                    return sink.written
            except httpx.TransportError as exc:
                if sink is not None:
                    sink.discard()
                if attempt < self.retry.retries and self.retry.retryable(exc, call.route.idempotent):
                    self._wait(call, attempt, _describe(exc))
                    attempt += 1
                    continue
                raise connection_failed(exc, call.route.method, self.connection.base_url, attempt + 1) from exc
            except BaseException:
                if sink is not None and sink.part is not None:
                    sink.discard()
                raise

    def _wait(self, call: Call[Any], attempt: int, reason: str, retry_after: float | None = None) -> None:
        delay = self.retry.delay(attempt, retry_after)
        logger.info("%s %s: %s; retrying in %.2f s", call.route.method, call.path, reason, delay)
        time.sleep(delay)

    def close(self) -> None:
        if self._owns_client:
            self.http.close()


class AsyncTransport:
    """Sends calls over one pooled ``httpx.AsyncClient``."""

    def __init__(
        self,
        connection: Connection,
        *,
        timeout: float,
        retry: RetryPolicy,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        self.connection = connection
        self.retry = retry
        self._owns_client = http_client is None
        self.http = http_client or httpx.AsyncClient(timeout=timeout)
        self.http.base_url = httpx.URL(connection.base_url.rstrip("/") + "/")
        self.http.headers.update(connection.headers())

    async def send(self, call: Call[Any]) -> httpx.Response:
        args = _request_args(call)
        attempt = 0
        while True:
            try:
                response = await self.http.request(call.route.method, call.path.lstrip("/"), **args)
            except httpx.TransportError as exc:
                if attempt < self.retry.retries and self.retry.retryable(exc, call.route.idempotent):
                    await self._wait(call, attempt, _describe(exc))
                    attempt += 1
                    continue
                raise connection_failed(exc, call.route.method, self.connection.base_url, attempt + 1) from exc
            if response.status_code == 503 and attempt < self.retry.retries:
                await self._wait(call, attempt, "503 Service Unavailable", _retry_after(response))
                attempt += 1
                continue
            if response.is_error:
                raise error_from_response(response)
            return response

    async def call(self, call: Call[T]) -> T:
        return call.parse(await self.send(call))

    async def download(self, call: Call[Any], target: Target) -> int:
        """The async twin of :meth:`SyncTransport.download` (the file is written from the event loop,
        chunk by chunk as they arrive)."""
        args = _request_args(call)
        attempt = 0
        while True:
            sink: _Sink | None = None
            try:
                async with self.http.stream(call.route.method, call.path.lstrip("/"), **args) as response:
                    if response.status_code == 503 and attempt < self.retry.retries:
                        await response.aread()
                        await self._wait(call, attempt, "503 Service Unavailable", _retry_after(response))
                        attempt += 1
                        continue
                    if response.is_error:
                        await response.aread()
                        raise error_from_response(response)
                    sink = _Sink(target)
                    async for chunk in response.aiter_bytes():
                        sink.write(chunk)
                    sink.commit()
                    return sink.written
            except httpx.TransportError as exc:
                if sink is not None:
                    sink.discard()
                if attempt < self.retry.retries and self.retry.retryable(exc, call.route.idempotent):
                    await self._wait(call, attempt, _describe(exc))
                    attempt += 1
                    continue
                raise connection_failed(exc, call.route.method, self.connection.base_url, attempt + 1) from exc
            except BaseException:
                if sink is not None and sink.part is not None:
                    sink.discard()
                raise

    async def _wait(self, call: Call[Any], attempt: int, reason: str, retry_after: float | None = None) -> None:
        delay = self.retry.delay(attempt, retry_after)
        logger.info("%s %s: %s; retrying in %.2f s", call.route.method, call.path, reason, delay)
        await asyncio.sleep(delay)

    async def close(self) -> None:
        if self._owns_client:
            await self.http.aclose()
