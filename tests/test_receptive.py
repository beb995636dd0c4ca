"""Receptive fields: the theoretical box against an independent backward derivation, the effective field
against the weights and the box, and POST /api/receptive-field's contract and errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from app.labs import unit_field
from app.nets import receptive
from app.schemas.insight import ReceptiveFieldResponse
from app.serving import encoding
from tests.helpers import state_checksum

SPATIAL = ["input", "conv1", "bn1", "relu1", "pool1", "conv2", "bn2", "relu2", "pool2"]


def backward_range(served, layer: str, index: int) -> tuple[int, int]:
    """Input pixels (inclusive, unclipped) unit ``index`` of ``layer`` depends on along one axis, walking the
    layers backwards: output range [a, b] of a layer with kernel k, stride s, padding p, dilation d comes from
    input positions [a*s - p, b*s - p + (k - 1)*d]."""
    spatial = served.model.spatial  # the LeNet's maps form one chain, the input first
    names = [s.name for s in spatial]
    a = b = index
    for found in reversed(spatial[1 : names.index(layer) + 1]):
        w = found.window
        k, s, p, d = (w.kernel[0], w.stride[0], w.padding[0], w.dilation[0]) if w else (1, 1, 0, 1)
        a, b = a * s - p, b * s - p + (k - 1) * d
    return a, b


def unit(served, pixels: np.ndarray, layer: str, channel: int, y: int, x: int) -> dict:
    """POST /api/receptive-field's core for a (28, 28) image."""
    image = torch.from_numpy(pixels)[None, None]  # (1, 1, 28, 28)
    return unit_field.receptive_field(served.model, image, layer, channel, y, x)


def units(shape: list[int]) -> list[tuple[int, int]]:
    """Corners, an edge unit and the centre of an h x w map."""
    _, h, w = shape
    return sorted({(0, 0), (0, w - 1), (h - 1, 0), (h - 1, w - 1), (h // 2, w // 2), (1, w // 2)})


@pytest.mark.parametrize("layer", SPATIAL)
def test_box_matches_the_layer_arithmetic(served, layer: str) -> None:
    field = served.model.fields[layer]
    for y, x in units(served.shapes[layer]):
        box = receptive.unit_box(field, y, x)
        (y0, y1), (x0, x1) = backward_range(served, layer, y), backward_range(served, layer, x)
        assert (box.y0, box.y1, box.x0, box.x1) == (y0, y1, x0, x1)
        assert box.y1 - box.y0 + 1 == field.size == box.x1 - box.x0 + 1
        clipped = box.clip(28, 28)
        assert (clipped.y0, clipped.x0, clipped.y1, clipped.x1) == (max(y0, 0), max(x0, 0), min(y1, 27), min(x1, 27))


def test_pool2_centre_unit_sees_16_pixels_with_jump_4(served, test_set) -> None:
    pixels = test_set.images[0].astype(np.float32) / 255
    result = unit(served, pixels, "pool2", 0, 3, 3)
    # unit (0, 0) is centred on pixel 1.5 (pixels -6..9); unit 3 on 1.5 + 3 * 4 = 13.5, pixels 6..21
    assert (result["size"], result["jump"], result["start"]) == (16, 4, 1.5)
    assert result["box"] == {"y0": 6, "x0": 6, "y1": 21, "x1": 21} == result["unclipped"]
    assert [s["layer"] for s in result["steps"]] == SPATIAL
    assert [s["size"] for s in result["steps"]] == [1, 5, 5, 5, 6, 14, 14, 14, 16]


def outside(gradient: np.ndarray, box: dict) -> np.ndarray:
    mask = np.ones_like(gradient, dtype=bool)
    mask[box["y0"] : box["y1"] + 1, box["x0"] : box["x1"] + 1] = False
    return gradient[mask]


@pytest.mark.parametrize("layer", SPATIAL)
def test_effective_field_is_exactly_zero_outside_the_box(served, test_set, layer: str) -> None:
    c = served.shapes[layer][0]
    nonzero = 0
    for index in (0, 7):
        pixels = test_set.images[index].astype(np.float32) / 255
        for channel in sorted({0, c // 2, c - 1}):
            for y, x in units(served.shapes[layer]):
                r = unit(served, pixels, layer, channel, y, x)
                grad = r["gradient"].numpy()
                assert grad.shape == (28, 28) and (grad >= 0).all()
                assert not outside(grad, r["box"]).any(), (layer, channel, y, x)
                nonzero += bool(grad.any())
    assert nonzero > 0, f"{layer}: every gradient was zero"


def test_conv1_effective_field_is_the_filter_over_the_pixel_std(served, test_set) -> None:
    """d conv1[c, y, x] / d pixel[y + i - 2, x + j - 2] = w[c, 0, i, j] / std (the network normalises first)."""
    pixels = test_set.images[3].astype(np.float32) / 255
    weight = served.model.submodule("conv1").weight.detach().numpy()[:, 0]  # (20, 5, 5)
    (std,) = served.model.input.std
    r = unit(served, pixels, "conv1", 4, 10, 12)
    expected = np.zeros((28, 28), np.float32)
    expected[8:13, 10:15] = np.abs(weight[4]) / std
    np.testing.assert_allclose(r["gradient"].numpy(), expected, rtol=1e-5, atol=1e-7)
    corner = unit(served, pixels, "conv1", 4, 0, 0)
    assert corner["box"] == {"y0": 0, "x0": 0, "y1": 2, "x1": 2}
    np.testing.assert_allclose(corner["gradient"].numpy()[:3, :3], np.abs(weight[4, 2:, 2:]) / std, rtol=1e-5)


@pytest.mark.parametrize(
    ("fields", "status", "words"),
    [
        ({"layer": "nope", "y": "0", "x": "0"}, 404, "Unknown layer"),
        ({"layer": "fc1", "y": "0", "x": "0"}, 422, "no spatial maps"),
        ({"layer": "pool2", "y": "7", "x": "0"}, 422, "Row y: 7 is out of range"),  # pool2 is 50x7x7
        ({"layer": "pool2", "y": "0", "x": "-1"}, 422, "Column x: -1 is out of range"),
        ({"layer": "conv2", "channel": "50", "y": "0", "x": "0"}, 422, "Channel: 50"),
        ({"layer": "conv2", "y": "a", "x": "0"}, 422, "Row y must be a whole number, not \u201ca\u201d"),
        ({"layer": "conv2", "x": "0"}, 422, "Row y is missing"),
        ({"y": "0", "x": "0"}, 422, "The layer: missing"),
    ],
)
def test_bad_units_are_clear_client_errors(client, fields: dict, status: int, words: str) -> None:
    r = client.post("/api/receptive-field", data={"sample": "0", **fields})
    assert r.status_code == status, r.text
    assert words in r.json()["detail"]


def test_api_returns_the_issue_contract_and_leaves_the_model_alone(client, served, test_set) -> None:
    before = state_checksum(served.model)
    r = client.post("/api/receptive-field", data={"sample": "7", "layer": "pool2", "channel": "3", "y": "2", "x": "2"})
    assert r.status_code == 200, r.text
    body = r.json()
    ReceptiveFieldResponse.model_validate(body)
    # pool2 unit (0, 0) sees pixels -6..9 (centre 1.5, as above); unit 2 is 2 * 4 further: pixels 2..17
    assert (body["layer"], body["size"], body["jump"], body["start"]) == ("pool2", 16, 4, 1.5)
    assert body["box"] == {"y0": 2, "x0": 2, "y1": 17, "x1": 17}
    grad = encoding.decode(body["gradient"]["data"], body["gradient"]["shape"], body["gradient"]["dtype"])
    assert body["gradient"]["shape"] == [28, 28] and body["gradient"]["dtype"] == "float32"
    assert not outside(grad, body["box"]).any()
    direct = unit(served, test_set.images[7].astype(np.float32) / 255, "pool2", 3, 2, 2)
    np.testing.assert_array_equal(grad, direct["gradient"].numpy())
    x = torch.from_numpy(test_set.images[7:8, None].astype(np.float32) / 255)  # (1, 1, 28, 28)
    assert body["activation"] == pytest.approx(float(served.forward(x)["pool2"][0, 3, 2, 2]), rel=1e-6)
    # a corner unit of conv1: the box is clipped, the unclipped box reaches into the padding
    r = client.post("/api/receptive-field", data={"sample": "7", "layer": "conv1", "y": "0", "x": "27"})
    assert r.json()["box"] == {"y0": 0, "x0": 25, "y1": 2, "x1": 27}
    assert r.json()["unclipped"] == {"y0": -2, "x0": 25, "y1": 2, "x1": 29}
    # a JSON body of pixels carries the unit as keys
    pixels = (test_set.images[7].astype(np.float32) / 255).tolist()
    r = client.post("/api/receptive-field", json={"pixels": pixels, "layer": "pool2", "channel": 3, "y": 2, "x": 2})
    assert r.status_code == 200 and r.json()["box"] == body["box"]
    r = client.post("/api/receptive-field?model=nope", data={"sample": "7", "layer": "pool2", "y": "2", "x": "2"})
    assert r.status_code == 404 and "Unknown model" in r.json()["detail"]
    assert state_checksum(served.model) == before
    assert not any(p.requires_grad for p in served.model.module.parameters())
    assert all(not m._forward_hooks and not m._backward_hooks for m in served.model.module.modules())
