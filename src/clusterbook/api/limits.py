"""ASGI middleware that bounds requests: bodies above the configured size are refused before anything
parses them, and document uploads share a budget of bytes in flight.

Document uploads (``POST /v1/collections/{collection}/documents``) get their own, larger size limit;
every other request keeps the small one.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import math
import re
from collections.abc import Callable

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from clusterbook.api.problems import BODY_TOO_LARGE_KEY, PROBLEM_TYPE, RAW_BODY_KEY, payload_too_large, problem_body

UPLOAD_BODY_KEY = "clusterbook.upload_body"
"""Where :class:`UploadGate` leaves an upload's body for the route (``api/uploads.py``)."""
UPLOAD_PATH = re.compile(r"/v1/collections/[^/]+/documents/?")
UPLOAD_HINT = "; send fewer documents per request (the server's CLUSTERBOOK_MAX_UPLOAD_BYTES sets this limit)"
BODY_HINT = " (the server's CLUSTERBOOK_MAX_BODY_BYTES)"


class BodyTooLarge(Exception):
    def __init__(self, max_bytes: int, hint: str) -> None:
        super().__init__(f"body above {max_bytes} bytes")
        self.max_bytes = max_bytes
        self.hint = hint


def is_upload(scope: Scope) -> bool:
    return scope.get("method") == "POST" and UPLOAD_PATH.fullmatch(scope.get("path", "")) is not None


class BodySizeLimit:
    def __init__(self, app: ASGIApp, max_bytes: int, max_upload_bytes: int | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.max_upload_bytes = max_bytes if max_upload_bytes is None else max_upload_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        upload = is_upload(scope)
        limit, hint = (self.max_upload_bytes, UPLOAD_HINT) if upload else (self.max_bytes, BODY_HINT)
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._refuse(scope, send, limit, hint)
            return
        seen = 0
        started = False
        chunks: list[bytes] = []

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                chunk = message.get("body", b"")
                seen += len(chunk)
                if seen > limit:
                    scope[BODY_TOO_LARGE_KEY] = (limit, hint)
                    raise BodyTooLarge(limit, hint)
                # Kept (bounded by the limit; joined only if needed) so an error handler can say why a
                # body did not parse. Not for uploads: they parse and explain their bodies themselves
                # (api/uploads.py), and a second copy would double their memory.
                if not upload:
                    chunks.append(chunk)
                if not upload and not message.get("more_body", False):
                    scope[RAW_BODY_KEY] = chunks
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await self._refuse(scope, send, limit, hint)

    async def _refuse(self, scope: Scope, send: Send, limit: int, hint: str) -> None:
        async def no_body() -> Message:
            return {"type": "http.disconnect"}

        await payload_too_large(scope.get("path", ""), limit, hint=hint)(scope, no_body, send)


class UploadGate:
    """Bounds the bytes of document uploads in flight (each parses into its own working memory).

    An upload counts its Content-Length (or the upload limit when it declares none), capped at the
    budget so one upload can always run alone. One that finds no room waits up to ``wait_seconds``,
    then gets a 503 with ``Retry-After``. When the last upload in flight ends, the C heap's free pages
    go back to the system (:func:`give_back_memory`), so the process does not keep its peak.

    The gate reads the body whole before the route runs (into ``scope[UPLOAD_BODY_KEY]``), so no
    database transaction (on SQLite: the write lock) is open while a slow client sends it.
    """

    def __init__(self, app: ASGIApp, budget_bytes: int, max_upload_bytes: int, wait_seconds: float) -> None:
        self.app = app
        self.budget = budget_bytes
        self.max_upload_bytes = max_upload_bytes
        self.wait_seconds = wait_seconds
        self.in_flight = 0
        self._room: asyncio.Condition | None = None

    @staticmethod
    def _declared(scope: Scope) -> int | None:
        declared = dict(scope.get("headers") or []).get(b"content-length")
        return int(declared) if declared is not None and declared.isdigit() else None

    def _cost(self, scope: Scope) -> int:
        declared = self._declared(scope)
        return max(1, min(self.max_upload_bytes if declared is None else declared, self.budget))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_upload(scope):
            await self.app(scope, receive, send)
            return
        if self._room is None:
            self._room = asyncio.Condition()
        room = self._room
        cost = self._cost(scope)
        async with room:
            if self.in_flight + cost > self.budget:
                try:
                    fits = lambda: self.in_flight + cost <= self.budget  # noqa: E731
                    await asyncio.wait_for(room.wait_for(fits), self.wait_seconds)
                except TimeoutError:
                    await self._busy(scope, receive, send, cost)
                    return
            self.in_flight += cost
        try:
            body = await _read_body(receive, self._declared(scope))
            if body is None:  # the client went away
                return
            scope[UPLOAD_BODY_KEY] = body
            del body
            await self.app(scope, _replay(receive), send)
        finally:
            scope.pop(UPLOAD_BODY_KEY, None)
            async with room:
                self.in_flight -= cost
                idle = self.in_flight == 0
                room.notify_all()
            if idle:
                await asyncio.to_thread(give_back_memory)

    async def _busy(self, scope: Scope, receive: Receive, send: Send, cost: int) -> None:
        retry = max(1, math.ceil(self.wait_seconds))
        detail = (
            f"the server is busy with other uploads ({self.in_flight} of its {self.budget} bytes in flight; "
            f"this one needs {cost}); retry after {retry} s, or send smaller batches "
            "(CLUSTERBOOK_UPLOAD_BUDGET_BYTES sets the budget)"
        )
        body = problem_body(
            status=503, code="service_unavailable", title="Service unavailable", detail=detail,
            instance=scope.get("path", ""),
        )  # fmt: skip
        response = JSONResponse(body, status_code=503, media_type=PROBLEM_TYPE, headers={"Retry-After": str(retry)})
        await response(scope, receive, send)


async def _read_body(receive: Receive, declared: int | None) -> bytes | bytearray | None:
    """The whole body, or ``None`` when the client went away. With a Content-Length (HTTP/1.1 framing
    holds the body to it) the chunks are copied into one buffer of that size as they come: joining a
    list of them would hold the body twice at the end."""
    if declared is None:
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                return b"".join(chunks)
    buffer = bytearray(declared)
    view = memoryview(buffer)
    filled = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        view[filled : filled + len(chunk)] = chunk
        filled += len(chunk)
        if not message.get("more_body", False):
            view.release()
            return buffer


def _replay(receive: Receive) -> Receive:
    """The app's receive once the gate has read the body: an empty last chunk, then the real channel
    (which reports a disconnect)."""
    done = False

    async def replay() -> Message:
        nonlocal done
        if not done:
            done = True
            return {"type": "http.request", "body": b"", "more_body": False}
        return await receive()

    return replay


def _malloc_trim() -> Callable[[int], int] | None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim: Callable[[int], int] = libc.malloc_trim
    except (OSError, AttributeError):  # not glibc (musl, macOS, Windows): nothing to call
        return None
    return trim


_TRIM = _malloc_trim()


def give_back_memory() -> None:
    """Return the C heap's free pages to the system (glibc ``malloc_trim(0)``; a no-op elsewhere).

    glibc keeps freed memory of many small blocks, such as an upload's parsed objects, in its
    arenas; without this a server keeps near its peak after one large upload."""
    if _TRIM is not None:
        _TRIM(0)
