"""POST /api/activations: every layer's output for one image."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

import torch
from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from torch import nn

from app.labs import override
from app.routes.common import json_response, state
from app.routes.inputs import image_body_openapi, network_input, upload_body
from app.schemas.network import ActivationsResponse, PixelsRequest
from app.serving.errors import client_errors, error_responses
from app.serving.forms import Form, FormError
from app.serving.inference import ServedModel
from app.serving.layers import encode_layers, select_layers

OVERRIDE_FIELD = {
    "conv1_override": {
        "type": "string",
        "description": 'JSON `{"channel": c, "kernel": k x k (k <= 5), "bias": b (optional)}`: use this kernel as'
        " conv1 filter c for this request only (a smaller kernel is zero-padded, centred)",
        "example": '{"channel": 0, "kernel": [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]}',
    }
}


def override_spec(body: bytes, form: Form | None) -> Any:
    """The raw ``conv1_override`` (parsed JSON) from the form field or the JSON body's key; None if absent."""
    if form is None:  # a JSON body, already validated as JSON by network_input
        return json.loads(body).get("conv1_override") if b"conv1_override" in body else None
    try:
        text = form.text("conv1_override")
    except FormError as exc:
        raise HTTPException(exc.status, str(exc)) from exc
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise HTTPException(422, f"conv1_override: not valid JSON ({exc})") from exc


def conv1_overrides(served: ServedModel, spec: Any) -> dict[str, nn.Module]:
    """``{"conv1": a changed copy of conv1}`` for this request; 422 naming the field at fault."""
    with client_errors():
        return {"conv1": override.conv1_override(served.model.conv1, spec)}


router = APIRouter(tags=["network"])

PreprocessQuery = Annotated[
    Literal["mnist", "none"],
    Query(description="mnist: invert, crop, scale and centre like MNIST; none: plain grayscale resize"),
]


@router.post(
    "/api/activations",
    response_model=ActivationsResponse,
    responses=error_responses(400, 404, 413, 415, 422),
    openapi_extra=image_body_openapi(PixelsRequest.model_json_schema(), OVERRIDE_FIELD),
    summary="Every layer's activations for one image",
)
def activations(
    request: Request,
    body: Annotated[bytes, Depends(upload_body)],
    preprocess: PreprocessQuery = "mnist",
    layers: Annotated[str | None, Query(description="comma-separated layer names (default: all)")] = None,
    dtype: Annotated[Literal["float32", "float16"], Query(description="dtype of every `data` array")] = "float32",
    model: Annotated[str | None, Query(description="model name (default: the default model)")] = None,
) -> Response:
    """Send a multipart `file` (any image; preprocessed per `preprocess`) or a `sample` id, or a JSON
    body `{"pixels": 28x28}` with values in [0, 1], ink high. Each layer's `data` is base64 of the
    little-endian, C-order array of `shape` for this image.

    An optional `conv1_override` (a form field holding JSON, or a key of the JSON body) swaps one conv1
    filter for this request only; the served model is never changed."""
    st = state(request)
    with client_errors():
        served = st.registry.get(model)
        names = select_layers(served, layers)
    pixels, form = network_input(request, body, preprocess)  # (28, 28)
    x = torch.from_numpy(pixels).reshape(1, 1, *pixels.shape)  # (1, 1, 28, 28)
    spec = override_spec(body, form)
    # an override runs alone, on its own copy of conv1; plain requests share batched forward passes
    acts = served.infer(x) if spec is None else served.forward(x, conv1_overrides(served, spec))
    probs = acts["probs"][0]  # (10,)
    return json_response(
        {
            "prediction": {"label": int(probs.argmax()), "probabilities": probs.tolist()},
            "layers": encode_layers(served, acts, names, dtype),
        }
    )
