"""POST /api/perturb: shift or rotate the input a little and see which layers stay put."""

from __future__ import annotations

import math
from typing import Any

import torch
from fastapi import APIRouter, HTTPException, Request, Response

from app.labs import perturb
from app.routes import costs as route_costs
from app.routes.deps import DType, Preprocess, Served, UploadBody
from app.routes.inputs import body_fields, image_body_openapi, network_input
from app.schemas.network import PixelsRequest
from app.schemas.perturb import PerturbLimits, PerturbResponse
from app.serving import costs, encoding
from app.serving.admission import admitted
from app.serving.costs import Cost
from app.serving.errors import client_errors, error_responses
from app.serving.inference import ServedModel

router = APIRouter(tags=["model insight"])

FIELDS = {
    "shift": {
        "type": "string",
        "description": f"dy,dx: move the input dy pixels down and dx right (each within +-{perturb.MAX_SHIFT})",
        "example": "0,1",
    },
    "rotate": {
        "type": "number",
        "description": f"or turn it this many degrees anticlockwise (within +-{perturb.MAX_ROTATE:g})",
    },
}


def _json_schema() -> dict:
    schema = PixelsRequest.model_json_schema()
    schema["properties"] = {**schema["properties"], **FIELDS}
    return schema


def _motion(raw: dict[str, Any]) -> tuple[tuple[int, int] | None, float | None]:
    shift, rotate = raw["shift"], raw["rotate"]
    if shift is not None and rotate is not None:
        raise HTTPException(422, "send either shift or rotate, not both")
    if shift is None and rotate is None:
        raise HTTPException(422, "shift: is missing; send shift=dy,dx (e.g. 0,1) or rotate=degrees")
    if shift is not None:
        text = ",".join(map(str, shift)) if isinstance(shift, list) else str(shift)  # JSON may send [dy, dx]
        with client_errors():
            return perturb.parse_shift(text), None
    try:
        degrees = float(rotate) if not isinstance(rotate, bool) else math.nan
    except (TypeError, ValueError):
        degrees = math.nan
    with client_errors():
        if math.isnan(degrees):
            raise ValueError(f"rotate: expected a number of degrees, not {str(rotate)[:40]!r}")
        return None, perturb.check_rotate(degrees)


def perturb_cost(request: Request, body: bytes, served: ServedModel, preprocess: str) -> Cost:
    """The input, moved (a copy, or a sampling grid for a rotation), both through the network keeping
    every intermediate, the layers' pairs in float64 with their differences, and the moved input sent."""
    net = route_costs.net(served)
    pixels = route_costs.values(served.shapes["input"])
    return (
        route_costs.digit_input(request, body, preprocess, served)
        .then(costs.copies("moved", pixels, 3, held=pixels * 4))
        .then(costs.network(net, 1) + costs.network(net, 1))
        .then(costs.copies("differences", net.values, 6))
        .then(costs.answer(pixels))
    )


@router.post(
    "/api/perturb",
    response_model=PerturbResponse,
    responses=error_responses(400, 404, 408, 413, 415, 422, 503),
    openapi_extra=image_body_openapi(_json_schema(), FIELDS),
    summary="Shift or rotate the input a little: how much does each layer change?",
)
@admitted(perturb_cost)
def perturb_route(
    request: Request, body: UploadBody, served: Served, preprocess: Preprocess = "auto", dtype: DType = "float32"
) -> Response:
    """The image as for POST /api/activations (multipart `file` or `sample`, or JSON `pixels`), plus `shift`
    ("dy,dx", at most 4 pixels each way, zeros come in) or `rotate` (degrees, at most 30 each way). Per
    layer: `relative_change` = ||a(x') - a(x)|| / ||a(x)||, and for a shift, where the layer's jump divides
    it, `aligned_change`: the same after moving a(x) by shift / jump units (near 0: the maps only moved, the
    layer is shift-equivariant there). `prediction` gives the class before and after."""
    pixels, form = network_input(request, body, preprocess, served)  # (H, W) or (C, H, W)
    raw = body_fields(body, form, ("shift", "rotate"))
    shift, rotate = _motion(raw)
    with client_errors():
        result = perturb.compare(served, torch.from_numpy(pixels), shift, rotate)
    moved = result.pop("moved_input")  # (C, H, W)
    result["moved_input"] = {"shape": list(moved.shape), "dtype": dtype, "data": encoding.encode(moved.numpy(), dtype)}
    return encoding.json_response(result)


@router.get(
    "/api/perturb/limits",
    response_model=PerturbLimits,
    responses=error_responses(404),
    summary="How far POST /api/perturb moves the input",
)
def perturb_limits(served: Served) -> PerturbLimits:
    """The largest shift and rotation POST /api/perturb takes, and the served model's input shape."""
    return PerturbLimits(max_shift=perturb.MAX_SHIFT, max_rotate=perturb.MAX_ROTATE, input_shape=served.shapes["input"])
