"""The training timeline: GET /api/training (the checkpoints) and GET /api/training/drift (how a layer's
output distribution wanders while the network trains)."""

from __future__ import annotations

from typing import Annotated

import torch
from fastapi import APIRouter, Query

from app.routes.deps import Served
from app.schemas.training import DriftResponse, TrainingResponse
from app.serving.errors import client_errors, error_responses
from app.training import timeline

router = APIRouter(tags=["training"])

DRIFT_DESCRIPTION = (
    "Per checkpoint, each channel's mean and standard deviation of the layer's output over a fixed batch of"
    f" {timeline.DRIFT_IMAGES} test digits, with BatchNorm normalising by the batch's own statistics, as in"
    " training. `output` is the layer itself; `after` is what the BatchNorm right after it hands on. When the"
    " earlier layers change, a layer's input distribution moves (internal covariate shift); BatchNorm keeps"
    " what it hands on near its learned gamma and beta."
)


@router.get(
    "/api/training",
    response_model=TrainingResponse,
    responses=error_responses(404),
    summary="The checkpoints recorded while the model trained",
)
def training(served: Served) -> TrainingResponse:
    """Step 0 (the initialisation), steps spread log-uniformly over the first epoch, the end of every epoch.
    Every checkpoint keeps the conv and BatchNorm layers (`GET /api/layers/{name}/weights?checkpoint=STEP`);
    `full` ones keep the whole network (`POST /api/activations?checkpoint=STEP`)."""
    with client_errors():
        history = served.history()
    return TrainingResponse.model_validate({"model": served.name, "checkpoints": history.summary()})


@router.get(
    "/api/training/drift",
    response_model=DriftResponse,
    responses=error_responses(404, 422),
    summary="How a layer's output distribution drifts during training",
)
def drift(
    served: Served, layer: Annotated[str, Query(description="a conv or linear layer: conv1, conv2, fc1")]
) -> DriftResponse:
    with client_errors():
        points = served.history().drift(layer)
    bn = timeline.drift_layers(served.model).get(layer)

    def stats(t: torch.Tensor | None) -> dict[str, list[float]] | None:  # (2, C) -> per-channel mean and std
        return None if t is None else {"mean": t[0].tolist(), "std": t[1].tolist()}

    return DriftResponse.model_validate(
        {
            "model": served.name,
            "layer": layer,
            "batchnorm": bn,
            "images": timeline.DRIFT_IMAGES,
            "description": DRIFT_DESCRIPTION,
            "checkpoints": [
                {"step": p["step"], "output": stats(p["output"]), "after": stats(p.get("after"))} for p in points
            ],
        }
    )
