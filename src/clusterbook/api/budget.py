"""Noticing a client that went away: an ASGI wrapper that cancels the request's token on disconnect.

Sync routes run in a threadpool and never look at the socket, so without this a request whose
client gave up keeps its query (and a pool thread) busy until the query ends on its own. Once the
app has read the whole body, the wrapper keeps reading ``receive()`` itself; the
``http.disconnect`` it sees before the response is finished cancels the token, which the read
budget (``store/budget.py``) turns into a stopped query.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque

from fastapi import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from clusterbook.store.budget import CancelToken, QueryBudget

CANCEL_KEY = "clusterbook.cancel"
DISCONNECT: Message = {"type": "http.disconnect"}


def request_token(request: Request) -> CancelToken:
    """The request's cancel token (a fresh, never-cancelled one when the wrapper is not installed)."""
    token = request.scope.get(CANCEL_KEY)
    return token if isinstance(token, CancelToken) else CancelToken()


def note_cost(request: Request, hint: str) -> None:
    """Say what makes this read expensive, for the message of a query stopped by the budget."""
    budget = getattr(request.state, "query_budget", None)
    if isinstance(budget, QueryBudget):
        budget.hint = hint


def _has_body(scope: Scope) -> bool:
    for name, value in scope.get("headers") or []:
        if name == b"transfer-encoding" or (name == b"content-length" and value.strip() not in (b"", b"0")):
            return True
    return False


class _Watch:
    """Owns ``receive`` once the body is read, and remembers what it saw for the app."""

    def __init__(self, receive: Receive, token: CancelToken) -> None:
        self._receive = receive
        self.token = token
        self.finished = False
        self._task: asyncio.Task[None] | None = None
        self._seen: deque[Message] = deque()
        self._arrived = asyncio.Event()
        self._gone = False

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._watch())

    async def _watch(self) -> None:
        while True:
            message = await self._receive()
            self._seen.append(message)
            self._arrived.set()
            if message["type"] == "http.disconnect":
                self._gone = True
                if not self.finished:
                    self.token.cancel()
                return

    async def receive(self) -> Message:
        if self._task is None:
            message = await self._receive()
            if message["type"] == "http.request" and not message.get("more_body", False):
                self.start()
            elif message["type"] == "http.disconnect" and not self.finished:
                self.token.cancel()
            return message
        while not self._seen:
            if self._gone:
                return DISCONNECT
            self._arrived.clear()
            await self._arrived.wait()
        return self._seen.popleft()

    async def stop(self) -> None:
        self.finished = True
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


class CancelOnDisconnect:
    """Give every HTTP request a cancel token (``scope["clusterbook.cancel"]``) set on disconnect."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        token = CancelToken()
        scope[CANCEL_KEY] = token
        watch = _Watch(receive, token)
        if not _has_body(scope):
            watch.start()  # the app may never read an empty body: watch from the start

        async def tracking_send(message: Message) -> None:
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                watch.finished = True
            await send(message)

        try:
            await self.app(scope, watch.receive, tracking_send)
        finally:
            await watch.stop()
