"""The kernel lab's API: POST /api/convolve, POST /api/pool, GET /api/kernels/presets and GET
/api/kernels/limits."""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable
from typing import Annotated, TypeVar

import torch
from fastapi import APIRouter, HTTPException, Query, Request, Response
from pydantic import BaseModel, ValidationError

from app import preprocess
from app.labs import feature_maps
from app.labs.kernels import convolution, display, images, limits, pooling
from app.labs.kernels.geometry import Geometry, conv_geometry, pool_geometry, same_padding
from app.labs.kernels.presets import PRESETS
from app.routes import costs as route_costs
from app.routes.deps import DType, Preprocess, Served, State, UploadBody, state
from app.routes.inputs import image_body_openapi, image_choice, image_from_form, parse_form, sample_pixels
from app.schemas.kernels import (
    ConvolveResponse,
    ConvolveSpec,
    KernelPreset,
    LabLimits,
    PoolResponse,
    PoolSpec,
    PresetsResponse,
)
from app.serving import costs
from app.serving.admission import admitted, checkpoint
from app.serving.costs import Cost
from app.serving.encoding import Blobs
from app.serving.errors import client_errors, error_responses, invalid, nested
from app.serving.forms import Form
from app.serving.inference import ServedModel

router = APIRouter(tags=["kernel lab"])

SpecModel = TypeVar("SpecModel", ConvolveSpec, PoolSpec)

PARTS = ("data", "png", "padded")

IncludeQuery = Annotated[
    str,
    Query(
        description="comma-separated parts to return: `data` (base64 float arrays), `png` (display images),"
        " `padded` (the padded input, for stepping through a window). Leaving out what a client does not"
        " need makes large answers much faster.",
        examples=["data,png", "png", "data,png,padded"],
    ),
]
PngQuery = Annotated[
    int,
    Query(
        ge=0,
        le=9,
        description="zlib level of the PNGs: 0 stores them uncompressed (fastest: a few ms per megapixel),"
        " 1..9 compress with PNG's Sub filter (smaller, tens of ms per megapixel)",
    ),
]

IMAGE = f"""
The image is any PNG, JPEG, GIF, WebP or BMP within the server's upload limits (by default 5 MB and
4096x4096 pixels), or a `sample` digit (28x28, a gallery id). An answer carries at most
{limits.MAX_OUTPUT_VALUES:,} values (the outputs, the combined one included, x channels x height x width,
i.e. 64 MiB of float32); a bigger request is refused with 413 before any work is done. A bad `spec` is a 422
whose `detail` says what is wrong in a sentence that names the field in words ("Stride must be a whole number
of at least 1, not 0.", "Kernel A, row 2, column 3 must be a number ...") and whose `errors` give each field's
location (`["body", "spec", "stride"]`). The `Server-Timing` header gives the server's milliseconds for input,
compute, encode and total."""

CONV_LIMITS = f"""
Limits: kernels 1x1 to {limits.MAX_KERNEL}x{limits.MAX_KERNEL}, 1 to {limits.MAX_KERNELS} of them, all the same
size, values within +-{limits.MAX_VALUE:g}; stride 1..{limits.MAX_STRIDE}; explicit padding
0..{limits.MAX_PADDING}; reflect padding smaller than the image, circular padding at most its size."""

POOL_LIMITS = f"""
Limits: window 1..{limits.MAX_POOL}, stride 1..{limits.MAX_STRIDE}, padding 0..size // 2 (PyTorch's rule).
GET /api/kernels/limits lists every limit."""

DISPLAY = """
Each output's `png` is for display: one channel -> a grey PNG, three -> RGB, all channels on one scale given
by `png_scale`: outputs with negative values map symmetrically (-max|v| -> 0, 0 -> 127.5, +max|v| -> 255),
the others min -> 0 and max -> 255. `data` holds the exact float values."""


CONVOLVE_DOC = (
    """Multipart: the image as `file` or `sample`, and `spec`, a JSON string (ConvolveSpec), e.g.
`{"kernels": [[[-1,0,1],[-2,0,2],[-1,0,1]]], "padding": "same"}`.

Pixels are scaled to [0, 1]; each channel is filtered on its own. Cross-correlation computes
`out[c, y, x] = sum_ij padded[c, y*S + i, x*S + j] * k[i, j]`; convolution does the same with the kernel
flipped in both axes (`applied_kernels` shows the weights used). The output size per axis is
floor((W - K + P_before + P_after) / S) + 1; `arithmetic` spells it out with the numbers, says when the
division is not whole (the floor drops the last rows/columns) and lists the input rows/columns no window
ever covers. With `"rounding": "ceil"` the quotient is rounded up instead: the last window overhangs the
padded input, and the part past it covers zeros (PyTorch's ceil_mode rule decides which windows exist).

"""
    + inspect.cleandoc(same_padding.__doc__ or "").partition("\n\n")[2]
    + "\n"
    + CONV_LIMITS
    + IMAGE
    + DISPLAY
)
POOL_DOC = (
    """Multipart: the image as `file` or `sample`, and `spec`, a JSON string (PoolSpec; optional, default
`{"op": "max", "size": 2}`, stride defaults to the size). Each channel is pooled on its own; the answer
has the same shape as POST /api/convolve's, with one output and `combined` null. Average pooling counts
padding as zeros; max pooling never picks it. `"rounding": "ceil"` is PyTorch's ceil_mode: the part of
the last window past the padded input is left out of the max and of the mean's count.

`spec.source` says what is pooled: the image (default), a feature map made by sliding one kernel over it
first (`{"kind": "kernel", "kernel": [[-1,0,1],[-2,0,2],[-1,0,1]], "relu": true}`), or one channel of a
spatial layer of the served network (`{"kind": "layer", "layer": "relu1", "channel": 3}`, `?model=`; the
image goes into the network as in POST /api/activations, `?preprocess=`): relu1 pooled 2x2 is pool1.
"""
    + POOL_LIMITS
    + IMAGE
    + DISPLAY
)


def _include(text: str) -> set[str]:
    parts = {p.strip() for p in text.split(",") if p.strip()}
    unknown = sorted(parts - set(PARTS))
    if unknown:
        raise HTTPException(422, f"include: unknown part(s) {', '.join(unknown)}; parts are {', '.join(PARTS)}")
    return parts


def _spec(form: Form, model: type[SpecModel], default: str | None) -> SpecModel:
    """The ``spec`` form field, parsed and validated; 422 naming the field at fault."""
    with client_errors("spec"):
        text = form.text("spec")
    if text is None:
        if default is None:
            raise invalid(("body", "spec"), "missing", msg='send a JSON form field `spec`, e.g. {"kernels": [[[1]]]}')
        text = default
    try:
        return model.model_validate_json(text)
    except ValidationError as exc:
        raise nested(exc, "body", "spec") from exc


def _image(st: State, form: Form, color: str) -> torch.Tensor:
    """(C, H, W) float32 in [0, 1] from the form's ``file`` (any image) or ``sample`` (a test digit)."""
    part, index = image_choice(form)
    if part is None:
        assert index is not None
        return images.gray_to(sample_pixels(st.registry.get(), index), color)  # the default model's test set
    with client_errors("file"):
        img = preprocess.decode(part.data, st.limits)
    return images.image_tensor(img, color)


class Timer:
    """Milliseconds per step of a request, sent as a ``Server-Timing`` header (browsers show it in the
    network panel; the benchmark reads it): ``input`` (form, spec, image decoding), ``compute``,
    ``encode`` (base64, PNG, JSON) and ``total``."""

    def __init__(self) -> None:
        self.start = self.last = time.perf_counter()
        self.steps: list[str] = []

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.steps.append(f"{name};dur={(now - self.last) * 1000:.2f}")
        self.last = now

    def response(self, body: bytes) -> Response:
        self.lap("encode")
        total = f"total;dur={(self.last - self.start) * 1000:.2f}"
        return Response(body, media_type="application/json", headers={"Server-Timing": ", ".join([*self.steps, total])})


def encode_output(values: torch.Tensor, parts: set[str], dtype: str, level: int, blobs: Blobs) -> dict:
    """One (C, H', W') output as the API returns it."""
    lo, hi = (float(v) for v in torch.aminmax(values))
    mode, low, high = display.display_scale(lo, hi)
    return {
        "shape": list(values.shape),
        "dtype": dtype,
        "data": blobs.array(values, dtype) if "data" in parts else None,
        "min": lo,
        "max": hi,
        "png": blobs.add(display.png(display.to_pixels(values, low, high), level)) if "png" in parts else None,
        "png_scale": {"mode": mode, "low": low, "high": high},
    }


def lab_payload(
    image: torch.Tensor,
    geometry: Geometry,
    padded: Callable[[], torch.Tensor],
    outputs: list[torch.Tensor],
    combined: torch.Tensor | None,
    parts: set[str],
    dtype: str,
    level: int,
    blobs: Blobs,
) -> dict:
    top, bottom = geometry.height.before, geometry.height.after
    left, right = geometry.width.before, geometry.width.after
    return {
        "input_shape": list(image.shape),
        "output_shape": geometry.shape(image.shape[0]),
        "arithmetic": geometry.describe(),
        "outputs": [encode_output(o, parts, dtype, level, blobs) for o in outputs],
        "combined": encode_output(combined, parts, dtype, level, blobs) if combined is not None else None,
        "padded_input": _padded_input(
            padded(), dtype, [top, bottom, left, right], [geometry.height.overhang, geometry.width.overhang], blobs
        )
        if "padded" in parts
        else None,
    }


def _padded_input(padded: torch.Tensor, dtype: str, pad: list[int], overhang: list[int], blobs: Blobs) -> dict:
    return {
        "shape": list(padded.shape),
        "dtype": dtype,
        "data": blobs.array(padded, dtype),
        "pad": pad,
        "overhang": overhang,
    }


def _spec_field(model: type[BaseModel], text: str) -> dict:
    schema = model.model_json_schema()
    return {
        "spec": {
            "type": "string",
            "contentMediaType": "application/json",
            "contentSchema": schema,
            "description": f"JSON text of a {model.__name__}: {text}",
            "example": schema["examples"][0],
        }
    }


def _lab_input(
    request: Request, body: bytes, include: str, model: type[SpecModel], default: str | None
) -> tuple[set[str], SpecModel, torch.Tensor]:
    """What POST /api/convolve starts with: the ``include`` parts, the form's ``spec`` and its image."""
    parts = _include(include)
    form = parse_form(request, body)
    spec = _spec(form, model, default)
    return parts, spec, _image(state(request), form, spec.color)


def convolve_cost(request: Request, body: bytes, include: str, dtype: str, png_compression: int) -> Cost:
    """The image (decoded at full size, as floats), the convolution of every kernel (and the combined
    output), then the answer."""
    parts = _include(include)
    form = parse_form(request, body)
    spec = _spec(form, ConvolveSpec, None)
    image, (c, h, w) = route_costs.lab_image(request, form, spec.color)
    k = len(spec.kernels[0]) if spec.kernels else 1
    with client_errors():
        geometry = conv_geometry(h, w, k, spec.stride, spec.padding, spec.padding_mode, spec.rounding)
    n, combined = len(spec.kernels), spec.combine != "none"
    compute = route_costs.convolution(c, geometry, k, n, combined)
    return image.then(compute).then(route_costs.lab_answer(geometry, c, n + combined, parts, dtype, png_compression))


def pool_cost(
    request: Request, body: bytes, served: ServedModel, include: str, dtype: str, png_compression: int, preprocess: str
) -> Cost:
    """What is pooled (``route_costs.pooled_source``), the pooled output and its copy, then the answer. CPU:
    one operation per window tap per output value."""
    parts = _include(include)
    form = parse_form(request, body)
    spec = _spec(form, PoolSpec, "{}")
    source, shape = route_costs.pooled_source(request, body, served, form, spec, preprocess)
    if shape is None:
        return source
    c, h, w = shape
    stride = spec.size if spec.stride is None else spec.stride
    with client_errors():
        geometry = pool_geometry(h, w, spec.size, stride, spec.padding, spec.rounding)
    out = c * geometry.height.output * geometry.width.output
    compute = Cost.of("pooling", out * 8, out * spec.size**2 * costs.POOL_NS * costs.NS, held=out * 4)
    return source.then(compute).then(route_costs.lab_answer(geometry, c, 1, parts, dtype, png_compression))


@router.post(
    "/api/convolve",
    response_model=ConvolveResponse,
    responses=error_responses(400, 404, 408, 413, 415, 422, 503),
    openapi_extra=image_body_openapi(
        fields=_spec_field(
            ConvolveSpec, "the kernels, mode, padding, padding_mode, stride, color, rounding and combine"
        )
    ),
    summary="Slide hand-made kernels over an image",
    description=CONVOLVE_DOC,
)
@admitted(convolve_cost)
def convolve(
    request: Request,
    body: UploadBody,
    include: IncludeQuery = "data,png",
    dtype: DType = "float32",
    png_compression: PngQuery = 0,
) -> Response:
    """Slide the spec's kernels over the image (see CONVOLVE_DOC)."""
    timer = Timer()
    parts, spec, image = _lab_input(request, body, include, ConvolveSpec, None)  # image: (C, H, W)
    timer.lap("input")
    checkpoint()
    with client_errors():
        result = convolution.convolve(
            image,
            spec.kernels,
            mode=spec.mode,
            padding=spec.padding,
            padding_mode=spec.padding_mode,
            stride=spec.stride,
            combine=spec.combine,
            rounding=spec.rounding,
        )
    timer.lap("compute")
    checkpoint()  # between computing and encoding: stop when the client has gone or the deadline passed
    blobs = Blobs()
    payload = lab_payload(
        image,
        result.geometry,
        lambda: convolution.pad(image, result.geometry, spec.padding_mode),
        result.outputs,
        result.combined,
        parts,
        dtype,
        png_compression,
        blobs,
    )
    payload["applied_kernels"] = [k.tolist() for k in result.applied]
    return timer.response(blobs.json(payload))


def _pooled_source(st: State, served: Served, form: Form, spec: PoolSpec, preprocess: str) -> tuple[torch.Tensor, str]:
    """(C, H, W) to pool, and what it is in words."""
    source = spec.source
    if source.kind == "layer":
        pixels = image_from_form(st, served, form, preprocess)  # as the network takes it
        with client_errors("source"):
            return feature_maps.layer_map(served, pixels, source.layer, source.channel)
    image = _image(st, form, spec.color)  # (C, H, W)
    if source.kind == "image":
        return image, "the image"
    with client_errors("source"):
        return feature_maps.kernel_map(
            image,
            source.kernel,
            mode=source.mode,
            padding=source.padding,
            padding_mode=source.padding_mode,
            relu=source.relu,
        )


@router.post(
    "/api/pool",
    response_model=PoolResponse,
    responses=error_responses(400, 404, 408, 413, 415, 422, 503),
    openapi_extra=image_body_openapi(
        fields=_spec_field(PoolSpec, "op, size, stride, padding, color, rounding, source")
    ),
    summary="Max or average pooling of an image",
    description=POOL_DOC,
)
@admitted(pool_cost)
def pool(
    request: Request,
    body: UploadBody,
    served: Served,
    include: IncludeQuery = "data,png",
    dtype: DType = "float32",
    png_compression: PngQuery = 0,
    preprocess: Preprocess = "auto",
) -> Response:
    """Pool the image (or a feature map of it) per the spec (see POOL_DOC)."""
    timer = Timer()
    parts = _include(include)
    form = parse_form(request, body)
    spec = _spec(form, PoolSpec, "{}")
    image, described = _pooled_source(state(request), served, form, spec, preprocess)  # (C, H, W)
    timer.lap("input")
    checkpoint()
    with client_errors():
        result = pooling.pool(image, spec.op, spec.size, spec.stride, spec.padding, spec.rounding)
    timer.lap("compute")
    checkpoint()
    blobs = Blobs()
    payload = lab_payload(
        image,
        result.geometry,
        lambda: pooling.pool_padded(image, spec.op, result.geometry),
        [result.output],
        None,
        parts,
        dtype,
        png_compression,
        blobs,
    )
    payload["source"] = {"kind": spec.source.kind, "description": described, "shape": list(image.shape)}
    return timer.response(blobs.json(payload))


@router.get("/api/kernels/limits", response_model=LabLimits, summary="The kernel lab's limits")
async def lab_limits() -> LabLimits:
    """Every limit POST /api/convolve and POST /api/pool check, so that a client can check the same before
    it asks (the kernel lab's page does: its live output size never shows a size the server refuses)."""
    return LabLimits(**limits.as_dict())


@router.get("/api/kernels/presets", response_model=PresetsResponse, summary="Classic kernels to start from")
async def presets() -> PresetsResponse:
    """Identity, box blur and Gaussian (3x3, 5x5), sharpen, Sobel/Scharr/Prewitt x and y, Laplacian (4- and
    8-neighbour), emboss, outline, the lecture's vertical and horizontal edge templates, and 1x1. The
    directions hold for cross-correlation (the default mode)."""
    return PresetsResponse(presets=[KernelPreset(**p) for p in PRESETS])
