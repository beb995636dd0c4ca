"""POST /api/activations: every layer's output for one image."""

from __future__ import annotations

from typing import Annotated, Literal

import torch
from fastapi import APIRouter, Depends, Query, Request, Response

from app.errors import client_errors, error_responses
from app.inference import encode_layers, select_layers
from app.routes.common import json_response, state
from app.routes.inputs import image_body_openapi, network_input, upload_body
from app.schemas import ActivationsResponse, PixelsRequest

router = APIRouter(tags=["network"])

PreprocessQuery = Annotated[
    Literal["mnist", "none"],
    Query(description="mnist: invert, crop, scale and centre like MNIST; none: plain grayscale resize"),
]


@router.post(
    "/api/activations",
    response_model=ActivationsResponse,
    responses=error_responses(400, 404, 413, 415, 422),
    openapi_extra=image_body_openapi(PixelsRequest.model_json_schema()),
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
    little-endian, C-order array of `shape` for this image."""
    st = state(request)
    with client_errors():
        served = st.registry.get(model)
        names = select_layers(served, layers)
    pixels, _ = network_input(request, body, preprocess)  # (28, 28)
    x = torch.from_numpy(pixels).reshape(1, 1, *pixels.shape)  # (1, 1, 28, 28)
    acts = served.infer(x)
    probs = acts["probs"][0]  # (10,)
    return json_response(
        {
            "prediction": {"label": int(probs.argmax()), "probabilities": probs.tolist()},
            "layers": encode_layers(served, acts, names, dtype),
        }
    )
