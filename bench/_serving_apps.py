"""Baseline apps for the HTTP benchmarks, served by `bench._serving.Served` in a child process."""

from __future__ import annotations

from typing import Any


def constant(path: str, body: bytes, media_type: str) -> Any:
    """A Starlette app whose one route (GET) answers `body`: the least an endpoint serving those bytes does."""
    from starlette.applications import Starlette
    from starlette.responses import Response
    from starlette.routing import Route

    async def page(request: Any) -> Response:
        return Response(body, media_type=media_type)

    return Starlette(routes=[Route(path, page)])
