"""The models: GET /api/model (the architecture, layer by layer, with receptive fields), GET /api/models
(every served model) and GET /api/model/card (one model's card)."""

from __future__ import annotations

from fastapi import APIRouter

from app.labs import top
from app.routes.deps import AppState, Served
from app.schemas.network import LayerInfo, ModelCard, ModelInfo, ModelSummary, Normalization, ReceptiveField
from app.serving.errors import error_responses
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
        normalization=Normalization(mean=[cfg.mean] * cfg.in_channels, std=[cfg.std] * cfg.in_channels),
        test_accuracy=served.card.get("test_accuracy"),
        params=served.params,
        layers=layers,
    )


@router.get("/api/model", response_model=ModelInfo, responses=error_responses(404), summary="The architecture")
def get_model(served: Served) -> ModelInfo:
    return model_info(served)


def summary(served: ServedModel, default: bool) -> ModelSummary:
    card = served.card
    return ModelSummary(
        name=served.name,
        dataset=card.get("dataset", "mnist"),
        default=default,
        batchnorm=served.model.cfg.batchnorm,
        test_accuracy=card.get("test_accuracy"),
        params=served.params,
        epochs=card.get("epochs"),
        steps=card.get("steps"),
        batch_size=card.get("batch_size"),
        max_lr=(card.get("optimizer") or {}).get("max_lr"),
        wall_time_seconds=card.get("wall_time_seconds"),
        diverged_at_step=card.get("diverged_at_step"),
        curve=card.get("curve") or [],
        history=card.get("history") or [],
    )


@router.get("/api/models", response_model=list[ModelSummary], summary="The served models")
def list_models(st: AppState) -> list[ModelSummary]:
    """Every served model with its model card's headline numbers and training curves (test accuracy every
    few hundred steps, and per epoch). Every model API takes `?model=<name>`."""
    registry = st.registry
    return [summary(served, name == registry.default) for name, served in registry.models.items()]


@router.get(
    "/api/model/card",
    response_model=ModelCard,
    responses=error_responses(404),
    summary="The model card: accuracy, confusion matrix, training curve",
)
def model_card(st: AppState, served: Served) -> ModelCard:
    """The model card written by training (test accuracy, per-class accuracy, confusion matrix (rows: true
    label), training history and curve, ...) with `misclassified`: every test digit the model gets wrong
    (from the card, else from the `convlens top` file)."""
    card = {"name": served.name, **served.card}
    if "misclassified" not in card:
        try:
            card["misclassified"] = top.load_for(served.model, st.settings.model_dir, served.name)["misclassified"]
        except KeyError:
            card["misclassified"] = []
    return ModelCard.model_validate(card)
