"""Model insight: receptive fields, explanations and 1x1 channel mixing (with its limits and the bottleneck
arithmetic, GET /api/mix/limits and GET /api/mix/bottleneck).

POST /api/receptive-field, POST /api/explain, POST /api/mix take the image like POST /api/activations
(multipart `file` or `sample`, or a JSON `{"pixels": 28x28}` body); their other fields travel as form
fields (or keys of the JSON body). None of them changes the served model.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

import numpy as np
import torch
from fastapi import APIRouter, HTTPException, Query, Request, Response

from app.labs import explain, mixing, unit_field
from app.routes import costs as route_costs
from app.routes.deps import DType, Preprocess, Served, UploadBody
from app.routes.inputs import as_batch, as_int, as_json, body_fields, image_body_openapi, network_input
from app.schemas.insight import (
    BottleneckResponse,
    ExplainResponse,
    MixLimits,
    MixResponse,
    ReceptiveFieldResponse,
)
from app.schemas.network import PixelsRequest
from app.serving import costs, encoding
from app.serving.admission import admitted
from app.serving.costs import Cost
from app.serving.errors import client_errors, error_responses
from app.serving.inference import ServedModel

router = APIRouter(tags=["model insight"])

IMAGE_ERRORS = error_responses(400, 404, 408, 413, 415, 422, 503)


def _int_field(name: str, description: str) -> dict:
    return {name: {"type": "integer", "description": description}}


UNIT_FIELDS = {
    "layer": {"type": "string", "description": "a spatial layer: input, conv1, bn1, relu1, pool1, conv2, ... pool2"},
    **_int_field("channel", "the unit's channel (default 0)"),
    **_int_field("y", "the unit's row in the layer's maps"),
    **_int_field("x", "the unit's column in the layer's maps"),
}
MIX_FIELDS = {
    "layer": {"type": "string", "description": "whose maps to mix (default relu1); any spatial layer but the input"},
    "matrix": {
        "type": "string",
        "description": f"JSON: C_out rows (1..{mixing.MAX_OUT}) of C_in numbers (C_in = the layer's channels)",
        "example": json.dumps([[1.0] + [0.0] * 19, [0.5, -0.5] + [0.0] * 18]),
    },
    "bias": {"type": "string", "description": "JSON: C_out numbers (default zeros)"},
}


def _schema_with(fields: dict[str, Any]) -> dict:
    """The JSON body's schema: ``pixels`` plus the route's fields as keys."""
    schema = PixelsRequest.model_json_schema()
    schema["properties"] = {**schema["properties"], **fields}
    return schema


def encode_map(values: torch.Tensor, dtype: str) -> dict:
    array = values.detach().to(torch.float32).numpy()
    return {
        "shape": list(array.shape),
        "dtype": dtype,
        "data": encoding.encode(array, dtype),
        "min": float(array.min()),
        "max": float(array.max()),
    }


def receptive_field_cost(request: Request, body: bytes, served: ServedModel, preprocess: str) -> Cost:
    """The input, a forward and a backward pass of one image, a map of the input's size."""
    pixels = route_costs.values(served.shapes["input"])
    return (
        route_costs.digit_input(request, body, preprocess, served)
        .then(costs.network(route_costs.net(served), 1, backward=True))
        .then(costs.answer(pixels))
    )


@router.post(
    "/api/receptive-field",
    response_model=ReceptiveFieldResponse,
    responses=IMAGE_ERRORS,
    openapi_extra=image_body_openapi(_schema_with(UNIT_FIELDS), UNIT_FIELDS),
    summary="What one unit can see of the input",
)
@admitted(receptive_field_cost)
def receptive_field(
    request: Request,
    body: UploadBody,
    served: Served,
    preprocess: Preprocess = "auto",
    dtype: DType = "float32",
) -> Response:
    """Unit (`channel`, `y`, `x`) of a spatial `layer` for this image: its theoretical receptive field from
    the layer arithmetic (`size`, `jump`, `start`, the recurrence in `steps`; `box` is clipped to the image,
    `unclipped` reaches into the padding) and its effective field `gradient`, |d unit / d input pixel|,
    which is exactly zero outside the box."""
    pixels, form = network_input(request, body, preprocess, served)  # (H, W) or (C, H, W)
    raw = body_fields(body, form, ("layer", "channel", "y", "x"))
    if not raw["layer"]:
        raise HTTPException(422, "layer: missing; send a spatial layer name, e.g. conv2")
    unit = {k: as_int(k, raw[k], 0 if k == "channel" else None) for k in ("channel", "y", "x")}
    with client_errors():
        result = unit_field.receptive_field(
            served.model, as_batch(served, pixels), str(raw["layer"]), unit["channel"], unit["y"], unit["x"]
        )
    result["gradient"] = encode_map(result["gradient"], dtype)
    return encoding.json_response(result)


def explain_cost(
    request: Request, body: bytes, served: ServedModel, method: str, patch: int, stride: int, preprocess: str
) -> Cost:
    """Saliency and Grad-CAM: a forward and a backward pass. Occlusion: one forward pass per patch position
    (every corner from -(patch - 1) to the image side, ``stride`` apart), in chunks, each chunk a batch of
    copies of the input."""
    net = route_costs.net(served)
    height, width = served.shapes["input"][-2:]
    if method == "occlusion":
        stride = max(1, stride)
        positions = len(explain.patch_corners(height, patch, stride)) * len(explain.patch_corners(width, patch, stride))
        chunk = min(positions, explain.OCCLUSION_BATCH)
        work = costs.copies("occluded copies", chunk * route_costs.values(served.shapes["input"]), 2) + costs.network(
            net, positions + 1, keep=False, chunk=chunk
        )
    else:
        work = costs.network(net, 2, backward=True)
    return route_costs.digit_input(request, body, preprocess, served).then(work).then(costs.answer(height * width))


@router.post(
    "/api/explain",
    response_model=ExplainResponse,
    responses=IMAGE_ERRORS,
    openapi_extra=image_body_openapi(PixelsRequest.model_json_schema()),
    summary="Why the network says what it says: saliency, Grad-CAM or occlusion",
)
@admitted(explain_cost)
def explain_prediction(
    request: Request,
    body: UploadBody,
    served: Served,
    method: Annotated[Literal["saliency", "gradcam", "hirescam", "occlusion"], Query(description="which explanation")],
    target: Annotated[int | None, Query(description="class to explain (default: the predicted one)")] = None,
    patch: Annotated[int, Query(ge=1, le=28, description="occlusion: patch side")] = explain.OCCLUSION_PATCH,
    stride: Annotated[int, Query(ge=1, le=28, description="occlusion: step, at most the patch")] = (
        explain.OCCLUSION_STRIDE
    ),
    preprocess: Preprocess = "auto",
    dtype: DType = "float32",
) -> Response:
    """A map the size of the input for the `target` class: `saliency` = |d logit / d pixel|; `gradcam` =
    Grad-CAM on the last maps before the classifier (the LeNet's pool2), placed on the input by receptive-field
    centres; `hirescam` = the same maps with gradient x map summed unit by unit (Grad-CAM averages the gradient
    over each map first, which can leave nothing positive in front of a fully connected layer); `occlusion` =
    the mean drop in the target's probability when a `patch` x `patch` black square covers the pixel.
    `probability` is the target's probability for the unchanged image."""
    pixels, _ = network_input(request, body, preprocess, served)  # (H, W) or (C, H, W)
    x = as_batch(served, pixels)  # (1, C, H, W)
    with client_errors():
        result = explain.explain(served.model, x, method, target, patch, stride)
    payload = {
        "method": result.method,
        "target": result.target,
        "predicted": result.predicted,
        "probability": result.probability,
        "probabilities": result.probabilities,
        "map": encode_map(result.map, dtype),
        "description": explain.description(served.model, result.method),
        "layer": result.layer,
        "patch": result.patch,
        "stride": result.stride,
    }
    return encoding.json_response(payload)


def mixable(served: ServedModel) -> list[str]:
    """The layers with maps (C x H x W) other than the input."""
    return [layer.name for layer in served.model.spatial if layer.kind != "input"]


def mix_maps(served: ServedModel, pixels: np.ndarray, raw: dict[str, Any]) -> tuple[str, torch.Tensor, torch.Tensor]:
    """``(layer, maps (C_in, H, W), mixed (C_out, H, W))``."""
    layer = str(raw["layer"] or mixing.default_layer(served.model))
    found = served.model.layer(layer)  # KeyError for an unknown layer
    if layer not in mixable(served):
        raise ValueError(f"layer: {layer!r} ({found.kind}) has no channels to mix; use {', '.join(mixable(served))}")
    x = as_batch(served, pixels)  # (1, C, H, W)
    maps = served.forward(x)[layer][0]  # (C_in, H, W)
    matrix = mixing.as_matrix(as_json("matrix", raw["matrix"]), maps.shape[0])  # (C_out, C_in)
    bias = mixing.as_bias(as_json("bias", raw["bias"]), matrix.shape[0])  # (C_out,)
    return layer, maps, mixing.mix(maps, matrix, bias)


def mix_cost(request: Request, body: bytes, served: ServedModel, preprocess: str) -> Cost:
    """The input, the matrix and bias (JSON), one forward pass, and up to ``mixing.MAX_OUT`` mixed maps of
    the layer's size."""
    form = route_costs.form_or_none(request, body)
    layer = (form.text("layer") if form is not None else None) or "relu1"
    shape = served.shapes.get(layer) or max(served.shapes.values(), key=route_costs.values)
    mixed = mixing.MAX_OUT * route_costs.values(shape[1:])
    fields = [form.text(name) for name in ("matrix", "bias")] if form is not None else []
    return (
        route_costs.digit_input(request, body, preprocess, served)
        .then(route_costs.json_text("".join(text or "" for text in fields)))
        .then(costs.network(route_costs.net(served), 1))
        .then(costs.copies("mix", mixed, 2, held=mixed * 4))
        .then(costs.answer(mixed))
    )


@router.post(
    "/api/mix",
    response_model=MixResponse,
    responses=IMAGE_ERRORS,
    openapi_extra=image_body_openapi(_schema_with(MIX_FIELDS), MIX_FIELDS),
    summary="A 1x1 convolution: mix one layer's channels with your matrix",
)
@admitted(mix_cost)
def mix(
    request: Request,
    body: UploadBody,
    served: Served,
    preprocess: Preprocess = "auto",
    dtype: DType = "float32",
) -> Response:
    """Apply a C_out x C_in `matrix` (and optional `bias`) to the image's `layer` maps at every pixel:
    `out[o, y, x] = bias[o] + sum_c matrix[o][c] * maps[c, y, x]`, a 1x1 convolution. `counts` compares its
    parameters and multiply-adds with a 5x5 convolution of the same width. GET /api/mix/limits gives the
    limits (at most 64 rows) and the layers."""
    pixels, form = network_input(request, body, preprocess, served)  # (H, W) or (C, H, W)
    raw = body_fields(body, form, ("layer", "matrix", "bias"))
    if raw["matrix"] is None:
        raise HTTPException(422, "matrix: missing; send C_out rows of C_in numbers as JSON")
    with client_errors():
        layer, maps, mixed = mix_maps(served, pixels, raw)
    c_in, height, width = maps.shape
    payload = {
        "layer": layer,
        "input_shape": list(maps.shape),
        "matrix_shape": [mixed.shape[0], c_in],
        "output": encode_map(mixed, dtype),
        "counts": mixing.counts(c_in, mixed.shape[0], height, width),
    }
    return encoding.json_response(payload)


@router.get(
    "/api/mix/limits",
    response_model=MixLimits,
    responses=error_responses(404),
    summary="What the 1x1 demo takes: its limits and layers",
)
def mix_limits(served: Served) -> MixLimits:
    """The largest C_out and |weight| POST /api/mix takes, the bottleneck arithmetic's limits, and the layers
    whose maps can be mixed, with their shapes."""
    layers = [{"name": n, "kind": served.model.layer(n).kind, "shape": served.shapes[n]} for n in mixable(served)]
    return MixLimits.model_validate({**mixing.limits(), "layers": layers})


@router.get(
    "/api/mix/bottleneck",
    response_model=BottleneckResponse,
    responses=error_responses(422),
    summary="The bottleneck: a 1x1 conv to fewer channels before a k x k conv, counted",
)
def bottleneck(
    c_in: Annotated[int, Query(description="input channels")] = 256,
    c_mid: Annotated[int, Query(description="channels after the 1x1 layer")] = 64,
    c_out: Annotated[int, Query(description="output channels of the k x k layer")] = 256,
    kernel: Annotated[int, Query(description="k")] = 3,
    height: Annotated[int, Query(description="H of the maps (kept: 'same' padding)")] = 56,
    width: Annotated[int, Query(description="W of the maps")] = 56,
) -> BottleneckResponse:
    """The lecture's bottleneck: 1x1 conv C_in -> C_mid, then k x k conv C_mid -> C_out, against the k x k
    conv C_in -> C_out directly (default 256 -> 64 -> 256 with 3x3 on 56x56 maps): parameters (weights and
    biases) and multiply-adds of each layer and of both paths."""
    with client_errors():
        return BottleneckResponse.model_validate(mixing.bottleneck(c_in, c_mid, c_out, kernel, height, width))
