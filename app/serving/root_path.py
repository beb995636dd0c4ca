"""Serving the app under a path prefix behind a reverse proxy that strips it (``CONVLENS_ROOT_PATH``,
``convlens serve --root-path``): ASGI's ``root_path``, as uvicorn's own ``--root-path`` sets it.

A proxy publishes the app at ``https://example.org/convlens/`` and forwards ``/convlens/api/model`` as
``/api/model``. ``RootPath`` puts the prefix into every request's scope the way uvicorn does: ``root_path``
is the prefix and ``path`` starts with it, so routing (Starlette strips ``root_path``) finds ``/api/model``
and every address the app writes (the pages' links, styles and scripts, which read ``root_path``; /docs and
its OpenAPI ``servers``) starts with ``/convlens``. A request whose scope already has a ``root_path`` (uvicorn
started with ``--root-path``, or a server that mounts the app) is left as it is.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send


class RootPath:
    def __init__(self, app: ASGIApp, prefix: str) -> None:
        self.app = app
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and self.prefix and not scope.get("root_path"):
            raw = scope.get("raw_path")
            scope = {
                **scope,
                "root_path": self.prefix,
                "path": self.prefix + scope["path"],
                **({"raw_path": self.prefix.encode() + raw} if raw is not None else {}),
            }
        await self.app(scope, receive, send)


def install(app: FastAPI, prefix: str) -> None:
    """Put ``RootPath`` outside every other layer (when ``prefix`` is set), so they all see the prefix."""
    if not prefix:
        return
    build = app.build_middleware_stack

    def build_with_prefix() -> ASGIApp:
        return RootPath(build(), prefix)

    app.build_middleware_stack = build_with_prefix  # type: ignore[method-assign]


def route_path(scope: Scope) -> str:
    """The path the app routes: ``path`` without the ``root_path`` it starts with."""
    path, root = scope.get("path", ""), scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path
