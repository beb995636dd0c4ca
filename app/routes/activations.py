"""POST /api/activations: every layer's output for one image."""

from __future__ import annotations

import functools
from typing import Any

import orjson
from fastapi import APIRouter, Request, Response
from torch import nn

from app.labs import override
from app.nets.network import PROBS
from app.routes import costs as route_costs
from app.routes.deps import Checkpoint, DType, Layers, Preprocess, Served, UploadBody
from app.routes.fastpath import PlainQueryRoute
from app.routes.inputs import as_batch, as_json, body_fields, image_body_openapi, network_input
from app.schemas.network import ActivationsResponse, PixelsRequest
from app.serving import costs
from app.serving.admission import Inline, admitted
from app.serving.costs import Cost
from app.serving.encoding import json_response_bytes
from app.serving.errors import client_errors, error_responses
from app.serving.forms import media_type
from app.serving.inference import ServedModel
from app.serving.layers import Row, encode_layers, tabulate

OVERRIDE_FIELD = {
    "conv1_override": {
        "type": "string",
        "description": 'JSON `{"channel": c, "kernel": k x k (k <= 5), "bias": b (optional)}`: use this kernel as'
        " conv1 filter c for this request only (a smaller kernel is zero-padded, centred)",
        "example": '{"channel": 0, "kernel": [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]}',
    }
}


def conv1_overrides(served: ServedModel, spec: Any, step: int | None = None) -> dict[str, nn.Module]:
    """``{first conv: a changed copy of it}`` for this request (the LeNet's conv1; any network's first conv
    layer); 422 naming the field at fault."""
    network = served.at(step)
    convs = network.of_kind("conv")
    with client_errors():
        if not convs:
            raise ValueError("conv1_override: this network has no conv layer")
        first = network.typed(convs[0].name, nn.Conv2d)
        return {convs[0].name: override.conv1_override(first, spec)}


# plain uploads and samples skip FastAPI's parameter solving (app.routes.fastpath); drawings go round
# FastAPI altogether (app.routes.lane)
router = APIRouter(tags=["network"], route_class=PlainQueryRoute)


def activations_cost(
    request: Request, body: bytes, served: ServedModel, names: list[str], dtype: str, preprocess: str
) -> Cost:
    """The input, one forward pass keeping every intermediate, the named layers flattened and encoded."""
    selected = sum(served.layer_values[name] for name in names)
    return (
        route_costs.digit_input(request, body, preprocess, served)
        .then(costs.network(route_costs.net(served), 1))
        .then(costs.copies("encode", selected))
        .then(costs.answer(selected, 2 if dtype == "float16" else 4))
    )


def answer(served: ServedModel, row: Row, names: list[str], dtype: str) -> bytes:
    """The JSON answer: the prediction and the named layers of one image (a row of its batch's table)."""
    probs = row.values(PROBS)  # (classes,)
    return orjson.dumps(
        {
            "prediction": {"label": int(probs.argmax()), "probabilities": probs.tolist()},
            "layers": encode_layers(served, row, names, dtype),
        }
    )


def drawing_only(request: Request, body: bytes, checkpoint: int | None, **_: Any) -> bool:
    """A JSON body that cannot hold a ``conv1_override`` (no such key, and no escapes that could spell
    one), for the served network: what the draw pad sends on every stroke."""
    return (
        checkpoint is None
        and media_type(request.headers.get("content-type")) == "application/json"
        and b"conv1_override" not in body
        and b"\\" not in body
    )


async def drawn(
    request: Request, body: bytes, served: ServedModel, names: list[str], preprocess: str, dtype: str, **_: Any
) -> Response:
    """``activations`` for a ``drawing_only`` request, as a coroutine in the event loop: the JSON read and
    the drawing prepared here; the forward pass, shared with other images, and the answer's encoding in the
    model's batch thread (app.serving.admission, ServedModel.infer_row)."""
    pixels, _form = network_input(request, body, preprocess, served)  # (H, W) or (C, H, W)
    finish = functools.partial(answer, served, names=names, dtype=dtype)
    return json_response_bytes(await served.infer_row(as_batch(served, pixels), finish))


@router.post(
    "/api/activations",
    response_model=ActivationsResponse,
    responses=error_responses(400, 404, 408, 413, 415, 422, 503),
    openapi_extra=image_body_openapi(PixelsRequest.model_json_schema(), OVERRIDE_FIELD),
    summary="Every layer's activations for one image",
)
@admitted(activations_cost, Inline(drawing_only, drawn))
def activations(
    request: Request,
    body: UploadBody,
    served: Served,
    names: Layers,
    preprocess: Preprocess = "auto",
    dtype: DType = "float32",
    checkpoint: Checkpoint = None,
) -> Response:
    """Send a multipart `file` (any image; preprocessed per `preprocess`) or a `sample` id, or a JSON
    body `{"pixels": 28x28}` with values in [0, 1], ink high. Each layer's `data` is base64 of the
    little-endian, C-order array of `shape` for this image.

    An optional `conv1_override` (a form field holding JSON, or a key of the JSON body) swaps one conv1
    filter for this request only; the served model is never changed.

    With `checkpoint` (a full checkpoint's step, see GET /api/training) the network as it was at that training
    step computes the answer."""
    if checkpoint is not None:
        with client_errors():
            served.at(checkpoint)  # 404 naming the steps there are, before the image is read
    pixels, form = network_input(request, body, preprocess, served)  # (H, W) or (C, H, W)
    x = as_batch(served, pixels)  # (1, C, H, W)
    spec = as_json("conv1_override", body_fields(body, form, ("conv1_override",))["conv1_override"])
    # an override runs alone, on its own copy of conv1; plain requests share the batch thread's passes
    if spec is None and checkpoint is None:
        row = served.infer_row_blocking(x)
    else:
        overrides = None if spec is None else conv1_overrides(served, spec, checkpoint)
        row = tabulate(served.forward(x, overrides, checkpoint), served.layer_names).row(0)
    return json_response_bytes(answer(served, row, names, dtype))
