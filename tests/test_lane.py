"""The draw pad's request answered in front of FastAPI's layers (app.routes.lane): the same answers, headers,
errors and metrics as FastAPI's own path gives the same request."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app
from app.routes import lane
from tests.test_metrics import scrape, value

DRAWING = np.zeros((28, 28))
DRAWING[5:23, 13:16] = 0.9  # a "1"
BODY = json.dumps({"pixels": DRAWING.round(4).tolist()})
JSON = {"content-type": "application/json"}


@pytest.fixture
def taken(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The paths of the requests the lane answered itself."""
    seen: list[str] = []
    answer = lane.DrawPadLane._answer

    async def counted(self, request, arguments, send) -> None:  # type: ignore[no-untyped-def]
        seen.append(request.url.path)
        await answer(self, request, arguments, send)

    monkeypatch.setattr(lane.DrawPadLane, "_answer", counted)
    return seen


def comparable(response) -> tuple[int, bytes, dict[str, str]]:  # type: ignore[no-untyped-def]
    headers = {k: v for k, v in response.headers.items() if k not in ("date",)}
    return response.status_code, response.content, headers


@pytest.mark.parametrize(
    ("query", "body"),
    [
        ("preprocess=auto&dtype=float32&model=lenet_bn", BODY),  # what the explorer sends
        ("dtype=float16&layers=conv1,probs", BODY),
        ("model=fashion_vgg", BODY),
        ("", json.dumps({"pixels": [[2.0] * 28] * 28})),  # 422, pydantic's words
        ("", json.dumps({"pixels": [[0.5] * 27] * 28})),  # 422: not the network's size
        ("", json.dumps({"pixels": [[0.0] * 28] * 28, "conv1_override": {"channel": 99, "kernel": [[1]]}})),  # 422
        ("", "{not json"),  # 400
        ("", ""),  # 400: no body
        ("", "x" * (6 * 1024 * 1024)),  # 413, before the body is read
    ],
)
def test_the_lane_answers_as_fastapi_does(client: TestClient, taken: list[str], query: str, body: str) -> None:
    """The same request down FastAPI's path (an unknown parameter, which FastAPI ignores, makes the query
    not plain) and down the lane: the same status, bytes and headers."""
    general = client.post(f"/api/activations?{query}&other=1", content=body, headers=JSON)
    assert taken == []
    fast = client.post(f"/api/activations?{query}", content=body, headers=JSON)
    assert taken == ["/api/activations"]
    assert comparable(fast) == comparable(general)
    assert fast.headers["x-content-type-options"] == "nosniff"  # the security headers go round the lane too


@pytest.mark.parametrize(
    ("method", "path", "headers"),
    [
        ("POST", "/api/activations?preprocess=auto", {"content-type": "text/plain"}),  # FastAPI's 415
        ("POST", "/api/activations?checkpoint=0", JSON),
        ("GET", "/api/activations", JSON),  # 405
        ("POST", "/api/activations/", JSON),
        ("POST", "/api/kernels/apply", JSON),
    ],
)
def test_anything_else_goes_on_to_fastapi(
    client: TestClient, taken: list[str], method: str, path: str, headers: dict[str, str]
) -> None:
    client.request(method, path, content=BODY, headers=headers, follow_redirects=False)
    assert taken == []


def test_an_unexpected_error_gets_the_apps_500_and_is_raised_for_the_log(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, taken: list[str]
) -> None:
    served = client.app.state.convlens.registry.get()

    async def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("a bug")

    monkeypatch.setattr(served, "infer_row", broken)
    answer = client.post("/api/activations", content=BODY, headers=JSON)
    assert taken == ["/api/activations"]
    assert answer.status_code == 500 and answer.json() == {"detail": "internal server error"}
    raising = TestClient(client.app)  # this one raises what the app raised (no lifespan: the state is loaded)
    with pytest.raises(RuntimeError, match="a bug"):
        raising.post("/api/activations", content=BODY, headers=JSON)


@pytest.fixture
def fresh(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(replace(settings, torch_threads=1)), raise_server_exceptions=False) as c:
        yield c


def test_the_lanes_requests_are_counted_as_fastapis_are(fresh: TestClient) -> None:
    for query in ("", "other=1"):  # the lane, then FastAPI
        assert fresh.post(f"/api/activations?{query}", content=BODY, headers=JSON).status_code == 200
        assert fresh.post(f"/api/activations?{query}", content="{", headers=JSON).status_code == 400
    metrics = scrape(fresh)
    counts, latency = metrics["http_requests"], metrics["http_request_duration_seconds"]
    labels = {"handler": "/api/activations", "method": "POST"}
    for status in ("200", "400"):
        assert value(counts, "http_requests_total", **labels, status=status) == 2
        assert value(latency, "http_request_duration_seconds_count", **labels, status=status) == 2


def test_under_a_root_path_the_lane_takes_the_prefixed_address(settings: Settings, taken: list[str]) -> None:
    with TestClient(create_app(replace(settings, root_path="/convlens")), raise_server_exceptions=False) as c:
        answer = c.post("/api/activations?model=lenet", content=BODY, headers=JSON)  # as the proxy forwards it
    assert answer.status_code == 200 and taken == ["/convlens/api/activations"]


def test_with_cors_every_request_goes_through_fastapi(settings: Settings, taken: list[str]) -> None:
    """CORS' middleware is one of the layers the lane skips, so with origins configured there is no lane."""
    app = create_app(replace(settings, cors_origins=("https://teacher.example",)))
    with TestClient(app, raise_server_exceptions=False) as c:
        answer = c.post("/api/activations", content=BODY, headers={**JSON, "origin": "https://teacher.example"})
    assert answer.status_code == 200 and taken == []
    assert answer.headers["access-control-allow-origin"] == "https://teacher.example"
