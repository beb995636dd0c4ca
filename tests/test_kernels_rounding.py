"""Sizes that do not divide: rounding floor or ceil in /api/convolve and /api/pool against torch; pooling a
feature map (a kernel's output, a layer of the network); the lab's limits as GET /api/kernels/limits says."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.labs.kernels import geometry, limits
from app.schemas.kernels import ConvolveResponse, LabLimits, PoolResponse
from app.serving import encoding
from tests.helpers import png_bytes, state_checksum

SOBEL_X = [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]
SAMPLE = 3


def post(client, route: str, spec: dict, params: dict | None = None, **image):
    data = {"spec": json.dumps(spec), **{k: str(v) for k, v in image.items() if k == "sample"}}
    files = {"file": ("x.png", image["file"], "image/png")} if "file" in image else None
    return client.post(route, data=data, files=files, params={"include": "data,padded", **(params or {})})


def decoded(entry) -> np.ndarray:
    return encoding.decode(entry.data, entry.shape, entry.dtype)


def sample_image(client, index: int = SAMPLE) -> torch.Tensor:
    return torch.from_numpy(client.app.state.convlens.registry.get().dataset().pixels(index).astype(np.float32))[
        None
    ]  # (1, 28, 28)


# ---- the arithmetic ------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(
    size=st.integers(1, 40),
    kernel=st.integers(1, 9),
    stride=st.integers(1, 9),
    padding=st.integers(0, 4),
    rounding=st.sampled_from(["floor", "ceil"]),
)
def test_pool_output_size_is_torchs(size: int, kernel: int, stride: int, padding: int, rounding: str) -> None:
    """floor and ceil give the sizes torch's max_pool2d gives (ceil_mode), or both refuse the window."""
    padding = min(padding, kernel // 2)
    try:
        g = geometry.pool_geometry(size, size + 1, kernel, stride, padding, rounding)
    except ValueError:
        assert size + 2 * padding < kernel
        return
    x = torch.zeros(1, 1, size, size + 1)
    want = F.max_pool2d(x, kernel, stride, padding, ceil_mode=rounding == "ceil").shape[2:]
    assert (g.height.output, g.width.output) == tuple(want)
    floor = F.max_pool2d(x, kernel, stride, padding).shape[2]
    ceil = F.max_pool2d(x, kernel, stride, padding, ceil_mode=True).shape[2]
    assert (g.height.output_floor, g.height.output_ceil) == (floor, ceil)
    axis = g.height
    end = (axis.output - 1) * stride + kernel  # the last window's end in the padded input
    assert end - axis.overhang + axis.remainder == size + 2 * padding
    assert axis.overhang < stride and axis.remainder < stride + kernel
    assert axis.overhang == 0 or rounding == "ceil"


def test_the_arithmetic_says_what_floor_drops_and_what_ceil_overhangs() -> None:
    floor = geometry.pool_geometry(7, 7, 2, 2, 0).describe()["height"]
    ceil = geometry.pool_geometry(7, 7, 2, 2, 0, "ceil").describe()["height"]
    assert floor["quotient"] == ceil["quotient"] == 2.5
    assert (floor["output"], floor["output_floor"], floor["output_ceil"]) == (3, 3, 4)
    assert floor["expression"] == "floor((7 - 2 + 2*0) / 2) + 1 = floor(2.5) + 1 = 3"
    assert floor["remainder"] == 1 and floor["uncovered"] == [[6, 6]] and "rounding up would give 4" in floor["note"]
    assert ceil["output"] == 4 and ceil["overhang"] == 1 and ceil["uncovered"] == []
    assert ceil["expression"] == "ceil((7 - 2 + 2*0) / 2) + 1 = ceil(2.5) + 1 = 4"
    assert "reaches 1 row(s) past the bottom" in ceil["note"] and "rounding down would give 3" in ceil["note"]
    # PyTorch's rule: a window that would start in the padding after the input is not taken.
    late = geometry.pool_geometry(5, 5, 2, 2, 1, "ceil").describe()["width"]
    assert late["output"] == 3 and late["output_ceil"] == 3 and late["overhang"] == 0
    assert "would start in the padding" in late["expression"] and "not taken" in late["note"]


# ---- POST /api/pool and /api/convolve with rounding ----------------------------------------------


@pytest.mark.parametrize("op", ["max", "avg"])
@pytest.mark.parametrize(("size", "stride", "padding"), [(2, 2, 0), (3, 2, 1), (3, 3, 0), (5, 3, 2), (4, 5, 1)])
def test_pool_with_ceil_is_torchs_ceil_mode(client, op: str, size: int, stride: int, padding: int) -> None:
    spec = {"op": op, "size": size, "stride": stride, "padding": padding, "rounding": "ceil"}
    r = post(client, "/api/pool", spec, sample=SAMPLE)
    assert r.status_code == 200, r.text
    body = PoolResponse.model_validate(r.json())
    image = sample_image(client)[None]  # (1, 1, 28, 28)
    pool = F.max_pool2d if op == "max" else F.avg_pool2d
    want = pool(image, size, stride, padding, ceil_mode=True)[0].numpy()
    got = decoded(body.outputs[0])
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)
    # The padded input ends where the last window ends; the overhang is NaN, and a window's max (or
    # mean over its cells that are not NaN) is the output: what the page's step-through computes.
    padded = decoded(body.padded_input)[0]
    bottom, right = body.padded_input.overhang
    assert [bottom, right] == [body.arithmetic.height.overhang, body.arithmetic.width.overhang]
    assert padded.shape == (28 + 2 * padding + bottom,) * 2
    if bottom:
        assert np.isnan(padded[-bottom:]).all()
    for y, x in [(0, 0), (want.shape[1] - 1, want.shape[2] - 1), (want.shape[1] // 2, want.shape[2] - 1)]:
        window = padded[y * stride : y * stride + size, x * stride : x * stride + size]
        cells = window[~np.isnan(window)]
        value = cells.max() if op == "max" else cells.mean()
        assert value == pytest.approx(float(want[0, y, x]), abs=1e-6)


@pytest.mark.parametrize(("k", "stride", "padding"), [(3, 2, 0), (2, 3, 1), (5, 4, "same"), (4, 3, 0)])
def test_convolve_with_ceil_covers_the_overhang_with_zeros(client, k: int, stride: int, padding) -> None:
    gen = torch.Generator().manual_seed(k * 10 + stride)
    kernel = torch.randn(k, k, generator=gen)
    spec = {"kernels": [kernel.tolist()], "stride": stride, "padding": padding, "rounding": "ceil"}
    r = post(client, "/api/convolve", spec, sample=SAMPLE)
    assert r.status_code == 200, r.text
    body = ConvolveResponse.model_validate(r.json())
    h = body.arithmetic.height
    image = sample_image(client)[None]  # (1, 1, 28, 28)
    # Reference: the declared padding, then zeros for the overhang, then torch's conv2d.
    x = F.pad(image, (h.pad_before, h.pad_after + h.overhang, h.pad_before, h.pad_after + h.overhang))
    want = F.conv2d(x, torch.tensor(body.applied_kernels[0])[None, None], stride=stride)[0].numpy()
    assert want.shape[1] == h.output == h.output_ceil
    np.testing.assert_allclose(decoded(body.outputs[0]), want, rtol=1e-5, atol=1e-5)
    # Floor on the same request gives torch's plain output size: one less where the quotient is not whole
    # (unless that extra window would have started in the padding after the input, as with K=2, S=3, P=1).
    floor = ConvolveResponse.model_validate(
        post(client, "/api/convolve", {**spec, "rounding": "floor"}, sample=SAMPLE).json()
    )
    assert floor.output_shape[1] == h.output_floor
    start_of_extra = h.output_floor * stride  # where one more window would start, in the padded input
    extra = not h.whole and start_of_extra < h.input + h.pad_before
    assert h.output == h.output_floor + extra


def test_rounding_is_checked(client) -> None:
    r = post(client, "/api/pool", {"rounding": "up"}, sample=0)
    assert r.status_code == 422 and "Rounding must be" in r.json()["detail"]
    r = post(client, "/api/convolve", {"kernels": [[[1]]], "rounding": 1}, sample=0)
    assert r.status_code == 422 and "Rounding must be" in r.json()["detail"]


# ---- pooling a feature map -----------------------------------------------------------------------


def test_pool_a_kernels_output(client) -> None:
    spec = {"op": "max", "size": 2, "source": {"kind": "kernel", "kernel": SOBEL_X, "relu": True}}
    r = post(client, "/api/pool", spec, sample=SAMPLE)
    assert r.status_code == 200, r.text
    body = PoolResponse.model_validate(r.json())
    image = sample_image(client)[None]  # (1, 1, 28, 28)
    sobel = F.conv2d(F.pad(image, (1, 1, 1, 1)), torch.tensor(SOBEL_X, dtype=torch.float32)[None, None]).relu()
    want = F.max_pool2d(sobel, 2)[0].numpy()  # (1, 14, 14): half the size
    np.testing.assert_allclose(decoded(body.outputs[0]), want, rtol=1e-6, atol=1e-6)
    assert body.source.kind == "kernel" and body.source.shape == [1, 28, 28] and "ReLU" in body.source.description
    assert body.output_shape == [1, 14, 14]


def test_pool_a_layer_of_the_network_is_the_next_layer(client, served, test_set) -> None:
    """relu1 channel c pooled 2x2 is pool1 channel c, exactly."""
    before = state_checksum(served.model)
    x = torch.from_numpy(test_set.images[SAMPLE : SAMPLE + 1, None].astype(np.float32) / 255)
    acts = served.forward(x)
    for channel in (0, 7):
        spec = {"size": 2, "source": {"kind": "layer", "layer": "relu1", "channel": channel}}
        r = post(client, "/api/pool", spec, sample=SAMPLE)
        assert r.status_code == 200, r.text
        body = PoolResponse.model_validate(r.json())
        assert body.source.shape == [1, *acts["relu1"].shape[2:]] and "relu1" in body.source.description
        np.testing.assert_array_equal(decoded(body.outputs[0])[0], acts["pool1"][0, channel].numpy())
    # An upload goes into the network as /api/activations would take it.
    digit = png_bytes(test_set.images[SAMPLE])
    spec = {"size": 2, "source": {"kind": "layer", "layer": "conv1", "channel": 2}}
    r = post(client, "/api/pool", spec, params={"preprocess": "none"}, file=digit)
    assert r.status_code == 200, r.text
    want = F.max_pool2d(acts["conv1"][:, 2:3], 2)[0, 0].numpy()
    np.testing.assert_allclose(decoded(PoolResponse.model_validate(r.json()).outputs[0])[0], want, atol=1e-4)
    assert state_checksum(served.model) == before


@pytest.mark.parametrize(
    ("source", "status", "words"),
    [
        ({"kind": "layer", "layer": "fc1"}, 422, "The source\u2019s layer: 'fc1' (linear) has no maps to pool"),
        ({"kind": "layer", "layer": "nope"}, 404, "unknown layer"),
        ({"kind": "layer", "layer": "relu1", "channel": 20}, 422, "channel: relu1 has 20 channels (0..19)"),
        ({"kind": "layer", "channel": -1}, 422, "The source\u2019s channel must be a whole number of at least 0"),
        ({"kind": "kernel", "kernel": [[1, 2]]}, 422, "The source\u2019s kernel: a kernel is a square"),
        ({"kind": "kernel"}, 422, "The source\u2019s kernel is missing"),
        ({"kind": "fft"}, 422, "The source: "),
    ],
)
def test_bad_pool_sources_are_named(client, source: dict, status: int, words: str) -> None:
    r = post(client, "/api/pool", {"source": source}, sample=0)
    assert r.status_code == status, r.text
    assert words in r.json()["detail"]


# ---- the limits ----------------------------------------------------------------------------------


def test_limits_are_the_ones_the_server_checks(client) -> None:
    body = LabLimits.model_validate(client.get("/api/kernels/limits").json())
    assert body.max_kernel == limits.MAX_KERNEL and body.max_pool == limits.MAX_POOL
    assert body.max_stride == limits.MAX_STRIDE and body.max_padding == limits.MAX_PADDING
    assert body.roundings == ["floor", "ceil"] and "size // 2" in body.pool_padding
    # Pooling padding: size // 2 is taken, one more is refused, for every window size.
    assert len(body.max_pool_padding) == limits.MAX_POOL + 1
    for size in (1, 2, 3, 4, 5, 32):
        assert body.max_pool_padding[size] == size // 2
        ok = post(client, "/api/pool", {"size": size, "padding": size // 2}, sample=0)
        assert ok.status_code == 200, (size, ok.text)
        bad = post(client, "/api/pool", {"size": size, "padding": size // 2 + 1}, sample=0)
        assert bad.status_code == 422 and "Padding must be at most half the window size" in bad.json()["detail"], size
    r = post(client, "/api/convolve", {"kernels": [[[1]]], "stride": body.max_stride + 1}, sample=0)
    assert r.status_code == 422
    r = post(client, "/api/convolve", {"kernels": [[[1]]], "padding": body.max_padding}, sample=0)
    assert r.status_code == 200


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    size=st.integers(1, 8),
    stride=st.integers(1, 8),
    padding=st.integers(0, 5),
    rounding=st.sampled_from(["floor", "ceil"]),
)
def test_never_a_500_and_sizes_agree(client, size: int, stride: int, padding: int, rounding: str) -> None:
    spec = {"op": "avg", "size": size, "stride": stride, "padding": padding, "rounding": rounding}
    r = post(client, "/api/pool", spec, sample=1)
    assert r.status_code in (200, 422), r.text
    if r.status_code == 200:
        out = PoolResponse.model_validate(r.json())
        x = torch.zeros(1, 1, 28, 28)
        want = F.avg_pool2d(x, size, stride, padding, ceil_mode=rounding == "ceil").shape[2:]
        assert out.output_shape[1:] == list(want)
    else:
        assert padding > size // 2 and "Padding must be at most half the window size" in r.json()["detail"]
