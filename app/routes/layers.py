"""One layer: GET /api/layers/{name}/weights (its parameters, and BatchNorm's running statistics) and
GET /api/layers/{name}/channels/{c}/top (the test digits that activate a channel most)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from app.labs import top
from app.routes.deps import Checkpoint, DType, Served
from app.schemas.insight import TopResponse
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
def layer_weights(name: str, served: Served, dtype: DType = "float32", checkpoint: Checkpoint = None) -> Response:
    """conv and linear: `weight`, `bias`; batchnorm: `weight` (gamma), `bias` (beta), `running_mean`,
    `running_var`, and `eps`. With `checkpoint`, the weights at that training step (conv and BatchNorm
    layers at every checkpoint, every layer at the full ones)."""
    with client_errors():
        kind, tensors, eps = served.weights(name, checkpoint)
    payload = {
        "name": name,
        "kind": kind,
        "tensors": [
            {"name": t, "shape": list(a.shape), "dtype": dtype, "data": encoding.encode(a, dtype)} for t, a in tensors
        ],
        "eps": eps,
    }
    return encoding.json_response(payload)


@router.get(
    "/api/layers/{name}/channels/{channel}/top",
    response_model=TopResponse,
    responses=error_responses(404, 422),
    summary="The test digits that activate a channel most",
)
def top_digits(
    served: Served, name: str, channel: Annotated[int, Path(description="channel of the layer")]
) -> TopResponse:
    """The test digits (best first) whose maps in this channel reach the largest values, with the unit
    (`y`, `x`) that reached it and its receptive field `box` on the digit (crop
    `/api/samples/{index}.png` to it for the patch). Precomputed by `convlens top` over the test set."""
    with client_errors():
        content = served.top_file()
        found = top.examples(served.model, content, served.dataset().labels, name, channel)
    return TopResponse.model_validate({"layer": name, "channel": channel, "examples": found})
