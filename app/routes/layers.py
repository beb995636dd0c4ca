"""GET /api/layers/{name}/weights: a layer's parameters (and BatchNorm's running statistics)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response

from app.routes.common import json_response, state
from app.schemas.network import WeightsResponse
from app.serving import encoding
from app.serving.errors import client_errors, error_responses

router = APIRouter(tags=["network"])


@router.get(
    "/api/layers/{name}/weights",
    response_model=WeightsResponse,
    responses=error_responses(404, 422),
    summary="A layer's weights",
)
def layer_weights(
    request: Request,
    name: str,
    dtype: Annotated[Literal["float32", "float16"], Query()] = "float32",
    model: Annotated[str | None, Query(description="model name (default: the default model)")] = None,
) -> Response:
    """conv and linear: `weight`, `bias`; batchnorm: `weight` (gamma), `bias` (beta), `running_mean`,
    `running_var`, and `eps`."""
    with client_errors():
        kind, tensors, eps = state(request).registry.get(model).weights(name)
    payload = {
        "name": name,
        "kind": kind,
        "tensors": [
            {"name": t, "shape": list(a.shape), "dtype": dtype, "data": encoding.encode(a, dtype)} for t, a in tensors
        ],
        "eps": eps,
    }
    return json_response(payload)
