"""The 1x1 convolution demo: mixing against torch's conv2d with a 1x1 kernel, the counts, and POST /api/mix."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from app.labs import mixing
from app.schemas.insight import BottleneckResponse, MixLimits, MixResponse
from app.serving import encoding
from tests.helpers import state_checksum


def test_mix_is_a_1x1_convolution() -> None:
    gen = torch.Generator().manual_seed(0)
    maps = torch.randn(20, 28, 28, generator=gen)
    matrix = torch.randn(6, 20, generator=gen)
    bias = torch.randn(6, generator=gen)
    expected = F.conv2d(maps[None], matrix[:, :, None, None], bias)[0]  # (6, 28, 28)
    torch.testing.assert_close(mixing.mix(maps, matrix, bias), expected, rtol=1e-5, atol=1e-5)


def test_counts_compare_with_a_5x5_layer_of_the_same_width() -> None:
    c = mixing.counts(20, 8, 28, 28)
    assert c["params_1x1"] == 8 * 20 + 8 == sum(p.numel() for p in torch.nn.Conv2d(20, 8, 1).parameters())
    assert c["params_kxk"] == 8 * 20 * 25 + 8 == sum(p.numel() for p in torch.nn.Conv2d(20, 8, 5).parameters())
    assert c["madds_1x1"] == 8 * 20 * 28 * 28 and c["madds_kxk"] == 25 * c["madds_1x1"]


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        ([], "1 to 64 rows"),
        ([[1.0] * 19], "matrix[0]: expected a row of 20"),
        ([[1.0] * 20, [1.0] * 21], "matrix[1]"),
        ([[float("nan")] + [0.0] * 19], "matrix[0][0]"),
        ([[True] + [0.0] * 19], "matrix[0][0]"),
        ([["1"] + [0.0] * 19], "matrix[0][0]"),
        ([[1e9] + [0.0] * 19], "outside"),
        ([[0.0] * 20] * 65, "1 to 64 rows"),
        ("identity", "1 to 64 rows"),
    ],
)
def test_bad_matrices_are_named(raw, words: str) -> None:
    with pytest.raises(ValueError) as info:
        mixing.as_matrix(raw, 20)
    assert words in str(info.value)


def test_api_mixes_the_maps_of_the_image(client, served, test_set) -> None:
    before = state_checksum(served.model)
    matrix = [[0.0] * 20 for _ in range(3)]
    matrix[0][4] = 1.0  # channel 4 as it is
    matrix[1][0], matrix[1][1] = 1.0, -1.0  # a difference
    matrix[2] = [0.05] * 20  # the mean
    for layer in ("conv1", "relu1"):
        r = client.post(
            "/api/mix", data={"sample": "5", "layer": layer, "matrix": json.dumps(matrix), "bias": "[0, 0.5, 0]"}
        )
        assert r.status_code == 200, r.text
        body = r.json()
        MixResponse.model_validate(body)
        assert body["input_shape"] == [20, 28, 28] and body["matrix_shape"] == [3, 20]
        assert body["counts"] == mixing.counts(20, 3, 28, 28)
        mixed = encoding.decode(body["output"]["data"], body["output"]["shape"])
        x = torch.from_numpy(test_set.images[5:6, None].astype(np.float32) / 255)
        maps = served.forward(x)[layer][0].numpy()  # (20, 28, 28)
        np.testing.assert_array_equal(mixed[0], maps[4])
        np.testing.assert_allclose(mixed[1], maps[0] - maps[1] + 0.5, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(mixed[2], maps.mean(0), rtol=1e-4, atol=1e-5)
    pixels = (test_set.images[5].astype(np.float32) / 255).tolist()
    r = client.post("/api/mix?preprocess=none", json={"pixels": pixels, "matrix": matrix})
    assert r.status_code == 200 and r.json()["layer"] == "relu1"
    r = client.post("/api/mix", data={"sample": "5", "layer": "conv2", "matrix": json.dumps([[1.0] * 50])})
    assert r.status_code == 200 and r.json()["output"]["shape"] == [1, 14, 14]
    assert state_checksum(served.model) == before


@pytest.mark.parametrize(
    ("fields", "status", "words"),
    [
        ({"layer": "relu1"}, 422, "The matrix: missing"),
        ({"layer": "relu1", "matrix": "[[1, 2"}, 422, "The matrix is not valid JSON"),
        ({"layer": "relu1", "matrix": "[[1, 2]]"}, 422, "expected a row of 20"),
        ({"layer": "nope", "matrix": "[[1]]"}, 404, "Unknown layer"),
        ({"layer": "fc1", "matrix": "[[1]]"}, 422, "no channels to mix"),
        ({"layer": "input", "matrix": "[[1]]"}, 422, "no channels to mix"),
        (
            {"layer": "relu1", "matrix": json.dumps([[1.0] * 20]), "bias": "[1, 2]"},
            422,
            "The bias: expected a list of 1",
        ),
    ],
)
def test_bad_mix_requests_are_clear_client_errors(client, fields: dict, status: int, words: str) -> None:
    r = client.post("/api/mix", data={"sample": "0", **fields})
    assert r.status_code == status, r.text
    assert words in r.json()["detail"]


def test_64_outputs_the_lectures_bottleneck_width(client, served, test_set) -> None:
    gen = torch.Generator().manual_seed(3)
    matrix = torch.randn(64, 50, generator=gen).round(decimals=2)
    r = client.post("/api/mix", data={"sample": "2", "layer": "conv2", "matrix": json.dumps(matrix.tolist())})
    assert r.status_code == 200, r.text
    body = MixResponse.model_validate(r.json())
    assert body.matrix_shape == [64, 50] and body.output.shape[0] == 64
    x = torch.from_numpy(test_set.images[2:3, None].astype(np.float32) / 255)
    maps = served.forward(x)["conv2"]  # (1, 50, H, W)
    want = F.conv2d(maps, matrix[:, :, None, None])[0].numpy()
    got = encoding.decode(body.output.data, body.output.shape)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
    r = client.post("/api/mix", data={"sample": "2", "matrix": json.dumps([[0.0] * 20] * 65)})
    assert r.status_code == 422 and "1 to 64 rows" in r.json()["detail"] and "not 65" in r.json()["detail"]


def test_limits_name_the_largest_c_out_and_the_layers(client, served) -> None:
    body = MixLimits.model_validate(client.get("/api/mix/limits").json())
    assert body.max_outputs == mixing.MAX_OUT >= 64 and body.max_value == mixing.MAX_VALUE
    names = [layer.name for layer in body.layers]
    assert "input" not in names and {"conv1", "relu1", "pool1", "conv2"} <= set(names)
    assert all(layer.shape == served.shapes[layer.name] and len(layer.shape) == 3 for layer in body.layers)


def _counted(layers: list[torch.nn.Module], c_in: int, side: int) -> tuple[int, int]:
    """Parameters and multiply-adds of a stack of conv layers, as torch counts them."""
    net = torch.nn.Sequential(*layers)
    with FlopCounterMode(display=False) as counter:
        net(torch.zeros(1, c_in, side, side))
    return sum(p.numel() for p in net.parameters()), counter.get_total_flops() // 2  # a multiply-add is 2 flops


@pytest.mark.parametrize(
    ("c_in", "c_mid", "c_out", "k", "side"), [(256, 64, 256, 3, 56), (256, 64, 64, 3, 28), (20, 8, 50, 5, 14)]
)
def test_bottleneck_counts_are_torchs(client, c_in: int, c_mid: int, c_out: int, k: int, side: int) -> None:
    params = {"c_in": c_in, "c_mid": c_mid, "c_out": c_out, "kernel": k, "height": side, "width": side}
    r = client.get("/api/mix/bottleneck", params=params)
    assert r.status_code == 200, r.text
    body = BottleneckResponse.model_validate(r.json())
    squeeze = [torch.nn.Conv2d(c_in, c_mid, 1), torch.nn.Conv2d(c_mid, c_out, k, padding=k // 2)]
    assert (body.bottleneck.params, body.bottleneck.madds) == _counted(squeeze, c_in, side)
    assert (body.direct.params, body.direct.madds) == _counted(
        [torch.nn.Conv2d(c_in, c_out, k, padding=k // 2)], c_in, side
    )
    assert body.madds_ratio == pytest.approx(body.direct.madds / body.bottleneck.madds)
    assert [layer.kernel for layer in body.bottleneck.layers] == [1, k]


def test_the_lectures_bottleneck_is_the_default(client) -> None:
    body = BottleneckResponse.model_validate(client.get("/api/mix/bottleneck").json())
    assert body.direct.params == 256 * 256 * 9 + 256 == 590_080
    assert body.bottleneck.params == (256 * 64 + 64) + (64 * 256 * 9 + 256) == 164_160
    assert body.params_ratio == pytest.approx(590_080 / 164_160)
    r = client.get("/api/mix/bottleneck", params={"c_mid": 0})
    assert r.status_code == 422 and "C_mid must be a whole number 1..4096, not 0." in r.json()["detail"]
    r = client.get("/api/mix/bottleneck", params={"kernel": 99})
    assert r.status_code == 422 and "kernel" in r.json()["detail"]
