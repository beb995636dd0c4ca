"""Schemathesis against the app's own OpenAPI schema, in process (ASGI, no server): every operation in
the schema, with generated valid and invalid parameters and bodies. No 5xx, every status code, content
type, header and body conforms to what the schema declares for it.

Bounded and reproducible: 25 examples per operation (plus schemathesis' explicit examples and coverage
cases), derandomised."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.python import asgi

from app.config import Settings
from app.main import create_app

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


class SessionApp:
    """The ASGI app schemathesis calls: requests go to the session's running app (the ``client``
    fixture's, models loaded once, caches shared with the other tests); lifespan events are answered here.
    schemathesis starts and stops the lifespan of the app it calls around every test, which would load the
    models again for each operation and drop what the app had computed (the 10,000-image fold check)."""

    def __init__(self) -> None:
        self.target = None

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "lifespan":
            assert self.target is not None, "the session app is not set"
            await self.target(scope, receive, send)
            return
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return


# The schema is read from an app built here (no lifespan needed for that, and it is needed at collection
# time); the requests go to the session's app, which is built the same way.
APP = create_app(Settings())
SESSION_APP = SessionApp()
schema = schemathesis.openapi.from_dict(APP.openapi())
schema.app = SESSION_APP  # what schemathesis.openapi.from_asgi does: requests go to an app in process


@pytest.fixture(scope="module", autouse=True)
def _session_app(client: TestClient) -> Iterator[None]:
    assert client.app.openapi() == APP.openapi()
    SESSION_APP.target = client.app
    yield
    SESSION_APP.target = None
    asgi.shutdown_lifespans()


@schema.parametrize()
@settings(
    max_examples=25,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_conforms_to_its_schema(case: schemathesis.Case) -> None:
    case.call_and_validate(checks=CHECKS)


# A valid request to every operation, built from the schema alone, so that each one's success response is
# validated too (random generation rarely finds a valid layer name, kernel spec or image).
PATH_VALUES = {"name": "conv1", "layer": "conv1", "channel": 0, "c": 0, "id": 0, "x": 0, "y": 0}


def _query(operation: dict) -> dict:
    query = {}
    for p in operation.get("parameters", []):
        if p["in"] == "query" and p.get("required"):
            s = p["schema"]
            fallback = s.get("example", PATH_VALUES.get(p["name"]))  # a layer name: random ones are rarely valid
            query[p["name"]] = s["enum"][0] if "enum" in s else s.get("default", fallback)
    return query


def _body(operation: dict) -> tuple[object, str | None]:
    content = operation.get("requestBody", {}).get("content", {})
    if "multipart/form-data" in content:
        props = content["multipart/form-data"]["schema"].get("properties", {})
        body = {"sample": 0} if "sample" in props else {}
        body |= {k: v["example"] for k, v in props.items() if "example" in v and k != "conv1_override"}
        body |= {k: PATH_VALUES[k] for k in props if k in PATH_VALUES and k not in body}
        return body, "multipart/form-data"
    if "application/json" in content:
        s = content["application/json"]["schema"]
        return (s.get("examples") or [s.get("example")])[0], "application/json"
    return None, None


def operations() -> list[tuple[str, str]]:
    return [(m.upper(), p) for p, ops in APP.openapi()["paths"].items() for m in ops]


@pytest.mark.parametrize(("method", "path"), operations())
def test_a_valid_request_succeeds_and_conforms(method: str, path: str) -> None:
    raw = APP.openapi()["paths"][path][method.lower()]
    body, media_type = _body(raw)
    names = [p["name"] for p in raw.get("parameters", []) if p["in"] == "path"]
    kwargs = {"path_parameters": {n: PATH_VALUES.get(n, 0) for n in names}, "query": _query(raw)}
    if media_type:
        kwargs |= {"body": body, "media_type": media_type}
    case = schema[path][method].Case(**kwargs)
    response = case.call_and_validate(checks=CHECKS)
    assert response.status_code == 200, (method, path, response.text[:300])
