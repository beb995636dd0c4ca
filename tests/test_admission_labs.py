"""The admission control on the kernel lab's and the model page's newer routes (POST /api/conv-layer,
/api/convolve1d, /api/perturb, /api/pool's sources): each declares its cost, each budget is checked just
under (admitted) and just over (refused, naming it) with small budgets set through Settings, and their
JSON fields never give a 500 however deep they nest."""

from __future__ import annotations

import json

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app import preprocess
from app.config import MIB
from app.labs import signal
from app.routes import conv_layer as conv_layer_routes
from app.routes.inputs import MAX_JSON_DEPTH
from app.serving.admission import Stopped
from app.serving.costs import Cost
from tests.helpers import png_bytes
from tests.test_admission import budgets, estimate

BIG = png_bytes(np.tile(np.arange(1024, dtype=np.uint8)[:, None] % 251, (1, 1024))[:, :, None].repeat(3, 2))
FILTER = [[[-1.0, 0.0, 1.0]] * 3] * 3  # one 3x3 filter, 3 deep (Cin x K x K)


def conv_layer_request(uploads: int) -> dict:
    files = [("file", (f"{i}.png", BIG, "image/png")) for i in range(uploads)]
    return {"files": [*files, ("weight", (None, json.dumps([FILTER]))), ("size", (None, "64"))]}


def parts(cost: Cost) -> dict[str, int]:
    """The largest memory of each named part of an estimate."""
    merged: dict[str, int] = {}
    for name, memory, _ in cost.parts:
        merged[name] = max(merged.get(name, 0), memory)
    return merged


def test_conv_layer_memory_just_under_and_just_over(client: TestClient) -> None:
    cost = estimate(client, "/api/conv-layer", **conv_layer_request(2))
    assert cost.memory > 4 * MIB and "resize" in parts(cost)  # two 1024x1024 decodes and resizes are counted
    with budgets(client, request_memory=cost.memory) as admission:
        assert client.post("/api/conv-layer", **conv_layer_request(2)).status_code == 200
        assert admission.counts["refused"] == 0
    with budgets(client, request_memory=cost.memory - 1) as admission:
        r = client.post("/api/conv-layer", **conv_layer_request(2))
        assert r.status_code == 413 and "CONVLENS_REQUEST_MEMORY_MIB" in r.json()["detail"], r.text[:300]
        assert "decode" in r.json()["detail"] and admission.counts["refused"] == 1


def test_conv_layer_decodes_its_uploads_one_at_a_time(client: TestClient) -> None:
    """A second upload adds its small resized tensor to the peak, not another full-size decode."""
    one, two = (estimate(client, "/api/conv-layer", **conv_layer_request(n)) for n in (1, 2))
    assert parts(one)["decode"] > 3 * MIB
    assert two.memory - one.memory < MIB
    assert two.cpu > 1.9 * (parts_cpu(one, "decode") + parts_cpu(one, "resize"))  # but twice the work


def parts_cpu(cost: Cost, name: str) -> float:
    return sum(cpu for part, _, cpu in cost.parts if part == name)


def test_conv_layer_cpu_just_under_and_just_over(client: TestClient) -> None:
    cost = estimate(client, "/api/conv-layer", **conv_layer_request(2))
    with budgets(client, request_cpu=cost.cpu):
        assert client.post("/api/conv-layer", **conv_layer_request(2)).status_code == 200
    with budgets(client, request_cpu=cost.cpu * 0.999):
        r = client.post("/api/conv-layer", **conv_layer_request(2))
        assert r.status_code == 422 and "CONVLENS_REQUEST_CPU_SECONDS" in r.json()["detail"], r.text[:300]


def test_conv_layer_stops_at_its_deadline(client: TestClient) -> None:
    with budgets(client, deadline=1e-9, light_request_memory=0) as admission:  # heavy: it runs as a job
        r = client.post("/api/conv-layer", **conv_layer_request(2))
        assert r.status_code == 503 and "deadline" in r.json()["detail"], r.text[:300]
        assert admission.counts["stopped"] == 1
        assert admission.heavy.free_memory == admission.budgets.heavy_memory


def test_conv_layer_checks_before_each_upload_whether_to_go_on(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A client that leaves while its batch is decoded: the next upload is not decoded."""
    checks: list[int] = []

    def client_gone_after_the_first() -> None:
        checks.append(len(checks))
        if len(checks) == 2:
            raise Stopped("Stopped because the client closed the connection")

    monkeypatch.setattr(conv_layer_routes, "checkpoint", client_gone_after_the_first)
    decoded: list[int] = []
    decode = preprocess.decode
    monkeypatch.setattr(preprocess, "decode", lambda *a, **k: decoded.append(1) or decode(*a, **k))
    r = client.post("/api/conv-layer", **conv_layer_request(3))
    assert r.status_code == 503 and "closed the connection" in r.json()["detail"]
    assert (len(checks), len(decoded)) == (2, 1)


def test_the_longest_1d_convolution_is_heavy_and_a_short_one_light(client: TestClient) -> None:
    longest = {"signal": [1.0] * signal.MAX_LENGTH, "kernel": [0.5] * signal.MAX_LENGTH}
    cost = estimate(client, "/api/convolve1d", json=longest)
    assert parts(cost)["products"] >= signal.MAX_LENGTH**2 * 1000  # every product, as objects and JSON
    with budgets(client, light_request_memory=cost.memory, light_request_cpu=cost.cpu) as admission:
        r = client.post("/api/convolve1d", json=longest)
        assert r.status_code == 200 and (admission.counts["light"], admission.counts["heavy"]) == (1, 0)
        np.testing.assert_allclose(r.json()["output"], np.convolve(longest["signal"], longest["kernel"]))
    with budgets(client, light_request_memory=cost.memory - 1) as admission:
        assert client.post("/api/convolve1d", json=longest).status_code == 200
        assert (admission.counts["light"], admission.counts["heavy"]) == (0, 1)
    with budgets(client) as admission:  # the defaults
        short = {"signal": [1 / 6] * 6, "kernel": [1 / 6] * 6}
        assert client.post("/api/convolve1d", json=short).status_code == 200
        assert client.post("/api/convolve1d", json=longest).status_code == 200
        assert (admission.counts["light"], admission.counts["heavy"]) == (1, 1)


def test_perturb_cpu_just_under_and_just_over(client: TestClient) -> None:
    request = {"data": {"sample": "1", "rotate": "10"}}
    cost = estimate(client, "/api/perturb", **request)
    assert "network" in parts(cost)
    with budgets(client, request_cpu=cost.cpu):
        assert client.post("/api/perturb", **request).status_code == 200
    with budgets(client, request_cpu=cost.cpu * 0.999):
        r = client.post("/api/perturb", **request)
        assert r.status_code == 422 and "CONVLENS_REQUEST_CPU_SECONDS" in r.json()["detail"], r.text[:300]


def test_pooling_a_layer_counts_the_network_and_a_kernel_source_its_convolution(client: TestClient) -> None:
    layer = {"source": {"kind": "layer", "layer": "relu1", "channel": 3}}
    kernel = {"source": {"kind": "kernel", "kernel": [[1, 0, -1]] * 3, "relu": True}}
    costs = {
        name: estimate(client, "/api/pool", data={"sample": "1", "spec": json.dumps(spec)})
        for name, spec in (("layer", layer), ("kernel", kernel), ("image", {}))
    }
    assert "network" in parts(costs["layer"]) and "convolution" not in parts(costs["layer"])
    assert "convolution" in parts(costs["kernel"]) and "relu" in parts(costs["kernel"])
    assert not {"network", "convolution"} & set(parts(costs["image"]))
    with budgets(client, request_memory=costs["layer"].memory):
        assert client.post("/api/pool", data={"sample": "1", "spec": json.dumps(layer)}).status_code == 200
    with budgets(client, request_memory=costs["layer"].memory - 1):
        r = client.post("/api/pool", data={"sample": "1", "spec": json.dumps(layer)})
        assert r.status_code == 413 and "network" in r.json()["detail"], r.text[:300]


def test_deeply_nested_conv_layer_fields_are_a_422(client: TestClient) -> None:
    for field in ("weight", "bias"):
        for depth in (MAX_JSON_DEPTH + 1, 100_000):
            fields = {"photo": "cat", "weight": json.dumps([FILTER]), field: "[" * depth + "]" * depth}
            r = client.post("/api/conv-layer", files={k: (None, v) for k, v in fields.items()})
            assert r.status_code == 422, r.text[:300]
            assert f"is nested more than {MAX_JSON_DEPTH} levels deep" in r.json()["detail"]
