"""Every GET route of the app as concrete addresses: the API (from its OpenAPI schema, path parameters filled
in), the pages and the documentation (routes left out of the schema), and every route that takes ``?model=``
(the pages too) once per served model. The benchmark of a fresh server (bench/fresh_gets.py) asks each of
them once; the tests check that none of them does cold work.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlencode

from fastapi import FastAPI

from app.routes import pages

CHANNEL, SAMPLE = 0, 0  # the channel and the test image the addresses name


def _schema_routes(app: FastAPI) -> list[tuple[str, list[dict]]]:
    """(path template, parameters) of every GET operation in the schema."""
    return [(path, ops["get"].get("parameters", [])) for path, ops in app.openapi()["paths"].items() if "get" in ops]


def _other_routes(app: FastAPI, documented: set[str]) -> list[str]:
    """GET routes outside the schema: the pages, /docs, /openapi.json, /metrics."""
    routes = [*app.routes, *pages.router.routes]  # the app's own, and the pages' (an included router)
    return [
        path
        for r in routes
        if "GET" in (getattr(r, "methods", None) or ())
        and (path := getattr(r, "path", "")) not in documented
        and "{" not in path
    ]


def _fill(path: str, layer: str) -> str:
    return path.replace("{name}", layer).replace("{channel}", str(CHANNEL)).replace("{id}", str(SAMPLE))


def get_addresses(app: FastAPI, layers: Mapping[str, str], default: str) -> list[str]:
    """Every GET address: each route once, and each route that takes ``?model=`` once per model of
    ``layers`` (model name -> a conv layer of it, for the routes that name a layer), the default model
    without ``?model=``."""
    schema = _schema_routes(app)
    addresses: list[str] = []
    for path, params in schema:
        names = {p["name"] for p in params}
        required = {p["name"] for p in params if p.get("required") and p.get("in") == "query"}
        for model in layers if "model" in names else [default]:
            query = {"layer": layers[model]} if "layer" in required else {}
            if model != default:
                query["model"] = model
            addresses.append(_fill(path, layers[model]) + (f"?{urlencode(query)}" if query else ""))
    page_paths = {getattr(r, "path", "") for r in pages.router.routes}
    for path in _other_routes(app, {p for p, _ in schema}):
        for model in layers if path in page_paths else [default]:
            addresses.append(path if model == default else f"{path}?{urlencode({'model': model})}")
    return addresses
