"""GET /api/model: the architecture, layer by layer, with receptive fields."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from app.routes.common import state
from app.schemas.network import LayerInfo, ModelInfo, ReceptiveField
from app.serving.errors import client_errors, error_responses
from app.serving.inference import ServedModel

router = APIRouter(tags=["network"])


def model_info(served: ServedModel) -> ModelInfo:
    cfg = served.model.cfg
    layers = []
    for spec in served.model.table:
        rf = served.receptive_fields.get(spec.name)
        layers.append(
            LayerInfo(
                name=spec.name,
                kind=spec.kind,
                output_shape=served.shapes[spec.name],
                params=served.layer_params(spec.name),
                kernel_size=spec.kernel_size,
                stride=spec.stride,
                padding=spec.padding,
                receptive_field=ReceptiveField(**rf) if rf else None,
            )
        )
    return ModelInfo(
        name=served.name,
        dataset=served.card.get("dataset", "mnist"),
        classes=[str(c) for c in range(cfg.classes)],
        input_shape=[cfg.in_channels, cfg.image_size, cfg.image_size],
        test_accuracy=served.card.get("test_accuracy"),
        params=sum(p.numel() for p in served.model.parameters()),
        layers=layers,
    )


@router.get("/api/model", response_model=ModelInfo, responses=error_responses(404), summary="The architecture")
def get_model(
    request: Request, model: Annotated[str | None, Query(description="model name (default: the default model)")] = None
) -> ModelInfo:
    with client_errors():
        return model_info(state(request).registry.get(model))
