"""The explorer's requests to ``POST /api/activations`` without FastAPI's dependency solving.

The explorer sends ``POST /api/activations?preprocess=..&dtype=..&model=..`` for a drawing (every stroke: a
classroom sends a thousand a second), an upload or a gallery sample. The drawings, JSON bodies, are taken
before FastAPI even routes them, by ``app.routes.lane``, which resolves their query with ``plain_arguments``
below; this route class answers the other plain ones. FastAPI resolves the route's parameters generically
on every request (the dependency tree, each query parameter's annotation inspected again): about 0.2 ms of
the event loop's time per request, docs/benchmarks.md "Students served". ``PlainQueryRoute`` answers a
request whose query is plain (only ``preprocess``, ``dtype``, ``model``, ``layers``, each at most once, each
valid) by resolving those itself, reading the body as ``deps.upload_body`` does (the same limits, budget and
timeout, held until the answer has been sent) and calling the same endpoint, admission control included.
Any other query (a ``checkpoint``, an unknown model or layer, a value FastAPI would refuse, a repeated or
unknown parameter) takes FastAPI's own path, so every error keeps its wording.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any, get_args

from fastapi import Request, Response
from fastapi.routing import APIRoute

from app.routes import deps
from app.serving.layers import select_layers

PREPROCESS = frozenset(get_args(get_args(deps.Preprocess)[0]))
DTYPES = frozenset(get_args(get_args(deps.DType)[0]))
PLAIN = frozenset({"preprocess", "dtype", "model", "layers"})
MAX_REMEMBERED = 256  # plain queries whose arguments are kept (the page sends a handful; anything may be sent)
_UNKNOWN = object()


def plain_arguments(request: Request) -> dict[str, Any] | None:
    """The endpoint's arguments (all but the body) for a plain query; None for anything else. The models
    and their layers never change while the server runs, so a query's arguments are worked out once."""
    query, remembered = request.scope["query_string"], deps.state(request).plain_queries
    known = remembered.get(query, _UNKNOWN)
    if known is _UNKNOWN:
        known = _resolve(request)
        if len(remembered) >= MAX_REMEMBERED:
            remembered.clear()
        remembered[query] = known
    return None if known is None else {**known, "names": list(known["names"])}


def _resolve(request: Request) -> dict[str, Any] | None:
    items = request.query_params.multi_items()
    query = dict(items)
    if len(query) != len(items) or not PLAIN.issuperset(query):
        return None
    preprocess, dtype = query.get("preprocess", "auto"), query.get("dtype", "float32")
    if preprocess not in PREPROCESS or dtype not in DTYPES:
        return None
    registry = deps.state(request).registry
    served = registry.models.get(query.get("model") or registry.default)
    if served is None:
        return None
    try:
        names = select_layers(served, query.get("layers"))
    except ValueError:
        return None
    return {"served": served, "names": names, "preprocess": preprocess, "dtype": dtype, "checkpoint": None}


class PlainQueryRoute(APIRoute):
    """An ``APIRoute`` for an endpoint with the parameters of ``POST /api/activations`` (see the module
    docstring)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        general = super().get_route_handler()
        endpoint = self.endpoint

        async def handler(request: Request) -> Response:
            arguments = plain_arguments(request)
            if arguments is None:
                return await general(request)
            # the body's reservation ends after the answer has been sent, as for FastAPI's dependencies
            stack = request.scope["fastapi_inner_astack"]
            body = await stack.enter_async_context(deps.upload_body_context(request))
            response: Response = await endpoint(request=request, body=body, **arguments)
            return response

        return handler
