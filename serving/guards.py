"""ASGI guards in front of the service: body size, and who may call the scoring endpoints.

They answer before BentoML parses or batches anything, so a refused request never reaches
a merged batch of other callers' settlements.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from http.cookies import SimpleCookie
from typing import Any

from serving.auth import TOKEN_COOKIE, Permission, UserRegistry, bearer_token

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class BodyLimit:
    """Answer 413 to any request whose body exceeds the limit.

    A declared ``Content-Length`` is checked up front; a chunked body is read up to the
    limit, then replayed to the application. ``limit`` is a number of bytes or a callable
    returning it (read on first request, so that settings load in the worker, not at import).
    """

    def __init__(self, app: ASGIApp, limit: int | Callable[[], int]) -> None:
        self.app = app
        self._limit = limit

    @property
    def limit(self) -> int:
        if callable(self._limit):
            self._limit = self._limit()
        return self._limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        declared = headers.get(b"content-length")
        if declared is not None:
            try:
                size = int(declared)
            except ValueError:
                await _reject(send, 400, "Content-Length is not a number")
                return
            if size > self.limit:
                await _too_large(send, size, self.limit)
                return
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        total = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            total += len(chunks[-1])
            if total > self.limit:
                await _too_large(send, total, self.limit)
                return
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


class ScoringGuard:
    """Answer 401/403 on the scoring routes unless the caller's token holds ``score``."""

    def __init__(
        self,
        app: ASGIApp,
        users: Callable[[], UserRegistry],
        ready: Callable[[], bool] = lambda: True,
        routes: tuple[str, ...] = ("/check", "/score"),
    ) -> None:
        self.app = app
        self._users = users
        self._ready = ready
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].rstrip("/") not in self.routes:
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        cookies = SimpleCookie(headers.get("cookie", ""))
        cookie = cookies[TOKEN_COOKIE].value if TOKEN_COOKIE in cookies else None
        user = self._users().authenticate(bearer_token(headers.get("authorization"), cookie))
        if user is None:
            await _reject(send, 401, "no valid token: send 'Authorization: Bearer <token>'")
            return
        if not user.can(Permission.SCORE):
            await _reject(send, 403, f"{user.name} ({user.role.value}) may not score settlements")
            return
        if not self._ready():
            await _reject(
                send,
                503,
                "no champion model is loaded: train one (`fundguard train`), promote it "
                "(`fundguard promote`) and restart the service",
            )
            return
        scope.setdefault("state", {})["user"] = user
        await self.app(scope, receive, send)


async def _too_large(send: Send, size: int, limit: int) -> None:
    await _reject(
        send,
        413,
        f"request body of {size} bytes exceeds the limit of {limit} bytes "
        "(FUNDGUARD_SERVING__MAX_REQUEST_BYTES); send fewer settlements per request",
    )


async def _reject(send: Send, status: int, message: str) -> None:
    body = json.dumps({"error": message}, ensure_ascii=False).encode("utf-8")
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
