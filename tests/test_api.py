"""The REST contract of the core API, checked against a direct forward pass of the served model."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from app import preprocess
from app.schemas.network import ActivationsResponse, ModelInfo, Sample, WeightsResponse
from app.serving import encoding
from tests.helpers import png_bytes

LAYERS = [
    "input",
    "conv1",
    "bn1",
    "relu1",
    "pool1",
    "conv2",
    "bn2",
    "relu2",
    "pool2",
    "flatten",
    "fc1",
    "bn3",
    "relu3",
    "fc2",
    "probs",
]


def post_file(client, data: bytes, name: str = "digit.png", params: dict | None = None):
    return client.post("/api/activations", files={"file": (name, data, "image/png")}, params=params or {})


def direct(served, pixels: np.ndarray) -> dict[str, torch.Tensor]:
    return served.model.eval().intermediates(torch.from_numpy(pixels).reshape(1, 1, 28, 28))


def test_healthz(client) -> None:
    r = client.get("/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok"}


def test_model_describes_every_layer(client, served) -> None:
    r = client.get("/api/model")
    assert r.status_code == 200
    info = ModelInfo.model_validate(r.json())
    assert info.name == "lenet_bn" and info.dataset == "mnist"
    assert info.classes == [str(i) for i in range(10)] and info.input_shape == [1, 28, 28]
    assert info.test_accuracy == served.card["test_accuracy"]
    assert [layer.name for layer in info.layers] == LAYERS
    by_name = {layer.name: layer for layer in info.layers}
    assert by_name["conv1"].kind == "conv" and by_name["bn3"].kind == "batchnorm"
    assert (by_name["conv1"].kernel_size, by_name["conv1"].stride, by_name["conv1"].padding) == (5, 1, 2)
    assert by_name["pool1"].output_shape == [20, 14, 14] and by_name["fc1"].output_shape == [500]
    assert by_name["conv2"].params == 50 * 20 * 25 + 50 and by_name["bn1"].params == 40
    assert info.params == sum(p.numel() for p in served.model.module.parameters())
    rf = {
        n: (layer.receptive_field.size, layer.receptive_field.jump)
        for n, layer in by_name.items()
        if layer.receptive_field
    }
    assert rf["conv1"] == (5, 1) and rf["pool1"] == (6, 2) and rf["conv2"] == (14, 2) and rf["pool2"] == (16, 4)
    assert by_name["fc1"].receptive_field is None


def test_model_reports_the_normalisation_the_network_applies(client, served) -> None:
    """conv1 slides over (pixel - mean) / std, zero-padded: the page draws that input from these numbers."""
    norm = client.get("/api/model").json()["normalization"]
    pixels = torch.rand(1, 1, 28, 28)
    expected = served.model.normalize(pixels)
    mean, std = norm["mean"][0], norm["std"][0]
    torch.testing.assert_close((pixels - mean) / std, expected)
    assert len(norm["mean"]) == len(norm["std"]) == served.model.input.shape[0]


def test_activations_equal_a_direct_forward_pass(client, served, test_set) -> None:
    data = png_bytes(test_set.images[0])
    r = post_file(client, data)
    assert r.status_code == 200
    body = ActivationsResponse.model_validate(r.json())
    pixels = preprocess.from_upload(data)
    expected = direct(served, pixels)
    assert [layer.name for layer in body.layers] == LAYERS
    for layer in body.layers:
        got = encoding.decode(layer.data, layer.shape, layer.dtype)
        want = expected[layer.name][0].numpy()
        assert list(want.shape) == layer.shape and layer.kind == served.model.layer(layer.name).kind
        assert np.abs(got - want).max() <= 1e-6, layer.name
        assert layer.min == pytest.approx(float(want.min()), abs=1e-6)
        assert layer.max == pytest.approx(float(want.max()), abs=1e-6)
        assert layer.mean == pytest.approx(float(want.mean()), abs=1e-5)
    np.testing.assert_array_equal(
        encoding.decode(body.layers[0].data, [1, 28, 28]), pixels.reshape(1, 28, 28)
    )  # the input layer is the preprocessed image in [0, 1]
    probs = expected["probs"][0]
    assert body.prediction.label == int(probs.argmax()) == test_set.labels[0]
    np.testing.assert_allclose(body.prediction.probabilities, probs.numpy(), atol=1e-7)


def test_float16_halves_the_arrays_and_round_trips(client, served, test_set) -> None:
    data = png_bytes(test_set.images[1])
    full = post_file(client, data).json()
    half = post_file(client, data, params={"dtype": "float16"}).json()
    for a, b in zip(full["layers"], half["layers"], strict=True):
        assert b["dtype"] == "float16"
        x32 = encoding.decode(a["data"], a["shape"], "float32")
        x16 = encoding.decode(b["data"], b["shape"], "float16")
        assert x16.nbytes * 2 == x32.nbytes
        np.testing.assert_array_equal(x16, x32.astype(np.float16))


def test_encoding_round_trips_both_dtypes() -> None:
    x = np.random.default_rng(0).normal(size=(3, 4, 5)).astype(np.float32)
    np.testing.assert_array_equal(encoding.decode(encoding.encode(x), x.shape), x)
    np.testing.assert_array_equal(
        encoding.decode(encoding.encode(x, "float16"), x.shape, "float16"), x.astype(np.float16)
    )
    raw = np.frombuffer(__import__("base64").b64decode(encoding.encode(np.array([1.0], np.float32))), "<u1")
    assert raw.tolist() == [0, 0, 128, 63]  # little-endian IEEE 754 1.0
    with pytest.raises(ValueError, match="dtype"):
        encoding.encode(x, "float64")


def test_float16_bytes_are_numpys_rounding_bit_for_bit() -> None:
    """wire_bytes converts with torch; numpy's astype is the reference: every rounding case (ties, subnormals,
    overflow to infinity, signed zeros), read-only and strided arrays, float64 and empty inputs."""
    rng = np.random.default_rng(7)
    bits = rng.integers(0, 2**32, size=200_000, dtype=np.uint64).astype(np.uint32)
    near = np.arange(0x33000000, 0x47800000, 997, dtype=np.uint32)  # float16's whole range and beyond, both signs
    x = np.concatenate([bits, near, near | 0x80000000]).view(np.float32)
    x = x[~np.isnan(x)]  # a NaN's payload may differ; NaN itself is checked below
    edges = np.array([0.0, -0.0, np.inf, -np.inf, 65504, 65519.99, 65520, 6e-8, 3e-8, 2.98e-8, 1e-8], np.float32)
    with np.errstate(over="ignore"):
        for a in (x, edges, x[::3], np.frombuffer(x.tobytes(), np.float32), x[:0], x[:12].astype(np.float64)):
            got = np.frombuffer(encoding.wire_bytes(a, "float16"), "<u2")
            np.testing.assert_array_equal(got, a.astype("<f2").view("<u2"))
    nan = np.frombuffer(encoding.wire_bytes(np.array([np.nan, 1.0], np.float32), "float16"), "<f2")
    assert np.isnan(nan[0]) and nan[1] == 1.0


def test_layers_query_selects_in_forward_order(client) -> None:
    r = client.post(
        "/api/activations?layers=pool2,conv1", files={"file": ("a.png", png_bytes(np.eye(28, dtype=np.uint8) * 255))}
    )
    assert r.status_code == 200
    assert [layer["name"] for layer in r.json()["layers"]] == ["conv1", "pool2"]
    r = client.post(
        "/api/activations?layers=conv1,conv7", files={"file": ("a.png", png_bytes(np.eye(28, dtype=np.uint8) * 255))}
    )
    assert r.status_code == 422 and "conv7" in r.json()["detail"]


def test_json_pixels_for_drawn_digits(client, served, test_set) -> None:
    pixels = test_set.images[2].astype(np.float32) / 255
    r = client.post("/api/activations", json={"pixels": pixels.tolist()}, params={"preprocess": "none"})
    assert r.status_code == 200
    conv1 = next(layer for layer in r.json()["layers"] if layer["name"] == "conv1")
    want = direct(served, pixels)["conv1"][0].numpy()
    assert np.abs(encoding.decode(conv1["data"], conv1["shape"]) - want).max() <= 1e-6
    r = client.post("/api/activations", json={"pixels": pixels.tolist()})  # default: centred like MNIST
    assert r.status_code == 200 and r.json()["prediction"]["label"] == test_set.labels[2]


def test_a_sample_id_works_like_a_file(client, served, test_set) -> None:
    r = client.post("/api/activations", data={"sample": "42"})
    assert r.status_code == 200
    assert r.json()["prediction"]["label"] == int(
        direct(served, test_set.images[42] / np.float32(255))["probs"].argmax()
    )


def test_weights_of_every_layer_with_weights(client, served) -> None:
    for name in ("conv1", "conv2", "fc1", "fc2"):
        r = client.get(f"/api/layers/{name}/weights")
        assert r.status_code == 200
        body = WeightsResponse.model_validate(r.json())
        assert body.kind in ("conv", "linear") and [t.name for t in body.tensors] == ["weight", "bias"]
        module = served.model.submodule(name)
        for t in body.tensors:
            np.testing.assert_array_equal(encoding.decode(t.data, t.shape), getattr(module, t.name).detach().numpy())
    bn = client.get("/api/layers/bn1/weights").json()
    assert bn["kind"] == "batchnorm" and bn["eps"] == served.model.submodule("bn1").eps
    assert [t["name"] for t in bn["tensors"]] == ["weight", "bias", "running_mean", "running_var"]
    var = encoding.decode(bn["tensors"][3]["data"], bn["tensors"][3]["shape"])
    np.testing.assert_array_equal(var, served.model.submodule("bn1").running_var.numpy())
    assert client.get("/api/layers/conv1/weights").json()["tensors"][0]["shape"] == [20, 1, 5, 5]


@pytest.mark.parametrize(
    ("name", "message"), [("relu1", "has no weights"), ("conv9", "Unknown layer"), ("probs", "has no weights")]
)
def test_weights_of_a_layer_without_weights_is_404(client, name, message) -> None:
    r = client.get(f"/api/layers/{name}/weights")
    assert r.status_code == 404 and message in r.json()["detail"]


def test_samples_gallery(client, served, test_set) -> None:
    r = client.get("/api/samples")
    assert r.status_code == 200
    samples = [Sample.model_validate(s) for s in r.json()]
    assert len(samples) >= 30
    assert {s.label for s in samples} == set(range(10))
    wrong = [s for s in samples if s.predicted != s.label]
    assert wrong, "the gallery includes digits the model gets wrong"
    for s in samples:
        assert s.label == test_set.labels[s.id]
        assert s.predicted == int(direct(served, test_set.images[s.id] / np.float32(255))["probs"].argmax())
    png = client.get(f"/api/samples/{samples[0].id}.png")
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    assert np.array_equal(np.asarray(Image.open(__import__("io").BytesIO(png.content))), test_set.images[samples[0].id])
    assert client.get("/api/samples/10000.png").status_code == 404
    assert client.get("/api/samples/abc.png").status_code == 422


def test_openapi_documents_every_route_with_a_schema(client) -> None:
    spec = client.get("/openapi.json").json()
    for path in ("/healthz", "/api/model", "/api/activations", "/api/layers/{name}/weights", "/api/samples"):
        assert path in spec["paths"]
    post = spec["paths"]["/api/activations"]["post"]
    assert set(post["requestBody"]["content"]) == {"multipart/form-data", "application/json"}
    assert "ActivationsResponse" in str(post["responses"]["200"])
    assert client.get("/docs").status_code == 200
