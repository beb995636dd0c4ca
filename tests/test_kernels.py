"""The kernel lab's core (app/labs/kernels) against scipy.signal and torch.nn.functional."""

from __future__ import annotations

import io
import math
import re
import warnings

import numpy as np
import pytest
import scipy.signal
import torch
import torch.nn.functional as F
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from PIL import Image
from torch import nn

from app.labs import override
from app.labs.kernels import convolution, display, geometry, images, limits, pooling, presets

NP_MODES = {"zeros": "constant", "reflect": "reflect", "replicate": "edge", "circular": "wrap"}
TOLERANCE = 1e-5
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def reference_pads(size: int, k: int, stride: int, padding: str | int) -> tuple[int, int]:
    """Padding as documented, written out independently of the code under test."""
    if padding == "valid":
        return 0, 0
    if padding == "same":
        total = max((math.ceil(size / stride) - 1) * stride + k - size, 0)
        return total // 2, total - total // 2
    return padding, padding


def reference(image: np.ndarray, kernel: np.ndarray, mode: str, padding, padding_mode: str, stride: int) -> np.ndarray:
    """scipy.signal on a numpy-padded float64 image, every channel on its own, then the stride."""
    k = kernel.shape[0]
    (top, bottom), (left, right) = (reference_pads(image.shape[i], k, stride, padding) for i in (1, 2))
    padded = np.pad(image.astype(np.float64), ((0, 0), (top, bottom), (left, right)), mode=NP_MODES[padding_mode])
    slide = scipy.signal.correlate2d if mode == "cross-correlation" else scipy.signal.convolve2d
    return np.stack([slide(ch, kernel.astype(np.float64), mode="valid")[::stride, ::stride] for ch in padded])


def torch_reference(image: np.ndarray, kernel: np.ndarray, mode: str, padding, padding_mode: str, stride: int):
    """torch.nn.functional.conv2d (float64) on the same padding, channels as a batch."""
    k = kernel.shape[0]
    (top, bottom), (left, right) = (reference_pads(image.shape[i], k, stride, padding) for i in (1, 2))
    x = torch.from_numpy(image.astype(np.float64)).unsqueeze(1)  # (C, 1, H, W)
    if top or bottom or left or right:
        torch_mode = {"zeros": "constant"}.get(padding_mode, padding_mode)
        x = F.pad(x, (left, right, top, bottom), mode=torch_mode)
    w = torch.from_numpy(kernel.astype(np.float64))
    if mode == "convolution":
        w = w.flip(0, 1)
    return F.conv2d(x, w[None, None], stride=stride)[:, 0].numpy()  # (C, H', W')


def scaled_error(got: torch.Tensor, want: np.ndarray, kernel: np.ndarray) -> float:
    """max |diff|, in units of the largest possible |output| when that exceeds 1 (float32 sums of up to
    225 products carry an error proportional to their magnitude; pixels are in [0, 1])."""
    return float(np.abs(got.numpy() - want).max()) / max(1.0, float(np.abs(kernel).sum()))


@st.composite
def problems(draw, max_k: int = 15):
    channels = draw(st.sampled_from([1, 3]))
    h, w = draw(st.integers(1, 30)), draw(st.integers(1, 30))
    # the pixels are noise from a drawn seed: drawing up to 2,700 of them one by one cost hypothesis most
    # of this test's time, and what varies the problem is its shape, kernel, padding and stride
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    image = rng.integers(0, 256, (channels, h, w)).astype(np.float32) / 255.0
    k = draw(st.integers(1, max_k))
    values = st.one_of(st.integers(-4, 4).map(float), st.floats(-1.0, 1.0, allow_nan=False, width=32))
    kernel = np.asarray(draw(st.lists(values, min_size=k * k, max_size=k * k)), dtype=np.float32).reshape(k, k)
    padding = draw(st.one_of(st.sampled_from(["valid", "same"]), st.integers(0, 6)))
    padding_mode = draw(st.sampled_from(list(NP_MODES)))
    stride = draw(st.integers(1, 5))
    mode = draw(st.sampled_from(limits.MODES))
    return image, kernel, mode, padding, padding_mode, stride


def expected_error(image: np.ndarray, k: int, padding, padding_mode: str, stride: int) -> str | None:
    """The field a valid request must not trip over, or None when the problem is valid."""
    for size in image.shape[1:]:
        before, after = reference_pads(size, k, stride, padding)
        if size + before + after < k:
            return "kernels"
        if padding_mode == "reflect" and max(before, after) >= size:
            return "padding_mode"
        if padding_mode == "circular" and max(before, after) > size:
            return "padding_mode"
    return None


@SETTINGS
@given(problems())
def test_convolve_matches_scipy_and_torch(problem) -> None:
    image, kernel, mode, padding, padding_mode, stride = problem
    args = {"mode": mode, "padding": padding, "padding_mode": padding_mode, "stride": stride}
    field = expected_error(image, kernel.shape[0], padding, padding_mode, stride)
    if field is not None:
        with pytest.raises(ValueError, match=f"^{field}:"):
            convolution.convolve(torch.from_numpy(image), [kernel], **args)
        return
    result = convolution.convolve(torch.from_numpy(image), [kernel], **args)
    got = result.outputs[0]
    want = reference(image, kernel, mode, padding, padding_mode, stride)
    assert list(got.shape) == list(want.shape)
    assert scaled_error(got, want, kernel) <= TOLERANCE
    assert scaled_error(got, torch_reference(image, kernel, mode, padding, padding_mode, stride), kernel) <= TOLERANCE
    # the reported arithmetic is the produced shape
    arithmetic = result.geometry.describe()
    assert [image.shape[0], arithmetic["height"]["output"], arithmetic["width"]["output"]] == list(got.shape)
    assert result.geometry.shape(image.shape[0]) == list(got.shape)


@settings(max_examples=60, deadline=None)
@given(problems(max_k=7))
def test_small_kernels_within_1e_5_absolute(problem) -> None:
    """Kernels up to 7x7 with values in [-1, 1]: plain absolute max |diff| <= 1e-5."""
    image, kernel, mode, padding, padding_mode, stride = problem
    kernel = np.clip(kernel, -1, 1)
    assume(expected_error(image, kernel.shape[0], padding, padding_mode, stride) is None)
    args = {"mode": mode, "padding": padding, "padding_mode": padding_mode, "stride": stride}
    got = convolution.convolve(torch.from_numpy(image), [kernel], **args).outputs[0].numpy()
    assert np.abs(got - reference(image, kernel, mode, padding, padding_mode, stride)).max() <= TOLERANCE


@pytest.mark.parametrize("k", [1, 2, 3, 4, 5, 6, 7])
def test_same_matches_pytorch_and_scipy_same(k: int) -> None:
    """stride 1 "same": PyTorch's padding="same" and scipy's mode="same" (both put an even kernel's extra
    padding row/column after), for odd and even kernels."""
    rng = np.random.default_rng(k)
    x = rng.random((13, 17))
    w = rng.uniform(-1, 1, (k, k))
    got = convolution.convolve(torch.from_numpy(x).float()[None], [w.astype(np.float32)], padding="same").outputs[0][0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # PyTorch notes that even kernels need a padded copy
        want = F.conv2d(torch.from_numpy(x)[None, None], torch.from_numpy(w)[None, None], padding="same")[0, 0]
    assert got.shape == (13, 17)
    assert np.abs(got.numpy() - want.numpy()).max() <= TOLERANCE
    assert np.abs(got.numpy() - scipy.signal.correlate2d(x, w, mode="same")).max() <= TOLERANCE
    wrap = convolution.convolve(
        torch.from_numpy(x).float()[None], [w.astype(np.float32)], padding="same", padding_mode="circular"
    ).outputs[0][0]
    if k % 2:
        assert np.abs(wrap.numpy() - scipy.signal.correlate2d(x, w, mode="same", boundary="wrap")).max() <= TOLERANCE


def test_even_kernel_same_puts_the_extra_row_after() -> None:
    g = geometry.conv_geometry(10, 12, 4, 1, "same")
    assert (g.height.before, g.height.after, g.width.before, g.width.after) == (1, 2, 1, 2)
    assert g.shape(1) == [1, 10, 12]
    assert "bottom/right" in g.height.rule


@pytest.mark.parametrize(
    ("size", "k", "stride", "out", "pads"),
    [
        (28, 5, 1, 28, (2, 2)),
        (28, 5, 2, 14, (1, 2)),
        (28, 3, 3, 10, (1, 1)),
        (7, 2, 2, 4, (0, 1)),
        (5, 5, 4, 2, (2, 2)),
    ],
)
def test_same_with_stride_gives_ceil(size: int, k: int, stride: int, out: int, pads: tuple[int, int]) -> None:
    g = geometry.conv_geometry(size, size, k, stride, "same")
    assert g.height.output == out == math.ceil(size / stride)
    assert (g.height.before, g.height.after) == pads


def brute_uncovered(axis: geometry.Axis) -> list[int]:
    covered = set()
    for i in range(axis.output):
        covered.update(range(i * axis.stride - axis.before, i * axis.stride - axis.before + axis.kernel))
    return [j for j in range(axis.size) if j not in covered]


@settings(max_examples=300, deadline=None)
@given(
    st.integers(1, 60),
    st.integers(1, 15),
    st.integers(1, 20),
    st.one_of(st.sampled_from(["valid", "same"]), st.integers(0, 10)),
)
def test_arithmetic_is_consistent(size: int, k: int, stride: int, padding) -> None:
    before, after = reference_pads(size, k, stride, padding)
    assume(size + before + after >= k)
    axis = geometry.conv_geometry(size, size, k, stride, padding).height
    d = axis.describe("height")
    span = size - k + before + after
    assert d["output"] == span // stride + 1 == axis.output
    assert d["quotient"] == span / stride and d["whole"] == (span % stride == 0)
    assert d["remainder"] == span % stride
    assert d["expression"].endswith(f"= {d['output']}")
    assert d["expression"].startswith("floor(") != d["whole"]
    flat = [j for a, b in d["uncovered"] for j in range(a, b + 1)]
    assert flat == brute_uncovered(axis) and d["uncovered_count"] == len(flat)
    if flat:
        assert "never reach the output" in d["note"]
    # the numbers are filled into the formula
    pads = f"2*{before}" if before == after else f"{before} + {after}"
    assert f"({size} - {k} + {pads}) / {stride}" in d["expression"]


def test_arithmetic_of_a_stride_that_does_not_divide() -> None:
    d = geometry.conv_geometry(28, 28, 5, 2, 0).describe()["width"]
    assert d["formula"] == "(W - K + 2P) / S + 1"
    assert d["expression"] == "floor((28 - 5 + 2*0) / 2) + 1 = floor(11.5) + 1 = 12"
    assert d["whole"] is False and d["output"] == 12 and d["remainder"] == 1
    assert d["uncovered"] == [[27, 27]] and "column(s) never reach" in d["note"]


def test_uncovered_gaps_when_the_stride_exceeds_the_kernel() -> None:
    d = geometry.conv_geometry(10, 10, 2, 3, "valid").describe()["height"]
    assert d["output"] == 3 and d["uncovered"] == [[2, 2], [5, 5], [8, 9]]


def test_rgb_channels_are_filtered_independently_and_combined() -> None:
    rng = np.random.default_rng(0)
    image = torch.from_numpy(rng.random((3, 20, 24), dtype=np.float32))
    sx, sy = (np.asarray(p["kernel"], np.float32) for p in presets.PRESETS if p["name"] in ("sobel x", "sobel y"))
    for how in ("magnitude", "sum"):
        r = convolution.convolve(image, [sx, sy], padding=1, padding_mode="replicate", combine=how)
        for c in range(3):
            for kernel, out in zip((sx, sy), r.outputs, strict=True):
                alone = convolution.convolve(image[c : c + 1], [kernel], padding=1, padding_mode="replicate").outputs[0]
                assert torch.equal(out[c : c + 1], alone)
        gx, gy = r.outputs
        want = torch.sqrt(gx**2 + gy**2) if how == "magnitude" else gx + gy
        assert torch.allclose(r.combined, want, atol=1e-6)
    assert convolution.convolve(image, [sx], combine="none").combined is None


def test_convolution_is_cross_correlation_with_the_flipped_kernel() -> None:
    rng = np.random.default_rng(1)
    image = torch.from_numpy(rng.random((1, 15, 16), dtype=np.float32))
    k = rng.standard_normal((4, 4)).astype(np.float32)
    conv = convolution.convolve(image, [k], mode="convolution", padding="same")
    xcorr = convolution.convolve(image, [k[::-1, ::-1].copy()], padding="same")
    assert torch.equal(conv.outputs[0], xcorr.outputs[0])
    assert np.array_equal(conv.applied[0], k[::-1, ::-1])


def test_large_images_use_bands_correctly() -> None:
    """Images tall enough to be cut into bands (with a last, partial band) at several strides."""
    rng = np.random.default_rng(2)
    image = rng.random((1, 203, 97), dtype=np.float32)
    for k, stride in [(5, 1), (3, 2), (15, 3), (2, 7), (1, 1)]:
        kernel = rng.uniform(-1, 1, (k, k)).astype(np.float32)
        got = convolution.convolve(torch.from_numpy(image), [kernel], padding="same", stride=stride).outputs[0]
        want = reference(image, kernel, "cross-correlation", "same", "zeros", stride)
        assert scaled_error(got, want, kernel) <= TOLERANCE


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ([], "empty"),
        ([[]], "square"),
        ([[1, 2], [3]], "ragged"),
        ([[1, 2, 3]], "square"),
        ([[float("nan")]], "finite"),
        ([[float("inf")]], "finite"),
        ([[1e7]], "finite"),
        ([[True]], "not a number"),
        ([["1"]], "not a number"),
        ([[1] * 16] * 16, "16x16"),
        ("abc", "matrix"),
        (5, "matrix"),
        ([1, 2], "row 0"),
    ],
)
def test_bad_kernels_name_the_field(values, message: str) -> None:
    with pytest.raises(ValueError, match=rf"^kernels\[0\]: .*{message}"):
        limits.as_kernels([values])


def test_bad_kernel_lists_and_options() -> None:
    img = torch.zeros(1, 8, 8)
    cases = [
        ({"kernels": []}, "kernels"),
        ({"kernels": [[[1.0]]] * 9}, "kernels"),
        ({"kernels": [[[1.0]], [[1.0, 0], [0, 1]]]}, "kernels"),
        ({"kernels": [[[1.0]]], "mode": "flip"}, "mode"),
        ({"kernels": [[[1.0]]], "padding": -1}, "padding"),
        ({"kernels": [[[1.0]]], "padding": "full"}, "padding"),
        ({"kernels": [[[1.0]]], "padding_mode": "mirror"}, "padding_mode"),
        ({"kernels": [[[1.0]]], "stride": 0}, "stride"),
        ({"kernels": [[[1.0]]], "combine": "max"}, "combine"),
        ({"kernels": [[[1.0] * 9] * 9]}, "kernels"),  # output smaller than 1x1
        ({"kernels": [[[1.0] * 3] * 3], "padding": 8, "padding_mode": "reflect"}, "padding_mode"),
        ({"kernels": [[[1.0] * 3] * 3], "padding": 9, "padding_mode": "circular"}, "padding_mode"),
    ]
    for args, field in cases:
        with pytest.raises(ValueError, match=f"^{field}"):
            convolution.convolve(img, **args)


def test_output_limit_is_checked_before_any_work() -> None:
    huge = torch.zeros(1).expand(3, 4096, 4096)  # no memory behind it: any work would be slow, not wrong
    with pytest.raises(limits.TooLarge, match="limit") as info:
        convolution.convolve(huge, [[[1.0] * 15] * 15] * 8, padding="same")
    assert info.value.status == 413
    with pytest.raises(limits.TooLarge):
        pooling.pool(huge, "max", 1)
    assert convolution.convolve(torch.zeros(1, 64, 64), [[[1.0]]]).outputs[0].shape == (1, 64, 64)


@SETTINGS
@given(
    st.sampled_from([1, 3]),
    st.integers(1, 30),
    st.integers(1, 30),
    st.sampled_from(["max", "avg"]),
    st.integers(1, 6),
    st.one_of(st.none(), st.integers(1, 6)),
    st.integers(0, 3),
    st.integers(0, 2**32 - 1),
)
def test_pool_matches_torch(channels, h, w, op, size, stride, padding, seed) -> None:
    image = torch.from_numpy(np.random.default_rng(seed).random((channels, h, w), dtype=np.float32))
    s = size if stride is None else stride
    if padding > size // 2 or min(h, w) + 2 * padding < size:
        with pytest.raises(ValueError, match=r"^(padding|size):"):
            pooling.pool(image, op, size, stride, padding)
        return
    result = pooling.pool(image, op, size, stride, padding)
    ref = F.max_pool2d if op == "max" else F.avg_pool2d
    want = ref(image[None].double(), size, s, padding)[0]
    assert result.output.shape == want.shape
    assert torch.abs(result.output.double() - want).max() <= TOLERANCE
    assert result.geometry.shape(channels) == list(want.shape)


def test_pool_padding_is_minus_infinity_for_max() -> None:
    r = pooling.pool(-torch.ones(1, 4, 4), "max", 2, 2, 1)
    padded = pooling.pool_padded(-torch.ones(1, 4, 4), "max", r.geometry)
    assert padded.shape == (1, 6, 6) and padded[0, 0, 0] == -math.inf and padded[0, 1, 1] == -1
    assert torch.equal(r.output, -torch.ones(1, 3, 3))
    assert torch.allclose(pooling.pool(torch.ones(1, 4, 4), "avg", 2, 2, 1).output[0, 0, 0], torch.tensor(0.25))


def test_bad_pool_specs() -> None:
    img = torch.zeros(1, 8, 8)
    for args, field in [
        (("min", 2), "op"),
        (("max", 0), "size"),
        (("max", 33), "size"),
        (("max", 9), "size"),
        (("max", 2, 0), "stride"),
        (("max", 2, 2, 2), "padding"),
    ]:
        with pytest.raises(ValueError, match=f"^{field}:"):
            pooling.pool(img, *args)


# --- images and display ---------------------------------------------------------------------------


def test_image_tensor_gray_is_pillows_l_and_rgb_is_per_channel() -> None:
    rng = np.random.default_rng(3)
    rgb = Image.fromarray(rng.integers(0, 256, (9, 11, 3), dtype=np.uint8))
    gray = images.image_tensor(rgb, "gray")
    assert gray.shape == (1, 9, 11) and gray.dtype == torch.float32
    assert np.array_equal(gray[0].numpy(), np.asarray(rgb.convert("L"), dtype=np.float32) / 255.0)
    color = images.image_tensor(rgb, "rgb")
    assert color.shape == (3, 9, 11) and color.is_contiguous()
    assert np.array_equal(color.numpy(), np.asarray(rgb, dtype=np.float32).transpose(2, 0, 1) / 255.0)


def test_image_tensor_transparency_16_bit_and_palette() -> None:
    rgba = Image.new("RGBA", (4, 3), (0, 0, 0, 0))
    assert torch.equal(images.image_tensor(rgba, "gray"), torch.ones(1, 3, 4))  # over white
    deep = Image.fromarray(np.full((5, 6), 65535, dtype=np.uint16))
    assert torch.equal(images.image_tensor(deep, "rgb"), torch.ones(3, 5, 6))
    pal = Image.new("P", (2, 2), 0)
    assert images.image_tensor(pal, "rgb").shape == (3, 2, 2)
    with pytest.raises(ValueError, match=r"^color:"):
        images.image_tensor(pal, "cmyk")


@pytest.mark.parametrize("level", [0, 1, 9])
@pytest.mark.parametrize("channels", [1, 3])
def test_png_round_trips_through_pillow(level: int, channels: int) -> None:
    rng = np.random.default_rng(level)
    values = torch.from_numpy(rng.uniform(-2, 3, (channels, 7, 10)).astype(np.float32))
    mode, low, high = display.display_scale(float(values.min()), float(values.max()))
    assert mode == "symmetric" and low == -high == -float(values.abs().max())
    pixels = display.to_pixels(values, low, high)
    decoded = np.asarray(Image.open(io.BytesIO(display.png(pixels, level))))
    want = np.clip(np.floor((values.numpy() - low) * 255 / (high - low) + 0.5), 0, 255).astype(np.uint8)
    want = want[0] if channels == 1 else want.transpose(1, 2, 0)
    assert decoded.shape == want.shape and np.array_equal(decoded, want)


def test_display_scale_minmax_and_constant() -> None:
    assert display.display_scale(0.5, 2.0) == ("minmax", 0.5, 2.0)
    assert display.to_pixels(torch.full((1, 2, 2), 0.7), 0.7, 0.7).max() == 0
    px = display.to_pixels(torch.tensor([[[0.5, 2.0]]]), 0.5, 2.0)
    assert px.tolist() == [[0, 255]]


# --- presets --------------------------------------------------------------------------------------

REQUIRED_PRESETS = [
    "identity",
    "box blur 3x3",
    "box blur 5x5",
    "gaussian 3x3",
    "gaussian 5x5",
    "sharpen",
    "sobel x",
    "sobel y",
    "scharr x",
    "scharr y",
    "prewitt x",
    "prewitt y",
    "laplacian 4-neighbour",
    "laplacian 8-neighbour",
    "emboss",
    "outline",
    "vertical edge",
    "horizontal edge",
    "1x1",
]


def test_presets_are_valid_and_complete() -> None:
    by_name = {p["name"]: p for p in presets.PRESETS}
    assert len(by_name) == len(presets.PRESETS) and set(REQUIRED_PRESETS) <= set(by_name)
    for p in presets.PRESETS:
        limits.as_kernel(p["kernel"], p["name"])
        assert len(p["description"]) > 20
    k = {name: np.asarray(p["kernel"]) for name, p in by_name.items()}
    for blur in ("box blur 3x3", "box blur 5x5", "gaussian 3x3", "gaussian 5x5", "identity", "sharpen"):
        assert math.isclose(k[blur].sum(), 1.0)
    for name in ("sobel", "scharr", "prewitt"):
        assert np.array_equal(k[f"{name} y"], k[f"{name} x"].T) and k[f"{name} x"].sum() == 0
    assert k["laplacian 4-neighbour"].sum() == k["laplacian 8-neighbour"].sum() == k["outline"].sum() == 0
    assert k["gaussian 5x5"].shape == (5, 5) and k["1x1"].shape == (1, 1)
    # Sobel x is positive where the image gets brighter to the right
    ramp = torch.arange(6, dtype=torch.float32).repeat(6, 1)[None] / 5  # (1, 6, 6), brighter to the right
    assert (convolution.convolve(ramp, [k["sobel x"].astype(np.float32)]).outputs[0] > 0).all()
    # The lecture's templates exactly: [[-1, 0, 1]] * 3 and its transpose, positive from dark to bright.
    assert k["vertical edge"].tolist() == [[-1, 0, 1], [-1, 0, 1], [-1, 0, 1]]
    assert np.array_equal(k["horizontal edge"], k["vertical edge"].T)
    assert (convolution.convolve(ramp, [k["vertical edge"].astype(np.float32)]).outputs[0] > 0).all()
    down = ramp.transpose(1, 2)  # brighter downwards
    assert (convolution.convolve(down, [k["horizontal edge"].astype(np.float32)]).outputs[0] > 0).all()


# --- conv1 override -------------------------------------------------------------------------------


def make_conv1() -> nn.Conv2d:
    torch.manual_seed(0)
    return nn.Conv2d(1, 20, 5, padding=2)


def snapshot(module: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


@pytest.mark.parametrize("k", [1, 2, 3, 4, 5])
def test_conv1_override_replaces_one_filter_and_leaves_the_original(k: int) -> None:
    conv1 = make_conv1()
    before = snapshot(conv1)
    kernel = np.arange(1, k * k + 1, dtype=np.float32).reshape(k, k) / 10
    new = override.conv1_override(conv1, {"channel": 7, "kernel": kernel.tolist()})
    assert new is not conv1 and new.weight is not conv1.weight
    for name, value in snapshot(conv1).items():
        assert torch.equal(value, before[name]), name
    start = (5 - k + 1) // 2
    expected = before["weight"].clone()
    expected[7] = 0
    expected[7, 0, start : start + k, start : start + k] = torch.from_numpy(kernel)
    assert torch.equal(new.weight, expected) and torch.equal(new.bias, before["bias"])
    x = torch.rand(2, 1, 28, 28)
    with torch.inference_mode():
        assert torch.equal(new(x), F.conv2d(x, expected, before["bias"], padding=2))
        # the padded filter does what the k x k kernel alone does with "same" padding
        alone = convolution.convolve(x[0], [kernel], padding="same").outputs[0][0]
        assert torch.allclose(new(x)[0, 7] - before["bias"][7], alone, atol=1e-5)


def test_conv1_override_bias_and_inference_mode() -> None:
    conv1 = make_conv1()
    before = snapshot(conv1)
    with torch.inference_mode():
        new = override.conv1_override(conv1, {"channel": 0, "kernel": [[1.0]], "bias": -0.5})
        y = new(torch.ones(1, 1, 28, 28))
    assert new.bias[0] == -0.5 and torch.equal(new.bias[1:], before["bias"][1:])
    assert torch.allclose(y[0, 0, 2:-2, 2:-2], torch.full((24, 24), 0.5))
    assert all(torch.equal(v, before[n]) for n, v in snapshot(conv1).items())


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"channel": 20, "kernel": [[1.0]]}, "conv1_override.channel"),
        ({"channel": -1, "kernel": [[1.0]]}, "conv1_override.channel"),
        ({"channel": True, "kernel": [[1.0]]}, "conv1_override.channel"),
        ({"channel": "0", "kernel": [[1.0]]}, "conv1_override.channel"),
        ({"channel": 0, "kernel": [[1.0] * 6] * 6}, "conv1_override.kernel"),
        ({"channel": 0, "kernel": [[float("nan")]]}, "conv1_override.kernel"),
        ({"channel": 0, "kernel": [[1.0, 2.0], [3.0]]}, "conv1_override.kernel"),
        ({"channel": 0, "kernel": []}, "conv1_override.kernel"),
        ({"channel": 0}, "conv1_override.kernel"),
        ({"kernel": [[1.0]]}, "conv1_override.channel"),
        ({"channel": 0, "kernel": [[1.0]], "bias": float("inf")}, "conv1_override.bias"),
        ({"channel": 0, "kernel": [[1.0]], "bias": "1"}, "conv1_override.bias"),
        ({"channel": 0, "kernel": [[1.0]], "scale": 2}, "conv1_override"),
        ([1, 2], "conv1_override"),
    ],
)
def test_conv1_override_rejects_bad_specs(spec, field: str) -> None:
    conv1 = make_conv1()
    before = snapshot(conv1)
    with pytest.raises(ValueError, match=f"^{re.escape(field)}"):
        override.conv1_override(conv1, spec)
    assert all(torch.equal(v, before[n]) for n, v in snapshot(conv1).items())
