"""POST /api/activations with a conv1 override: one filter swapped for one request, never for the model."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from fastapi.testclient import TestClient

from app.serving.encoding import decode
from app.serving.inference import ServedModel
from tests.helpers import state_checksum

SOBEL_X = [[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]]
SAMPLE = 7


def layers_of(response: dict) -> dict[str, np.ndarray]:
    return {layer["name"]: decode(layer["data"], layer["shape"]) for layer in response["layers"]}


def post(client: TestClient, override: object | None = None, sample: int = SAMPLE) -> dict:
    data = {"sample": str(sample)}
    if override is not None:
        data["conv1_override"] = override if isinstance(override, str) else json.dumps(override)
    response = client.post("/api/activations", data=data)
    assert response.status_code == 200, response.text
    return response.json()


def reference_conv1(served: ServedModel, pixels: np.ndarray, kernel5: torch.Tensor, channel: int) -> np.ndarray:
    """conv1 computed directly with torch.nn.functional, filter ``channel`` replaced by ``kernel5``."""
    conv1 = served.model.submodule("conv1")
    weight = conv1.weight.detach().clone()  # (20, 1, 5, 5)
    weight[channel, 0] = kernel5
    x = served.model.normalize(torch.tensor(pixels).reshape(1, 1, 28, 28))  # (1, 1, 28, 28)
    return F.conv2d(x, weight, conv1.bias.detach(), padding=2)[0].numpy()  # (20, 28, 28)


def test_override_replaces_one_filter_and_matches_conv2d(client: TestClient, served: ServedModel) -> None:
    plain, changed = post(client), post(client, {"channel": 3, "kernel": SOBEL_X})
    plain_maps, maps = layers_of(plain), layers_of(changed)
    kernel5 = torch.zeros(5, 5)
    kernel5[1:4, 1:4] = torch.tensor(SOBEL_X)  # a 3x3 kernel sits in the middle of the 5x5
    expected = reference_conv1(served, plain_maps["input"][0], kernel5, 3)
    np.testing.assert_allclose(maps["conv1"], expected, atol=1e-5)
    others = [c for c in range(20) if c != 3]
    assert np.array_equal(maps["conv1"][others], plain_maps["conv1"][others])
    assert not np.allclose(maps["conv1"][3], plain_maps["conv1"][3])
    # the change flows downstream
    assert not np.array_equal(maps["pool2"], plain_maps["pool2"])
    assert changed["prediction"]["probabilities"] != plain["prediction"]["probabilities"]


def test_override_with_the_filter_itself_changes_nothing(client: TestClient, served: ServedModel) -> None:
    own = served.model.submodule("conv1").weight[5, 0].tolist()  # (5, 5)
    plain, same = post(client), post(client, {"channel": 5, "kernel": own})
    assert same["prediction"] == plain["prediction"]
    for a, b in zip(layers_of(plain).values(), layers_of(same).values(), strict=True):
        assert np.array_equal(a, b)


def test_even_kernel_and_bias(client: TestClient, served: ServedModel) -> None:
    kernel = [[1.0, -1.0], [-1.0, 1.0]]
    maps = layers_of(post(client, {"channel": 0, "kernel": kernel, "bias": 0.5}))
    kernel5 = torch.zeros(5, 5)
    kernel5[2:4, 2:4] = torch.tensor(kernel)  # the extra zero row/column goes top/left
    expected = reference_conv1(served, maps["input"][0], kernel5, 0)
    expected[0] += 0.5 - served.model.submodule("conv1").bias[0].item()
    np.testing.assert_allclose(maps["conv1"][0], expected[0], atol=1e-5)


def test_override_in_a_json_body(client: TestClient) -> None:
    pixels = np.zeros((28, 28))
    pixels[6:22, 12:16] = 1.0
    body = {"pixels": pixels.tolist()}
    plain = client.post("/api/activations?preprocess=none", json=body).json()
    changed = client.post(
        "/api/activations?preprocess=none", json={**body, "conv1_override": {"channel": 1, "kernel": SOBEL_X}}
    ).json()
    a, b = layers_of(plain)["conv1"], layers_of(changed)["conv1"]
    assert not np.allclose(a[1], b[1])
    assert np.array_equal(np.delete(a, 1, axis=0), np.delete(b, 1, axis=0))


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ("{not json", "conv1_override"),
        ('{"channel": 0, "kernel": [[NaN]]}', "conv1_override.kernel"),
        ({"channel": 0, "kernel": [[1e400]]}, "conv1_override.kernel"),
        ({"channel": 0, "kernel": [[0.0] * 7] * 7}, "conv1_override.kernel"),
        ({"channel": 0, "kernel": []}, "conv1_override.kernel"),
        ({"channel": 0, "kernel": [[1.0, 2.0], [3.0]]}, "conv1_override.kernel"),
        ({"channel": 20, "kernel": SOBEL_X}, "conv1_override.channel"),
        ({"channel": -1, "kernel": SOBEL_X}, "conv1_override.channel"),
        ({"channel": "0", "kernel": SOBEL_X}, "conv1_override.channel"),
        ({"kernel": SOBEL_X}, "conv1_override.channel"),
        ({"channel": 0, "kernel": SOBEL_X, "stride": 2}, "conv1_override"),
        ([1, 2], "conv1_override"),
    ],
)
def test_bad_overrides_are_422_naming_the_field(
    client: TestClient, served: ServedModel, override: object, field: str
) -> None:
    before = state_checksum(served.model)
    data = {"sample": str(SAMPLE), "conv1_override": override if isinstance(override, str) else json.dumps(override)}
    response = client.post("/api/activations", data=data)
    assert response.status_code == 422, response.text
    words = {"conv1_override": "The conv1 override", "conv1_override.kernel": "The conv1 override\u2019s kernel"}
    words["conv1_override.channel"] = "The conv1 override\u2019s channel"
    assert response.json()["detail"].startswith(words[field]), response.json()["detail"]
    assert state_checksum(served.model) == before


def test_overrides_never_leak_into_concurrent_plain_requests(client: TestClient, served: ServedModel) -> None:
    """Interleave override and plain requests from many threads: every plain answer is bit-identical to
    the untouched model's, every override answer to its own sequential answer, and the model is unchanged."""
    before = state_checksum(served.model)
    samples = [0, 1, 2, 3]
    plain_ref = {s: post(client, sample=s) for s in samples}
    override = {"channel": 2, "kernel": SOBEL_X}
    over_ref = {s: post(client, override, sample=s) for s in samples}

    def one(i: int) -> tuple[int, bool, dict]:
        s, with_override = samples[i % len(samples)], i % 3 == 0
        return s, with_override, post(client, override if with_override else None, sample=s)

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(one, range(96)))
    for s, with_override, response in results:
        assert response == (over_ref if with_override else plain_ref)[s]
    assert state_checksum(served.model) == before
