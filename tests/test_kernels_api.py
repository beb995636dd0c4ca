"""The kernel lab's API: POST /api/convolve, POST /api/pool, GET /api/kernels/presets."""

from __future__ import annotations

import base64
import io
import json

import numpy as np
import pytest
import scipy.signal
import torch
import torch.nn.functional as F
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from app.labs.kernels import limits
from app.schemas.kernels import ConvolveResponse, KernelOutput, PoolResponse, PresetsResponse
from app.serving import encoding
from tests.helpers import encode, png_bytes, state_checksum

SOBEL_X = [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]
SOBEL_Y = [[-1, -2, -1], [0, 0, 0], [1, 2, 1]]
ASYMMETRIC = [[1, 2, 0], [0, -1, 3], [-2, 0, 0.5]]
SAMPLE = 7  # an MNIST test-set index


def post(client, route: str, spec, *, sample=None, file=None, params=None):
    data = {} if spec is None else {"spec": spec if isinstance(spec, str) else json.dumps(spec)}
    if sample is not None:
        data["sample"] = str(sample)
    files = {"file": file} if file is not None else None
    return client.post(route, data=data, files=files, params=params or {})


def convolve(client, spec, **kwargs) -> ConvolveResponse:
    r = post(client, "/api/convolve", spec, **kwargs)
    assert r.status_code == 200, r.text
    return ConvolveResponse.model_validate(r.json())


def values(out: KernelOutput) -> np.ndarray:
    return encoding.decode(out.data, out.shape, out.dtype)


def rgb_image() -> np.ndarray:
    rng = np.random.default_rng(5)
    yy, xx = np.mgrid[0:37, 0:45]
    base = np.stack([xx * 5, yy * 6, (xx + yy) * 3], axis=-1) + rng.integers(0, 30, (37, 45, 3))
    return np.clip(base, 0, 255).astype(np.uint8)


def test_presets(client) -> None:
    r = client.get("/api/kernels/presets")
    assert r.status_code == 200
    body = PresetsResponse.model_validate(r.json())
    by_name = {p.name: p for p in body.presets}
    assert by_name["sobel x"].kernel == SOBEL_X and by_name["sobel y"].kernel == SOBEL_Y
    assert by_name["1x1"].kernel == [[1.0]] and len(by_name["gaussian 5x5"].kernel) == 5
    assert {"identity", "emboss", "outline", "vertical edge", "horizontal edge", "scharr y"} <= set(by_name)
    assert all(p.description for p in body.presets)


def test_convolve_a_sample(client, served) -> None:
    before = state_checksum(served.model)
    body = convolve(client, {"kernels": [ASYMMETRIC]}, sample=SAMPLE)
    pixels = served.dataset().pixels(SAMPLE)  # (28, 28)
    want = scipy.signal.correlate2d(pixels.astype(np.float64), np.asarray(ASYMMETRIC), mode="valid")
    assert body.input_shape == [1, 28, 28] and body.output_shape == [1, 26, 26]
    (out,) = body.outputs
    got = values(out)
    assert out.shape == [1, 26, 26] and out.dtype == "float32"
    assert np.abs(got[0] - want).max() <= 1e-5
    assert out.min == pytest.approx(float(got.min())) and out.max == pytest.approx(float(got.max()))
    assert body.combined is None and body.padded_input is None
    assert body.applied_kernels == [ASYMMETRIC]
    assert body.arithmetic.height.output == 26 and body.arithmetic.height.expression.endswith("= 26")
    assert state_checksum(served.model) == before


def test_png_is_the_output_on_the_stated_scale(client) -> None:
    body = convolve(client, {"kernels": [SOBEL_X], "padding": "same"}, sample=SAMPLE)
    (out,) = body.outputs
    got = values(out)[0]
    assert out.png_scale.mode == "symmetric" and out.png_scale.high == -out.png_scale.low == np.abs(got).max()
    img = Image.open(io.BytesIO(base64.b64decode(out.png)))
    assert img.mode == "L" and img.size == (28, 28)
    scale = 255 / (out.png_scale.high - out.png_scale.low)
    want = np.clip(np.floor((got - out.png_scale.low) * scale + 0.5), 0, 255)
    assert np.abs(np.asarray(img, dtype=np.float64) - want).max() <= 1
    blur = convolve(client, {"kernels": [[[1 / 9] * 3] * 3]}, sample=SAMPLE).outputs[0]
    assert blur.png_scale.mode == "minmax" and blur.png_scale.low == blur.min and blur.png_scale.high == blur.max


def test_convolve_an_uploaded_gray_png(client) -> None:
    rng = np.random.default_rng(6)
    image = rng.integers(0, 256, (31, 40), dtype=np.uint8)
    spec = {"kernels": [[[0, 1, 0, 0], [1, -4, 1, 0], [0, 1, 0, 0], [0, 0, 0, 1]]], "padding": "same"}
    body = convolve(client, spec, file=("g.png", png_bytes(image), "image/png"))
    want = scipy.signal.correlate2d(image / 255.0, np.asarray(spec["kernels"][0], float), mode="same")
    assert body.output_shape == [1, 31, 40]
    assert np.abs(values(body.outputs[0])[0] - want).max() <= 1e-5
    h = body.arithmetic.height
    assert (h.pad_before, h.pad_after) == (1, 2) and "bottom/right" in h.padding_rule


def test_convolve_rgb_per_channel_and_gray_is_pillows_l(client) -> None:
    image = rgb_image()
    upload = ("c.png", png_bytes(image), "image/png")
    spec = {"kernels": [ASYMMETRIC], "color": "rgb", "padding": 2, "padding_mode": "reflect", "stride": 2}
    body = convolve(client, spec, file=upload)
    assert body.input_shape == [3, 37, 45] and body.output_shape == [3, 20, 24]
    got = values(body.outputs[0])
    for c in range(3):
        padded = np.pad(image[..., c] / 255.0, 2, mode="reflect")
        want = scipy.signal.correlate2d(padded, np.asarray(ASYMMETRIC), mode="valid")[::2, ::2]
        assert np.abs(got[c] - want).max() <= 1e-5
    assert Image.open(io.BytesIO(base64.b64decode(body.outputs[0].png))).mode == "RGB"
    gray = convolve(client, {"kernels": [[[1]]]}, file=upload)
    luminance = np.asarray(Image.fromarray(image).convert("L"), dtype=np.float32) / 255.0
    assert np.array_equal(values(gray.outputs[0])[0], luminance)


def test_convolve_a_jpeg_and_a_sample_in_rgb(client) -> None:
    jpeg = encode(Image.fromarray(rgb_image()), "JPEG", quality=90)
    body = convolve(client, {"kernels": [SOBEL_X], "color": "rgb"}, file=("p.jpg", jpeg, "image/jpeg"))
    assert body.output_shape == [3, 35, 43]
    sample = convolve(client, {"kernels": [SOBEL_X], "color": "rgb"}, sample=SAMPLE)
    got = values(sample.outputs[0])
    assert sample.input_shape == [3, 28, 28] and np.array_equal(got[0], got[1]) and np.array_equal(got[1], got[2])


def test_mode_toggle_flips_the_kernel(client, served) -> None:
    spec = {"kernels": [ASYMMETRIC], "padding": "same", "padding_mode": "circular"}
    xcorr = convolve(client, spec, sample=SAMPLE)
    conv = convolve(client, {**spec, "mode": "convolution"}, sample=SAMPLE)
    flipped = np.asarray(ASYMMETRIC)[::-1, ::-1].tolist()
    assert conv.applied_kernels == [flipped] and xcorr.applied_kernels == [ASYMMETRIC]
    by_flip = convolve(client, {**spec, "kernels": [flipped]}, sample=SAMPLE)
    assert np.array_equal(values(conv.outputs[0]), values(by_flip.outputs[0]))
    assert not np.array_equal(values(conv.outputs[0]), values(xcorr.outputs[0]))
    pixels = served.dataset().pixels(SAMPLE).astype(np.float64)
    want = scipy.signal.convolve2d(pixels, np.asarray(ASYMMETRIC), mode="same", boundary="wrap")
    assert np.abs(values(conv.outputs[0])[0] - want).max() <= 1e-5


@pytest.mark.parametrize("combine", ["magnitude", "sum"])
def test_combine_sobel_x_and_y(client, combine: str) -> None:
    body = convolve(client, {"kernels": [SOBEL_X, SOBEL_Y], "padding": "same", "combine": combine}, sample=SAMPLE)
    gx, gy = (values(o) for o in body.outputs)
    want = np.sqrt(gx.astype(np.float64) ** 2 + gy**2) if combine == "magnitude" else gx + gy.astype(np.float64)
    assert body.combined is not None and body.combined.shape == [1, 28, 28]
    assert np.abs(values(body.combined) - want).max() <= 1e-5
    if combine == "magnitude":
        assert body.combined.min >= 0 and body.combined.png_scale.mode == "minmax"


def test_include_dtype_and_padded_input(client, served) -> None:
    spec = {"kernels": [SOBEL_X], "padding": 3, "padding_mode": "replicate", "stride": 3}
    full = convolve(client, spec, sample=SAMPLE)
    png_only = convolve(client, spec, sample=SAMPLE, params={"include": "png"})
    assert png_only.outputs[0].data is None and png_only.outputs[0].png == full.outputs[0].png
    data_only = convolve(client, spec, sample=SAMPLE, params={"include": "data", "dtype": "float16"})
    assert data_only.outputs[0].png is None and data_only.outputs[0].dtype == "float16"
    assert np.abs(values(data_only.outputs[0]) - values(full.outputs[0])).max() <= 5e-3
    compressed = convolve(client, spec, sample=SAMPLE, params={"png_compression": 9})
    same_image = [np.asarray(Image.open(io.BytesIO(base64.b64decode(b.outputs[0].png)))) for b in (full, compressed)]
    assert np.array_equal(*same_image)

    stepped = convolve(client, spec, sample=SAMPLE, params={"include": "data,padded"})
    padded_input = stepped.padded_input
    assert padded_input is not None and padded_input.pad == [3, 3, 3, 3] and padded_input.shape == [1, 34, 34]
    padded = encoding.decode(padded_input.data, padded_input.shape, padded_input.dtype)
    pixels = served.dataset().pixels(SAMPLE)
    assert np.array_equal(padded[0], np.pad(pixels, 3, mode="edge"))
    # step through: output (y, x) is the window at (y*S, x*S) of the padded input times the applied kernel
    out = values(stepped.outputs[0])
    y, x, k, s = 4, 6, np.asarray(stepped.applied_kernels[0]), 3
    assert out[0, y, x] == pytest.approx(float((padded[0, y * s : y * s + 3, x * s : x * s + 3] * k).sum()), abs=1e-6)


def test_server_timing_header(client) -> None:
    r = post(client, "/api/convolve", {"kernels": [SOBEL_X]}, sample=SAMPLE)
    steps = dict(part.strip().split(";dur=") for part in r.headers["server-timing"].split(","))
    assert set(steps) == {"input", "compute", "encode", "total"}
    assert float(steps["total"]) >= max(float(steps[k]) for k in ("input", "compute", "encode"))


def test_arithmetic_when_the_stride_does_not_divide(client) -> None:
    body = convolve(client, {"kernels": [[[1] * 4] * 4], "stride": 3}, sample=SAMPLE)
    h = body.arithmetic.height
    assert body.output_shape == [1, 9, 9] and h.output == 9
    assert h.expression == "(28 - 4 + 2*0) / 3 + 1 = 8 + 1 = 9"
    assert (h.quotient, h.whole, h.remainder) == (8.0, True, 0)
    odd = convolve(client, {"kernels": [[[1] * 5] * 5], "stride": 2}, sample=SAMPLE).arithmetic.width
    assert odd.expression == "floor((28 - 5 + 2*0) / 2) + 1 = floor(11.5) + 1 = 12"
    assert odd.uncovered == [[27, 27]] and odd.remainder == 1 and not odd.whole


def test_pool(client, served) -> None:
    pixels = torch.from_numpy(served.dataset().pixels(SAMPLE))[None, None]  # (1, 1, 28, 28)
    for op, ref in (("max", F.max_pool2d), ("avg", F.avg_pool2d)):
        r = post(client, "/api/pool", {"op": op, "size": 3, "stride": 2, "padding": 1}, sample=SAMPLE)
        assert r.status_code == 200, r.text
        body = PoolResponse.model_validate(r.json())
        want = ref(pixels, 3, 2, 1)[0].numpy()
        assert body.output_shape == list(want.shape) == [1, 14, 14] and body.combined is None
        assert np.abs(values(body.outputs[0]) - want).max() <= 1e-6
    default = PoolResponse.model_validate(post(client, "/api/pool", None, sample=SAMPLE).json())
    assert default.output_shape == [1, 14, 14]
    assert np.array_equal(values(default.outputs[0])[0], F.max_pool2d(pixels, 2)[0, 0].numpy())
    rgb = post(client, "/api/pool", {"op": "avg", "color": "rgb"}, file=("c.png", png_bytes(rgb_image()), "image/png"))
    assert rgb.status_code == 200 and rgb.json()["output_shape"] == [3, 18, 22]


# (spec, the words the detail starts with: the field in words, what it must say)
BAD_SPECS = [
    ({"kernels": [[[1] * 16] * 16]}, "Kernel A:", "16x16"),
    ({"kernels": []}, "The kernels", "at least 1 kernel"),
    ({"kernels": [[]]}, "Kernel A:", "empty"),
    ({"kernels": [[[1, 2], [3]]]}, "Kernel A:", "ragged"),
    ({"kernels": [[[1, 2, 3], [4, 5, 6]]]}, "Kernel A:", "square"),
    ('{"kernels": [[[NaN]]]}', "Kernel A, row 1, column 1", "must be a finite number, not NaN"),
    ('{"kernels": [[[1, Infinity], [0, 0]]]}', "Kernel A, row 1, column 2", "finite"),
    ('{"kernels": [[[-Infinity]]]}', "Kernel A, row 1, column 1", "finite"),
    ({"kernels": [[[1e300]]]}, "Kernel A, row 1, column 1", "must be at most 1,000,000"),
    ({"kernels": [[["1"]]]}, "Kernel A, row 1, column 1", "must be a number, not \u201c1\u201d"),
    ({"kernels": [[[1]]] * 9}, "The kernels", "at most 8"),
    ({"kernels": [[[1]], [[1, 0], [0, 1]]]}, "The kernels", "same size"),
    ({"kernels": [[[1]]], "stride": 0}, "Stride", "must be a whole number of at least 1, not 0"),
    ({"kernels": [[[1]]], "stride": -2}, "Stride", "not -2"),
    ({"kernels": [[[1]]], "stride": 1.5}, "Stride", "whole number"),
    ({"kernels": [[[1]]], "mode": "convolve"}, "The mode", "cross-correlation"),
    ({"kernels": [[[1]]], "padding": -1}, "Padding", "valid"),
    ({"kernels": [[[1]]], "padding": "full"}, "Padding", "same"),
    ({"kernels": [[[1]]], "padding": 65}, "Padding", "from 0 to 64"),
    ({"kernels": [[[1]]], "padding_mode": "mirror"}, "The padding mode", "reflect"),
    ({"kernels": [[[1]]], "combine": "max"}, "Combine", "magnitude"),
    ({"kernels": [[[1]]], "color": "cmyk"}, "The colour", "gray"),
    ({"kernels": [[[1]]], "strde": 2}, "\u201cstrde\u201d", "not a setting"),
    ({"kernel": [[[1]]]}, "The kernels", "missing"),
    ("[1, 2]", "The spec", "object"),
    ('{"kernels": [[[1]]', "The spec", "not valid JSON"),
    ("", "The spec", "not valid JSON"),
    ({"kernels": [[[1] * 15] * 15]}, "The kernels", "smaller than 1x1"),  # the 10x12 image is too small
]


@pytest.mark.parametrize(("spec", "field", "words"), BAD_SPECS)
def test_bad_specs_are_422_naming_the_field(client, served, spec, field: str, words: str) -> None:
    before = state_checksum(served.model)
    tiny = ("t.png", png_bytes(np.zeros((10, 12), dtype=np.uint8)), "image/png")
    r = post(client, "/api/convolve", spec, file=tiny)
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert detail.startswith(field), detail
    assert words in detail, detail
    assert state_checksum(served.model) == before


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"kernels": [[[1] * 3] * 3], "padding": 12, "padding_mode": "reflect"}, "The padding mode"),
        ({"kernels": [[[1] * 3] * 3], "padding": 13, "padding_mode": "circular"}, "The padding mode"),
        ({"kernels": [[[1] * 13] * 13]}, "The kernels"),
    ],
)
def test_image_dependent_spec_errors(client, spec, field: str) -> None:
    tiny = ("t.png", png_bytes(np.zeros((10, 12), dtype=np.uint8)), "image/png")
    r = post(client, "/api/convolve", spec, file=tiny)
    assert r.status_code == 422 and r.json()["detail"].startswith(f"{field}:"), r.text  # the field, in words


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"op": "min"}, "The pooling operation"),
        ({"size": 0}, "The window size"),
        ({"size": 33}, "The window size"),
        ({"size": 3, "padding": 2}, "Padding"),
        ({"stride": 0}, "Stride"),
        ({"size": 29}, "The window size"),
        ({"sise": 2}, "\u201csise\u201d"),
    ],
)
def test_bad_pool_specs(client, spec, field: str) -> None:
    r = post(client, "/api/pool", spec, sample=SAMPLE)
    assert r.status_code == 422 and r.json()["detail"].startswith(field), r.text


def test_bad_requests(client) -> None:
    spec = json.dumps({"kernels": [[[1]]]})
    cases = [
        (client.post("/api/convolve", data={"sample": "1"}), 422, "The spec is missing"),
        (client.post("/api/convolve", data={"spec": spec}), 422, "No image"),
        (client.post("/api/convolve", data={"spec": spec, "sample": "10000"}), 404, "no sample 10000"),
        (client.post("/api/convolve", data={"spec": spec, "sample": "x"}), 422, "The test digit id"),
        (
            client.post(
                "/api/convolve", data={"spec": spec, "sample": "1"}, files={"file": ("a.png", b"x", "image/png")}
            ),
            422,
            "either",
        ),
        (
            client.post("/api/convolve", data={"spec": spec}, files={"file": ("a.png", b"", "image/png")}),
            400,
            "image file",
        ),
        (
            client.post("/api/convolve", data={"spec": spec}, files={"file": ("a.png", b"not an image", "image/png")}),
            415,
            "image file",
        ),
        (client.post("/api/convolve", json={"spec": spec}), 415, "multipart"),
        (
            client.post("/api/convolve", data={"spec": spec, "sample": "1"}, params={"include": "pngs"}),
            422,
            "to include",
        ),
        (client.post("/api/convolve", data={"spec": spec, "sample": "1"}, params={"png_compression": 10}), 422, ""),
        (client.post("/api/convolve", data={"spec": spec, "sample": "1"}, params={"dtype": "int8"}), 422, "dtype"),
        (client.post("/api/pool", data={"spec": "{", "sample": "1"}), 422, "The spec"),
    ]
    for r, status, words in cases:
        assert r.status_code == status, r.text
        assert words in r.json()["detail"]


def test_too_much_output_is_refused_before_any_work(client, served) -> None:
    big = png_bytes(np.zeros((4096, 4096, 3), dtype=np.uint8))  # compresses to ~50 KB
    spec = {"kernels": [[[1] * 15] * 15] * 8, "color": "rgb", "padding": "same"}
    before = state_checksum(served.model)
    r = post(client, "/api/convolve", spec, file=("big.png", big, "image/png"))
    assert r.status_code == 413 and "limit" in r.json()["detail"]
    r = post(client, "/api/pool", {"size": 1, "color": "rgb"}, file=("big.png", big, "image/png"))
    assert r.status_code == 413
    r = post(client, "/api/convolve", {"kernels": [[[1]]], "stride": 4}, file=("big.png", big, "image/png"))
    assert r.status_code == 200 and r.json()["output_shape"] == [1, 1024, 1024]
    assert state_checksum(served.model) == before


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 20) | st.floats(allow_nan=True) | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=30,
)


def square(k: int) -> st.SearchStrategy:
    number = st.integers(-3, 3) | st.floats(-2, 2)
    return st.lists(st.lists(number, min_size=k, max_size=k), min_size=k, max_size=k)


def valid_or_junk(valid: st.SearchStrategy) -> st.SearchStrategy:
    return valid | valid | json_values


conv_specs = st.fixed_dictionaries(
    {"kernels": valid_or_junk(st.integers(1, 9).flatmap(lambda k: st.lists(square(k), min_size=1, max_size=3)))},
    optional={
        "mode": valid_or_junk(st.sampled_from(limits.MODES)),
        "padding": valid_or_junk(st.sampled_from(["valid", "same"]) | st.integers(0, 8)),
        "padding_mode": valid_or_junk(st.sampled_from(list(limits.PADDING_MODES))),
        "stride": valid_or_junk(st.integers(1, 6)),
        "color": valid_or_junk(st.sampled_from(["gray", "rgb"])),
        "combine": valid_or_junk(st.sampled_from(limits.COMBINES)),
    },
)
pool_specs = st.fixed_dictionaries(
    {},
    optional={
        "op": valid_or_junk(st.sampled_from(["max", "avg"])),
        "size": valid_or_junk(st.integers(1, 8)),
        "stride": valid_or_junk(st.integers(1, 6)),
        "padding": valid_or_junk(st.integers(0, 4)),
        "color": valid_or_junk(st.sampled_from(["gray", "rgb"])),
    },
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(conv=conv_specs | json_values, pool=pool_specs | json_values)
def test_never_a_500(client, served, conv, pool) -> None:
    """Random specs, mostly valid, some junk: every answer is a 200 or a clear 4xx."""
    before = state_checksum(served.model)
    for route, spec in (("/api/convolve", conv), ("/api/pool", pool)):
        r = post(client, route, json.dumps(spec, allow_nan=True), sample=SAMPLE, params={"include": "png"})
        assert r.status_code in (200, 422), r.text
        if r.status_code == 200:
            body = (ConvolveResponse if route == "/api/convolve" else PoolResponse).model_validate(r.json())
            assert body.output_shape[1] >= 1 and body.output_shape[2] >= 1
        else:
            fields = ("The spec", "Kernel", "The kernels", "Padding", "The padding mode", "The window size", "Stride")
            others = ("The mode", "The colour", "Combine", "The pooling operation", "\u201c")  # "“x” is not a setting"
            assert r.json()["detail"].startswith(fields + others), r.json()["detail"]
    assert state_checksum(served.model) == before


def test_openapi_documents_the_lab(client) -> None:
    spec = client.get("/openapi.json").json()
    paths = spec["paths"]
    for route in ("/api/convolve", "/api/pool"):
        op = paths[route]["post"]
        form = op["requestBody"]["content"]["multipart/form-data"]["schema"]["properties"]
        assert {"file", "sample", "spec"} <= set(form)
        assert form["spec"]["contentSchema"]["properties"]
        network = {"model", "preprocess"} if route == "/api/pool" else set()  # a network layer can be pooled
        assert {p["name"] for p in op["parameters"]} == {"include", "dtype", "png_compression", *network}
        assert {"200", "413", "422"} <= set(op["responses"])
        assert "same" in op["description"] and "png_scale" in op["description"]
    assert (
        "kernels"
        in paths["/api/convolve"]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]["properties"][
            "spec"
        ]["contentSchema"]["properties"]
    )
    assert "/api/kernels/presets" in paths and "/api/kernels/limits" in paths
    assert {"ConvolveResponse", "PoolResponse", "PresetsResponse", "AxisArithmetic", "PngScale"} <= set(
        spec["components"]["schemas"]
    )
