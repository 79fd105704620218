"""The sandbox's ASGI application: Twilio's basic auth and error bodies around the resource routes.

Each resource module (`accounts`, `messages`, ...) exports `ROUTES`; `create_app` mounts them behind
`TwilioAuth`, which checks HTTP basic auth on every request before routing, as Twilio does. A new
resource is a new module with its `ROUTES`, added to `RESOURCE_MODULES`.
"""

from __future__ import annotations

import base64
import binascii

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from sandbox import accounts, alerts, calls, media, messages, recordings
from sandbox.api_errors import ApiError, authenticate, method_not_allowed, not_found
from sandbox.pages import PageCache
from sandbox.store import Store

RESOURCE_MODULES = (accounts, messages)
RESOURCE_MODULES += (recordings, alerts)
RESOURCE_MODULES += (media,)
RESOURCE_MODULES += (calls,)


class TwilioAuth:
    """ASGI middleware: HTTP basic auth against the store (account SID + token, or an API key)."""

    def __init__(self, app: ASGIApp, store: Store) -> None:
        self.app = app
        self.store = store

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        principal = self._principal(dict(scope["headers"]).get(b"authorization", b""))
        if principal is None:
            await authenticate().response()(scope, receive, send)
            return
        scope.setdefault("state", {})["principal"] = principal
        await self.app(scope, receive, send)

    def _principal(self, header: bytes) -> str | None:
        scheme, _, encoded = header.partition(b" ")
        if scheme.lower() != b"basic":
            return None
        try:
            username, sep, password = base64.b64decode(encoded, validate=True).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return self.store.authenticate(username, password) if sep else None


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return exc.response()


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 405:
        return method_not_allowed(request.method).response()
    if exc.status_code == 404:
        return not_found(request.url.path).response()
    return ApiError(exc.status_code, exc.status_code, str(exc.detail)).response()


async def _server_error(request: Request, exc: Exception) -> Response:
    return ApiError(500, 20500, "Internal Server Error").response()


def create_app(store: Store) -> Starlette:
    """The sandbox as an ASGI app serving `store`'s account; the credentials are the store's."""
    app = Starlette(
        routes=[route for module in RESOURCE_MODULES for route in module.ROUTES],
        middleware=[Middleware(TwilioAuth, store=store)],
        exception_handlers={ApiError: _api_error, HTTPException: _http_error, Exception: _server_error},
    )
    app.state.store = store
    app.state.pages = PageCache()  # list pages served again while nothing on them changed (sandbox.pages)
    return app
