"""The conv-layer lab: POST /api/conv-layer (colour images, filters as deep as the input, a bank of
filters, a batch of images) and GET /api/conv-layer/options (its limits and bundled photos)."""

from __future__ import annotations

import json
from typing import Any

import torch
from fastapi import APIRouter, HTTPException, Request, Response
from PIL import Image

from app import preprocess
from app.labs import conv_layer, photos
from app.labs.kernels import images
from app.labs.kernels.geometry import conv_geometry
from app.labs.kernels.limits import ROUNDINGS, check_choice
from app.routes import costs as route_costs
from app.routes.deps import BatchBody, DType, State, state
from app.routes.inputs import as_json, int_field, parse_form
from app.schemas.conv_layer import ConvLayerOptions, ConvLayerResponse
from app.serving import costs, encoding
from app.serving.admission import admitted, checkpoint
from app.serving.costs import Cost
from app.serving.errors import client_errors, error_responses
from app.serving.forms import Form, Part

router = APIRouter(tags=["kernel lab"])

L = conv_layer
FIELDS = {
    "file": {
        "type": "array",
        "items": {"type": "string", "format": "binary"},
        "description": f"1 to {L.MAX_BATCH} images (the batch); they must have one size after resizing",
    },
    "photo": {
        "type": "string",
        "description": "or a bundled photo's id (GET /api/conv-layer/options)",
        "example": "cat",
    },
    "weight": {
        "type": "string",
        "description": f"JSON Cout x Cin x K x K (Cout <= {L.MAX_FILTERS}, K <= {L.MAX_KERNEL});"
        " Cin = 3 for rgb, 1 for gray",
        "example": json.dumps([[[[-1, 0, 1]] * 3, [[1, 0, -1]] * 3, [[0, 0, 0]] * 3]]),
    },
    "bias": {"type": "string", "description": "JSON: Cout numbers (default zeros)"},
    "padding": {"type": "string", "description": f'an integer 0..{L.MAX_PADDING}, "valid" or "same" (default 0)'},
    "stride": {"type": "integer", "description": f"1..{L.MAX_STRIDE} (default 1)"},
    "size": {
        "type": "integer",
        "description": f"the input's longer side after resizing, {L.MIN_SIZE}..{L.MAX_SIZE} (default {L.DEFAULT_SIZE})",
    },
    "color": {"type": "string", "description": "rgb (default: Cin = 3) or gray (Cin = 1)"},
    "rounding": {"type": "string", "description": "floor (default) or ceil, when (W - K + 2P) / S is not whole"},
    "unit": {"type": "string", "description": "n,c,y,x: also explain this output unit"},
}


def _files(form: Form) -> list[Part]:
    """The form's ``file`` parts, or none with its ``photo``: exactly one of them, at most a batch."""
    files, photo = form.all("file"), form.text("photo")
    if files and photo is not None:
        raise HTTPException(422, "send either `file` (one or more) or `photo`, not both")
    if not files and photo is None:
        raise HTTPException(422, "no image: send one or more multipart `file` parts, or `photo` (a bundled photo's id)")
    if len(files) > L.MAX_BATCH:
        raise HTTPException(413, f"file: {len(files)} images; a batch holds at most {L.MAX_BATCH}")
    return files


def _field(index: int, filename: str | None) -> str:
    return f"file[{index}] ({filename or 'unnamed'})"


def _images(st: State, form: Form, size: int, color: str) -> tuple[torch.Tensor, list[dict]]:
    """(N, Cin, H, W) from the form's ``file`` parts or its ``photo``, each resized to ``size``. Uploads
    are decoded one at a time: only their resized tensors are kept."""
    files, photo = _files(form), form.text("photo")
    tensors, described = [], []

    def add(name: str, img: Image.Image) -> None:
        with client_errors():
            small = L.resized(img, size)
            tensors.append(images.image_tensor(small, color))  # (Cin, H, W)
        described.append({"name": name, "width": small.width, "height": small.height, "original": list(img.size)})

    if photo is not None:
        with client_errors():
            add(photo, photos.load(photo))
    for i, part in enumerate(files):
        checkpoint()  # between images: stop when the client has gone or the deadline has passed
        with client_errors(_field(i, part.filename)):
            img = preprocess.decode(part.data, st.limits)
        add(part.filename or f"image {i}", img)
        del img  # the full-size image, before the next one is decoded
    with client_errors():
        return L.batch(tensors), described


def _json_field(form: Form, name: str) -> Any:
    """A JSON form field (None when absent), its nesting checked before it is parsed."""
    with client_errors(name):
        text = form.text(name)
    return as_json(name, text)


def _padding(form: Form) -> str | int:
    text = (form.text("padding") or "0").strip()
    if text in ("same", "valid"):
        return text
    try:
        return int(text)
    except ValueError as exc:
        raise HTTPException(422, f'padding: expected an integer, "valid" or "same", not {text[:40]!r}') from exc


PHOTO = preprocess.ImageInfo("PNG", "RGB", 256, 256)  # every bundled photo (app/labs/photos.py)
CONV_SETUP = 0.005  # seconds: conv2d's set-up for a new shape, far more than the arithmetic of a small one
# conv2d (oneDNN) holds its output twice (its blocked layout, then torch's), a scratchpad and the new
# shape's compiled kernel (measured alone: 15 MiB for a 4 MiB output, 71 MiB for 32 MiB; in the app 23-43
# MiB for 4 MiB, glibc's heaps vary): counted as four outputs and this
CONV_FIXED = 8 * costs.MIB


def conv_layer_cost(request: Request, body: bytes, dtype: str) -> Cost:
    """Each image decoded at full size and resized, one after another (only the resized tensors are kept),
    the weight's JSON, the batch and its padded copy, conv2d's output (one multiply-add per filter weight
    per output value, ``costs.MAC_NS`` twice over: small kernels use the CPU less well) and the answer,
    the input and the output in base64."""
    form = parse_form(request, body)
    size, stride = int_field(form, "size"), int_field(form, "stride")  # the route's own 422 first
    size = min(max(L.DEFAULT_SIZE if size is None else size, L.MIN_SIZE), L.MAX_SIZE)
    files, photo = form.all("file"), form.text("photo")
    if (files and photo is not None) or len(files) > L.MAX_BATCH:
        return route_costs.SMALL  # the route refuses it
    channels = 1 if form.text("color") == "gray" else 3
    steps, (h, w) = route_costs.resized_image(PHOTO, size, channels) if photo is not None else (Cost(), (1, 1))
    for i, part in enumerate(files):
        info = route_costs.upload_info(state(request), part, _field(i, part.filename))
        image, (h, w) = route_costs.resized_image(info, size, channels)
        steps = steps.then(image)
    text = form.text("weight")
    try:  # only the sizes: the route checks every value
        raw = as_json("weight", text)
        first = raw[0] if isinstance(raw, list) and raw else None
        cout = min(len(raw), L.MAX_FILTERS) if isinstance(raw, list) and raw else 1
        k = len(first[0]) if isinstance(first, list) and first and isinstance(first[0], list) else 1
        k = min(max(k, 1), L.MAX_KERNEL)
        rounding = form.text("rounding") or "floor"
        geometry = conv_geometry(h, w, k, 1 if stride is None else stride, _padding(form), "zeros", rounding)
    except (HTTPException, ValueError):
        return steps  # the route refuses it, after decoding the images
    n = max(len(files), 1)
    x = n * channels * h * w
    padded = n * channels * route_costs.padded_plane(geometry)
    out = n * cout * geometry.height.output * geometry.width.output
    cpu = out * channels * k * k * 2 * costs.MAC_NS * costs.NS + CONV_SETUP
    conv = Cost.of("conv layer", (padded + 4 * out) * 4 + CONV_FIXED, cpu, held=out * 4)
    return (
        steps.then(route_costs.json_text(text))
        .then(costs.copies("batch", x, held=x * 4))
        .then(conv)
        .then(costs.answer(x + out, 2 if dtype == "float16" else 4))
    )


def _tensor(values: torch.Tensor, dtype: str) -> dict:
    array = values.numpy()
    return {
        "shape": list(array.shape),
        "dtype": dtype,
        "data": encoding.encode(array, dtype),
        "min": float(array.min()),
        "max": float(array.max()),
    }


@router.post(
    "/api/conv-layer",
    response_model=ConvLayerResponse,
    responses=error_responses(400, 404, 408, 413, 415, 422, 503),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"multipart/form-data": {"schema": {"type": "object", "properties": FIELDS}}},
        }
    },
    summary="A conv layer: colour images, filters as deep as the input, a bank of filters, a batch",
)
@admitted(conv_layer_cost)
def conv_layer_route(request: Request, body: BatchBody, dtype: DType = "float32") -> Response:
    """Multipart: one or more images as `file` (the batch, up to 8) or a bundled `photo`, each resized so
    that its longer side is `size` pixels (default 32: the lecture's 3 x 32 x 32), scaled to [0, 1], RGB
    (Cin = 3) or `color=gray` (Cin = 1); a `weight` (JSON, Cout x Cin x K x K) and optional `bias` (Cout);
    `padding` (zeros: an integer, "valid" or "same"), `stride`, `rounding`.

    The answer is torch.nn.functional.conv2d of the batch: `output[n, c] = bias[c] + sum over the Cin x K x K
    patch of patch * weight[c]`, one H' x W' map per filter and image, with the shapes of every tensor and the
    output-size arithmetic per axis. `unit=n,c,y,x` adds how that one number is made: the patch, the products
    per channel, their sums, the total and the bias."""
    form = parse_form(request, body)
    size = int_field(form, "size")
    stride = int_field(form, "stride")
    color = form.text("color") or "rgb"
    rounding = form.text("rounding") or "floor"
    with client_errors():
        L.check_size(L.DEFAULT_SIZE if size is None else size)
        check_choice("color", color, ("rgb", "gray"))
        check_choice("rounding", rounding, ROUNDINGS)
    x, described = _images(state(request), form, L.DEFAULT_SIZE if size is None else size, color)
    raw_weight, raw_bias = _json_field(form, "weight"), _json_field(form, "bias")
    if raw_weight is None:
        raise HTTPException(422, "weight: is missing; send Cout x Cin x K x K numbers as JSON")
    with client_errors():
        weight = L.as_weight(raw_weight, x.shape[1])  # (Cout, Cin, K, K)
        bias = L.as_bias(raw_bias, weight.shape[0])  # (Cout,)
        layer = L.conv_layer(
            x, weight, bias, padding=_padding(form), stride=1 if stride is None else stride, rounding=rounding
        )
    shapes = {
        "input": list(x.shape),
        "weight": list(weight.shape),
        "bias": list(bias.shape),
        "output": list(layer.output.shape),
    }
    unit = None
    text = form.text("unit")
    if text is not None:
        with client_errors():
            unit = L.unit(layer, weight, bias, *L.parse_unit(text, shapes["output"]))
    payload = {
        "images": described,
        "shapes": shapes,
        "explanation": L.explain(shapes),
        "arithmetic": layer.geometry.describe(),
        "input": _tensor(x, dtype),
        "output": _tensor(layer.output, dtype),
        "unit": unit,
    }
    return encoding.json_response(payload)


@router.get(
    "/api/conv-layer/options", response_model=ConvLayerOptions, summary="The conv-layer lab's limits and photos"
)
async def options(request: Request) -> ConvLayerOptions:
    """The limits POST /api/conv-layer checks, and the bundled colour photos (id, title, credit, licence, URL:
    under the path prefix the app is served under, if any)."""
    root = str(request.scope.get("root_path", "")).rstrip("/")
    return ConvLayerOptions.model_validate(
        {"limits": L.limits(), "photos": [p.as_dict(root) for p in photos.PHOTOS.values()]}
    )
