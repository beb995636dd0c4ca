"""The draw pad's plain requests (app.routes.fastpath) answer exactly as FastAPI's own path does."""

from __future__ import annotations

import json

import numpy as np
import pytest
from fastapi.testclient import TestClient
from starlette.requests import Request

from app.routes.fastpath import plain_arguments

DRAWING = np.zeros((28, 28))
DRAWING[6:22, 12:16] = 1.0  # a "1"
DRAWING[8, 10:13] = 0.5
BODY = json.dumps({"pixels": DRAWING.round(4).tolist()})


def request(client: TestClient, query: str) -> Request:
    return Request({"type": "http", "app": client.app, "query_string": query.encode(), "headers": []})


@pytest.mark.parametrize(
    "query",
    [
        "preprocess=auto&dtype=float32&model=lenet_bn",  # what the explorer sends
        "",
        "dtype=float16&layers=conv1,probs",
        "preprocess=none&model=lenet&layers=probs",
        "model=&layers=",
    ],
)
def test_a_plain_query_is_answered_as_by_fastapi(client: TestClient, query: str) -> None:
    assert plain_arguments(request(client, query)) is not None
    # an unknown parameter, which FastAPI ignores, sends the same request down FastAPI's path
    headers = {"content-type": "application/json"}
    general = client.post(f"/api/activations?{query}&other=1", content=BODY, headers=headers)
    fast = client.post(f"/api/activations?{query}", content=BODY, headers=headers)
    assert general.status_code == fast.status_code == 200
    assert fast.content == general.content
    assert fast.headers["content-type"] == general.headers["content-type"]


@pytest.mark.parametrize(
    "query",
    [
        "checkpoint=0",
        "dtype=float64",
        "preprocess=",
        "model=nope",
        "layers=conv9",
        "dtype=float32&dtype=float16",
        "other=1",
    ],
)
def test_anything_else_goes_to_fastapi(client: TestClient, query: str) -> None:
    assert plain_arguments(request(client, query)) is None


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        (json.dumps({"pixels": [[2.0] * 28] * 28}), "application/json", 422),
        ("{not json", "application/json", 400),
        (BODY, "text/plain", 415),
        ("x" * (6 * 1024 * 1024), "application/json", 413),
    ],
)
def test_a_plain_query_fails_as_fastapi_does(client: TestClient, body: str, content_type: str, status: int) -> None:
    answers = [
        client.post(f"/api/activations?dtype=float32{extra}", content=body, headers={"content-type": content_type})
        for extra in ("", "&other=1")
    ]
    assert [a.status_code for a in answers] == [status, status]
    assert answers[0].json() == answers[1].json()
