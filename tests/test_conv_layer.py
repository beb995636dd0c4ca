"""The conv-layer lab: POST /api/conv-layer against torch.nn.functional.conv2d, its unit breakdown, its
shapes, its refusals, and GET /api/conv-layer/options."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from app.labs import conv_layer, photos
from app.schemas.conv_layer import ConvLayerOptions, ConvLayerResponse
from app.serving import encoding
from tests.helpers import png_bytes

RED_VS_GREEN = [[[-1, 0, 1]] * 3, [[1, 0, -1]] * 3, [[0, 0, 0]] * 3]  # Cin x 3 x 3


def post(client, fields: dict, files: list[bytes] | None = None):
    data = {k: v if isinstance(v, str) else json.dumps(v) for k, v in fields.items()}
    parts = [("file", (f"img{i}.png", b, "image/png")) for i, b in enumerate(files or [])]
    return client.post("/api/conv-layer", data=data, files=parts or None)


def ok(client, fields: dict, files: list[bytes] | None = None) -> ConvLayerResponse:
    r = post(client, fields, files)
    assert r.status_code == 200, r.text
    return ConvLayerResponse.model_validate(r.json())


def array(t) -> np.ndarray:
    return encoding.decode(t.data, t.shape, t.dtype).copy()


def photo_input(photo_id: str, size: int) -> torch.Tensor:
    """The reference input: the photo resized with Pillow's Lanczos, RGB in [0, 1] -> (1, 3, H, W)."""
    img = photos.load(photo_id).resize((size, size), Image.Resampling.LANCZOS)
    return torch.from_numpy(np.asarray(img, dtype=np.float32) / 255).permute(2, 0, 1)[None]


def test_the_lectures_example_3x32x32_and_one_3x5x5_filter_give_one_28x28_map(client) -> None:
    gen = torch.Generator().manual_seed(0)
    weight = torch.randn(1, 3, 5, 5, generator=gen)
    body = ok(client, {"photo": "cat", "weight": weight.tolist(), "bias": [0.25]})
    assert body.shapes.input == [1, 3, 32, 32] and body.shapes.weight == [1, 3, 5, 5]
    assert body.shapes.bias == [1] and body.shapes.output == [1, 1, 28, 28]
    assert "one 28x28 map" in body.explanation and "3x5x5 weights" in body.explanation
    assert body.images[0].name == "cat" and body.images[0].original == [256, 256]
    x = photo_input("cat", 32)
    np.testing.assert_allclose(array(body.input), x.numpy(), atol=1e-6)
    want = F.conv2d(x, weight, torch.tensor([0.25]))
    np.testing.assert_allclose(array(body.output), want.numpy(), rtol=1e-5, atol=1e-5)
    assert body.arithmetic.height.expression == "(32 - 5 + 2*0) / 1 + 1 = 27 + 1 = 28"


def test_a_bank_and_a_batch(client) -> None:
    """Two uploads (a batch), three filters: (2, 3, 24, 24) -> (2, 3, 12, 12) at stride 2, "same"."""
    rng = np.random.default_rng(1)
    pictures = [rng.integers(0, 256, (24, 24, 3), dtype=np.uint8) for _ in range(2)]
    weight = rng.normal(size=(3, 3, 3, 3)).round(3)
    bias = [0.1, -0.2, 0.3]
    body = ok(
        client,
        {"weight": weight.tolist(), "bias": bias, "padding": "same", "stride": "2", "size": "24"},
        [png_bytes(p) for p in pictures],
    )
    x = torch.from_numpy(np.stack(pictures).astype(np.float32) / 255).permute(0, 3, 1, 2)  # (2, 3, 24, 24)
    want = F.conv2d(F.pad(x, (0, 1, 0, 1)), torch.tensor(weight, dtype=torch.float32), torch.tensor(bias), stride=2)
    assert body.shapes.output == [2, 3, 12, 12] == list(want.shape)
    np.testing.assert_allclose(array(body.output), want.numpy(), rtol=1e-5, atol=1e-5)
    assert [i.name for i in body.images] == ["img0.png", "img1.png"]
    assert "a batch of 2 images (2x3x24x24, 4-D) gives 2x3x12x12" in body.explanation


def test_sobel_on_all_channels_is_sobel_of_their_sum_and_luminance_is_gray(client) -> None:
    sobel = [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]
    luminance = [[[0, 0, 0], [0, w, 0], [0, 0, 0]] for w in (0.299, 0.587, 0.114)]
    body = ok(client, {"photo": "coffee", "weight": [[sobel] * 3, luminance], "padding": "1"})
    x = torch.from_numpy(array(body.input))  # (1, 3, 32, 32)
    out = array(body.output)[0]
    summed = F.conv2d(F.pad(x.sum(1, keepdim=True), (1, 1, 1, 1)), torch.tensor(sobel, dtype=torch.float32)[None, None])
    np.testing.assert_allclose(out[0], summed[0, 0].numpy(), atol=1e-4)
    gray = (x[0] * torch.tensor([0.299, 0.587, 0.114])[:, None, None]).sum(0)
    np.testing.assert_allclose(out[1], gray.numpy(), atol=1e-5)


def test_the_unit_is_its_patch_times_the_weights_summed_plus_the_bias(client) -> None:
    body = ok(
        client, {"photo": "astronaut", "weight": [RED_VS_GREEN], "bias": [0.5], "padding": "1", "unit": "0,0,0,7"}
    )
    u = body.unit
    assert u is not None and (u.n, u.c, u.y, u.x) == (0, 0, 0, 7) and (u.top, u.left) == (-1, 6)
    x = array(body.input)[0]  # (3, 32, 32)
    padded = np.pad(x, ((0, 0), (1, 1), (1, 1)))
    patch = padded[:, 0:3, 7:10]
    np.testing.assert_allclose(u.patch, patch, atol=1e-7)
    assert np.asarray(u.patch)[:, 0].sum() == 0  # the top row lies in the padding
    products = patch.astype(np.float64) * np.asarray(RED_VS_GREEN)
    np.testing.assert_allclose(u.products, products, atol=1e-7)
    np.testing.assert_allclose(u.channel_sums, products.sum(axis=(1, 2)), atol=1e-7)
    assert u.channel_sums[2] == 0 and u.bias == 0.5
    assert u.value == pytest.approx(products.sum() + 0.5, abs=1e-9)
    assert u.output == pytest.approx(float(array(body.output)[0, 0, 0, 7]), abs=1e-6)
    assert u.value == pytest.approx(u.output, abs=1e-5)


def test_gray_has_depth_one_and_rounding_ceil(client) -> None:
    body = ok(
        client,
        {
            "photo": "cat",
            "color": "gray",
            "weight": [[[[1, -1], [0, 2]]]],
            "stride": "3",
            "rounding": "ceil",
            "size": "20",
        },
    )
    assert body.shapes.input == [1, 1, 20, 20]
    h = body.arithmetic.height  # (20 - 2) / 3 = 6: whole; the same output either way
    assert h.output == h.output_floor == h.output_ceil == 7
    body = ok(
        client,
        {
            "photo": "cat",
            "color": "gray",
            "weight": [[[[1, -1], [0, 2]]]],
            "stride": "4",
            "rounding": "ceil",
            "size": "21",
        },
    )
    h = body.arithmetic.height  # (21 - 2) / 4 = 4.75 -> 6 outputs, the last overhanging by 1
    assert (h.output, h.output_floor, h.overhang) == (6, 5, 1)
    x = torch.from_numpy(array(body.input))
    want = F.conv2d(F.pad(x, (0, 1, 0, 1)), torch.tensor([[[[1.0, -1.0], [0.0, 2.0]]]]), stride=4)
    np.testing.assert_allclose(array(body.output), want.numpy(), atol=1e-6)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    cout=st.integers(1, 4),
    k=st.integers(1, 6),
    stride=st.integers(1, 3),
    padding=st.one_of(st.integers(0, 3), st.just("same")),
    size=st.integers(8, 20),
    seed=st.integers(0, 2**16),
)
def test_matches_conv2d(client, cout: int, k: int, stride: int, padding, size: int, seed: int) -> None:
    gen = torch.Generator().manual_seed(seed)
    weight = (torch.randn(cout, 3, k, k, generator=gen) * 4).round() / 4
    bias = (torch.randn(cout, generator=gen) * 4).round() / 4
    fields = {
        "photo": "coffee",
        "weight": weight.tolist(),
        "bias": bias.tolist(),
        "stride": str(stride),
        "size": str(size),
    }
    body = ok(client, {**fields, "padding": str(padding)})
    x = photo_input("coffee", size)
    if padding == "same":
        h = body.arithmetic.height
        x = F.pad(x, (h.pad_before, h.pad_after, h.pad_before, h.pad_after))
        padding = 0
    want = F.conv2d(x, weight, bias, stride=stride, padding=padding)
    assert body.shapes.output == list(want.shape)
    np.testing.assert_allclose(array(body.output), want.numpy(), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize(
    ("fields", "status", "words"),
    [
        ({"photo": "cat"}, 422, "The weight is missing"),
        ({"photo": "dog", "weight": [RED_VS_GREEN]}, 404, "unknown photo 'dog'"),
        ({"weight": [RED_VS_GREEN]}, 422, "No image"),
        ({"photo": "cat", "weight": "[[["}, 422, "The weight is not valid JSON"),
        ({"photo": "cat", "weight": [RED_VS_GREEN[:2]]}, 422, "Filter 1 of the weight: a filter has"),
        ({"photo": "cat", "color": "gray", "weight": [RED_VS_GREEN]}, 422, "depth: 1 kernel(s)"),
        ({"photo": "cat", "weight": [RED_VS_GREEN] * 17}, 422, "1 to 16 filters"),
        ({"photo": "cat", "weight": [[[[0.0] * 12] * 12] * 3]}, 422, "1 <= K <= 11"),
        ({"photo": "cat", "weight": [[[[1, 2], [3]]] * 3]}, 422, "channel 1, row 2 of the weight: expected 2"),
        ({"photo": "cat", "weight": [[[[1, "a"], [3, 4]]] * 3]}, 422, "column 2 of the weight: 'a' is not"),
        ({"photo": "cat", "weight": [[[[1e9]]] * 3]}, 422, "within +-1e+06"),
        ({"photo": "cat", "weight": [RED_VS_GREEN], "bias": [1, 2]}, 422, "bias: expected one number per filter, 1"),
        ({"photo": "cat", "weight": [RED_VS_GREEN], "size": "3"}, 422, "size: the input's longer side must be 4..256"),
        ({"photo": "cat", "weight": [RED_VS_GREEN], "size": "300"}, 422, "4..256"),
        ({"photo": "cat", "weight": [RED_VS_GREEN], "padding": "lots"}, 422, "Padding: expected an integer"),
        ({"photo": "cat", "weight": [RED_VS_GREEN], "padding": "65"}, 422, "Padding must be"),
        ({"photo": "cat", "weight": [RED_VS_GREEN], "stride": "0"}, 422, "Stride must be"),
        ({"photo": "cat", "weight": [RED_VS_GREEN], "color": "cmyk"}, 422, "The colour must be"),
        ({"photo": "cat", "weight": [RED_VS_GREEN], "rounding": "up"}, 422, "Rounding must be"),
        ({"photo": "cat", "weight": [[[[0.0] * 11] * 11] * 3], "size": "8"}, 422, "does not fit"),
        ({"photo": "cat", "weight": [RED_VS_GREEN], "unit": "0,0,30"}, 422, "The unit: expected four whole numbers"),
        ({"photo": "cat", "weight": [RED_VS_GREEN], "unit": "0,1,0,0"}, 422, "The unit: c = 1 is outside 0..0"),
        ({"photo": "cat", "weight": [RED_VS_GREEN], "unit": "0,0,0,30"}, 422, "x = 30 is outside 0..29"),
    ],
)
def test_bad_requests_are_named_client_errors(client, fields: dict, status: int, words: str) -> None:
    r = post(client, fields)
    assert r.status_code == status, r.text
    assert words in r.json()["detail"]


def test_batch_refusals(client) -> None:
    square, wide = png_bytes(np.zeros((10, 10, 3), np.uint8)), png_bytes(np.zeros((10, 20, 3), np.uint8))
    r = post(client, {"weight": [RED_VS_GREEN]}, [square, wide])
    assert r.status_code == 422 and "one size after resizing, got 32x32, 32x16" in r.json()["detail"]
    r = post(client, {"weight": [RED_VS_GREEN]}, [square] * 9)
    assert r.status_code == 413 and "at most 8" in r.json()["detail"]
    r = post(client, {"weight": [RED_VS_GREEN], "photo": "cat"}, [square])
    assert r.status_code == 422 and "not both" in r.json()["detail"]
    r = post(client, {"weight": [RED_VS_GREEN]}, [b"not an image"])
    assert r.status_code in (400, 415) and r.json()["detail"].startswith("\u201cfile[0] (img0.png)\u201d: ")


def test_options_list_the_limits_and_the_photos_with_their_licences(client) -> None:
    body = ConvLayerOptions.model_validate(client.get("/api/conv-layer/options").json())
    assert body.limits.max_filters == conv_layer.MAX_FILTERS == 16 and body.limits.max_kernel == 11
    assert body.limits.max_batch == 8 and body.limits.default_size == 32
    assert {p.id for p in body.photos} == {"cat", "coffee", "astronaut"}
    for p in body.photos:
        assert p.license in ("CC0 1.0", "public domain") and p.credit
        r = client.get(p.url)
        assert r.status_code == 200 and Image.open(io.BytesIO(r.content)).size == (256, 256)
