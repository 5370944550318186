"""ASGI middleware that refuses request bodies above the configured size before anything parses them.

Document uploads (``POST /v1/collections/{collection}/documents``) get their own, larger limit;
every other request keeps the small one.
"""

from __future__ import annotations

import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from clusterbook.api.problems import BODY_TOO_LARGE_KEY, RAW_BODY_KEY, payload_too_large

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
