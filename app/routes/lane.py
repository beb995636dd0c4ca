"""The draw pad's request answered in front of FastAPI's own layers.

Every stroke on the explorer's pad sends ``POST /api/activations?preprocess=..&dtype=..&model=..`` with a JSON
body, and a class of a hundred sends about a thousand a second to one process, whose event loop is then the
bottleneck. On the way to the endpoint such a request passes a dozen ASGI layers (Starlette's error and
exception middleware, FastAPI's body limit, telemetry and exit stack, HEAD handling, the metrics, the router
and the route's wrappers), each a coroutine resumed at every wait and a wrapper called for every message:
about a fifth of the loop's time per answer (docs/benchmarks.md, "Students served").

``DrawPadLane`` takes that one request (a plain query, as ``fastpath.plain_arguments`` decides, and a JSON
body) before those layers and does what they would do for it, with the same parts: the body read with the
route's own limits (``deps.upload_body_context``), the route's own endpoint (its admission control
included), every error answered by the app's own exception handlers (an unexpected one with the 500 answer
and then raised for the server to log, as Starlette's ``ServerErrorMiddleware`` does), and the request counted
in ``/metrics`` by the instrumentator's own metrics. It sits inside the security headers and the root path
(``security.install``, ``root_path.install``), so its answers carry them. Anything else goes on to FastAPI;
so does everything when CORS is configured (its middleware is one of the layers skipped). The tests compare
its answers, headers and errors with FastAPI's, byte for byte.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from prometheus_fastapi_instrumentator import metrics as http_metrics
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.routes import deps
from app.routes.fastpath import plain_arguments
from app.serving.forms import media_type
from app.serving.root_path import route_path

PATH = "/api/activations"
Endpoint = Callable[..., Any]  # the route's admitted endpoint: a coroutine function (app.serving.admission)
Handler = Callable[[Request, Exception], Any]  # an exception handler, sync or async (Starlette takes both)
Instrumentation = Callable[[http_metrics.Info], None]


class DrawPadLane:
    """Pure ASGI: ``POST /api/activations`` with a plain query and a JSON body, answered by ``endpoint`` (the
    route's admitted endpoint); every other request goes on to ``app``."""

    def __init__(
        self, app: ASGIApp, fastapi: FastAPI, endpoint: Endpoint, instrumentations: list[Instrumentation]
    ) -> None:
        self.app = app
        self.fastapi = fastapi
        self.endpoint = endpoint
        self.instrumentations = instrumentations

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or route_path(scope) != PATH:
            await self.app(scope, receive, send)
            return
        scope["app"] = self.fastapi  # what Starlette sets first (request.app, its state)
        request = Request(scope, receive, send)
        arguments = plain_arguments(request)
        if arguments is None or media_type(request.headers.get("content-type")) != "application/json":
            await self.app(scope, receive, send)
            return
        await self._answer(request, arguments, send)

    async def _answer(self, request: Request, arguments: dict[str, Any], send: Send) -> None:
        start, status, started = time.perf_counter(), 500, False

        async def sending(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                status, started = message["status"], True
            await send(message)

        try:
            try:
                async with deps.upload_body_context(request) as body:  # held until the answer is sent
                    response = await self.endpoint(request=request, body=body, **arguments)
                    await response(request.scope, request.receive, sending)
            except Exception as exc:
                if started:  # the answer had begun: nothing else can be said
                    raise
                handler = self._handler(exc)
                unexpected = handler is None
                if handler is None:  # Starlette's ServerErrorMiddleware: the 500 answer, then raised
                    handler = self.fastapi.exception_handlers.get(500) or self.fastapi.exception_handlers.get(Exception)
                if handler is None:
                    raise
                answer = handler(request, exc)
                if inspect.isawaitable(answer):
                    answer = await answer
                await answer(request.scope, request.receive, sending)
                if unexpected:
                    raise  # for the server to log, as ServerErrorMiddleware does
        finally:
            self._count(request, status, time.perf_counter() - start)

    def _handler(self, exc: Exception) -> Handler | None:
        """The app's handler for ``exc`` as Starlette's ExceptionMiddleware finds it: by status code for an
        HTTPException, else by the exception's classes, nearest first (500 and ``Exception`` excepted)."""
        handlers = self.fastapi.exception_handlers
        if isinstance(exc, HTTPException) and exc.status_code in handlers:
            return handlers[exc.status_code]
        for cls in type(exc).__mro__:
            if cls is not Exception and cls in handlers:
                return handlers[cls]
        return None

    def _count(self, request: Request, status: int, seconds: float) -> None:
        """The instrumentator's own metrics for this request, as its middleware records them."""
        info = http_metrics.Info(
            request=request,
            response=Response(status_code=status, headers=Headers()),
            method=request.method,
            modified_handler=PATH,
            modified_status=str(status),
            modified_duration=seconds,
        )
        for instrumentation in self.instrumentations:
            instrumentation(info)


def install(app: FastAPI, endpoint: Endpoint, instrumentations: list[Instrumentation], cors: bool) -> None:
    """Put ``DrawPadLane`` outside the layers FastAPI builds (call it before ``security.install`` and
    ``root_path.install``, which go outside it); nothing when CORS is configured."""
    if cors:
        return
    build = app.build_middleware_stack

    def build_with_lane() -> ASGIApp:
        return DrawPadLane(build(), app, endpoint, instrumentations)

    app.build_middleware_stack = build_with_lane  # type: ignore[method-assign]
