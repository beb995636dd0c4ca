"""POST /api/perturb: the moved input, every layer's relative change and its change once the move is undone
at the layer's resolution, against references computed here from the served model's own forward."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from app.schemas.perturb import PerturbResponse
from app.serving import encoding
from tests.helpers import state_checksum

SAMPLE = 0


def digit(test_set, index: int = SAMPLE) -> np.ndarray:
    return test_set.images[index].astype(np.float32) / 255  # (28, 28)


def moved(image: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """The reference shift: zeros come in."""
    out = np.zeros_like(image)
    h, w = image.shape
    out[max(dy, 0) : h + min(dy, 0), max(dx, 0) : w + min(dx, 0)] = image[
        max(-dy, 0) : h - max(dy, 0), max(-dx, 0) : w - max(dx, 0)
    ]
    return out


def perturb(client, **fields) -> PerturbResponse:
    r = client.post("/api/perturb", data={"sample": str(SAMPLE), **fields})
    assert r.status_code == 200, r.text
    return PerturbResponse.model_validate(r.json())


@pytest.mark.parametrize("shift", [(0, 1), (1, 0), (-2, 3), (4, -4)])
def test_relative_change_of_every_layer(client, served, test_set, shift) -> None:
    before = state_checksum(served.model)
    body = perturb(client, shift=f"{shift[0]},{shift[1]}")
    x = digit(test_set)
    x2 = moved(x, *shift)
    np.testing.assert_array_equal(encoding.decode(body.moved_input.data, body.moved_input.shape)[0], x2)
    a = served.forward(torch.from_numpy(x)[None, None])
    b = served.forward(torch.from_numpy(x2)[None, None])
    assert [layer.name for layer in body.layers] == served.layer_names
    for layer in body.layers:
        ref, new = a[layer.name][0].double().numpy(), b[layer.name][0].double().numpy()
        want = np.linalg.norm(new - ref) / np.linalg.norm(ref)
        assert layer.relative_change == pytest.approx(want, rel=1e-9), layer.name
        assert layer.shape == list(ref.shape) and layer.kind == served.model.layer(layer.name).kind
    probs = lambda acts: acts[served.layer_names[-1]][0]  # noqa: E731
    assert body.prediction.before == int(probs(a).argmax()) and body.prediction.after == int(probs(b).argmax())
    assert body.prediction.probability_after == pytest.approx(float(probs(b).max()))
    assert state_checksum(served.model) == before


def test_aligned_change_undoes_the_shift_over_the_interior(client, served, test_set) -> None:
    """conv1 (5x5, padding 2, jump 1) moved right by 1: its maps are those of x moved 1 unit right, exactly,
    wherever the 5x5 field lies inside the image before and after (rows 2..25, columns 3..25)."""
    body = perturb(client, shift="0,1")
    layers = {layer.name: layer for layer in body.layers}
    conv1 = layers["conv1"]
    assert conv1.jump == 1 and conv1.aligned_shift == [0, 1] and conv1.aligned_units == [24, 23]
    x = digit(test_set)
    a = served.forward(torch.from_numpy(x)[None, None])["conv1"][0].double().numpy()
    b = served.forward(torch.from_numpy(moved(x, 0, 1))[None, None])["conv1"][0].double().numpy()
    inner_b, inner_a = b[:, 2:26, 3:26], a[:, 2:26, 3 - 1 : 26 - 1]
    assert conv1.aligned_change == pytest.approx(np.linalg.norm(inner_b - inner_a) / np.linalg.norm(inner_a), abs=1e-12)
    assert conv1.aligned_change < 1e-6  # the same maps, moved
    assert layers["input"].aligned_change == 0
    # pool1 has jump 2: a 1-pixel shift cannot be undone there, nor anywhere after it.
    for name in served.layer_names[served.layer_names.index("pool1") :]:
        assert layers[name].aligned_change is None and layers[name].aligned_shift is None, name
    # A 2-pixel shift is one pool1 unit: max pooling with stride 2 moves exactly with it.
    two = {layer.name: layer for layer in perturb(client, shift="2,0").layers}
    assert two["pool1"].aligned_shift == [1, 0] and two["pool1"].aligned_change < 1e-6
    assert all(layer.aligned_change is None for layer in two.values() if len(layer.shape) != 3)


def test_rotation(client, served, test_set) -> None:
    body = perturb(client, rotate="20")
    assert body.rotate == 20 and body.shift is None
    assert all(layer.aligned_change is None for layer in body.layers)
    assert body.layers[0].relative_change > 0.1
    still = perturb(client, rotate="0")
    assert still.layers[0].relative_change < 1e-6
    # A blob right of the centre, turned 30 degrees anticlockwise (as seen, rows pointing down), moves up.
    yy, xx = np.mgrid[0:28, 0:28]
    blob = np.exp(-((yy - 14) ** 2 + (xx - 22) ** 2) / 4)
    r = client.post("/api/perturb?preprocess=none", json={"pixels": blob.tolist(), "rotate": 30})
    assert r.status_code == 200, r.text
    out = PerturbResponse.model_validate(r.json()).moved_input
    turned = encoding.decode(out.data, out.shape)[0].astype(np.float64)
    weights = turned / turned.sum()
    t = np.radians(30)
    dy, dx = 14 - 13.5, 22 - 13.5  # from the centre of the 28x28 image
    want = (13.5 + dy * np.cos(t) - dx * np.sin(t), 13.5 + dx * np.cos(t) + dy * np.sin(t))
    assert ((weights * yy).sum(), (weights * xx).sum()) == pytest.approx(want, abs=0.05)


def test_json_body_takes_a_shift_list(client) -> None:
    pixels = np.zeros((28, 28))
    pixels[10:18, 12:16] = 1
    r = client.post("/api/perturb?preprocess=none", json={"pixels": pixels.tolist(), "shift": [1, -1]})
    assert r.status_code == 200 and r.json()["shift"] == [1, -1]


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({}, "The shift is missing"),
        ({"shift": "0,1", "rotate": "5"}, "either shift or rotate"),
        ({"shift": "5,0"}, "within +-4"),
        ({"shift": "0,-5"}, "within +-4"),
        ({"shift": "1"}, "two whole numbers"),
        ({"shift": "a,b"}, "two whole numbers"),
        ({"rotate": "31"}, "within +-30"),
        ({"rotate": "left"}, "The rotation: expected a number"),
        ({"rotate": "nan"}, "The rotation: expected a number"),
    ],
)
def test_bad_requests_are_named(client, fields: dict, words: str) -> None:
    r = client.post("/api/perturb", data={"sample": "1", **fields})
    assert r.status_code == 422, r.text
    assert words in r.json()["detail"]


def test_limits(client, served) -> None:
    body = client.get("/api/perturb/limits").json()
    assert body == {"max_shift": 4, "max_rotate": 30.0, "input_shape": served.shapes["input"]}
