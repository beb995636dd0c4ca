"""The models: GET /api/model (the architecture, layer by layer, with receptive fields), GET /api/models
(every served model) and GET /api/model/card (one model's card)."""

from __future__ import annotations

from fastapi import APIRouter

from app.nets.graph import Layer
from app.nets.receptive import Field, NoField
from app.routes.deps import AppState, Served
from app.schemas.network import InputInfo, LayerInfo, ModelCard, ModelInfo, ModelSummary, Normalization, ReceptiveField
from app.serving.errors import error_responses
from app.serving.inference import ServedModel

router = APIRouter(tags=["network"])


def _side(pair: tuple[int, int] | None) -> int | None:
    return None if pair is None else pair[0]


def layer_info(served: ServedModel, layer: Layer) -> LayerInfo:
    field = served.model.fields.get(layer.name)
    w = layer.window
    return LayerInfo(
        name=layer.name,
        kind=layer.kind,
        inputs=list(layer.inputs),
        output_shape=list(layer.shape),
        params=layer.params,
        kernel_size=_side(w.kernel if w else None),
        stride=_side(w.stride if w else None),
        padding=_side(w.padding if w else None),
        dilation=_side(w.dilation if w else None),
        groups=w.groups if w and layer.kind == "conv" else None,
        window=[list(w.kernel), list(w.stride), list(w.padding), list(w.dilation)] if w else None,
        receptive_field=ReceptiveField(
            size=field.size,
            jump=field.jump,
            start=field.start,
            rows=[field.rows.size, field.rows.jump, field.rows.start],
            cols=[field.cols.size, field.cols.jump, field.cols.start],
        )
        if isinstance(field, Field)
        else None,
        receptive_field_note=field.reason if isinstance(field, NoField) else None,
    )


def class_names(served: ServedModel) -> dict[str, list[str]]:
    """The card's translated class names (``"class_names": {"zh-CN": [...]}``), only the languages that name
    every class, one name each (a card written by hand may be wrong: its classes show as they are)."""
    given = served.card.get("class_names")
    if not isinstance(given, dict):
        return {}
    count = len(served.model.classes)
    return {
        str(lang): [str(n) for n in names]
        for lang, names in given.items()
        if isinstance(names, list) and len(names) == count and all(isinstance(n, str) and n.strip() for n in names)
    }


def input_info(served: ServedModel) -> InputInfo:
    spec = served.model.input
    return InputInfo(
        shape=list(spec.shape),
        preprocess=served.card.get("preprocess", "digit"),
    )


def model_info(served: ServedModel) -> ModelInfo:
    return ModelInfo(
        name=served.name,
        dataset=served.card.get("dataset"),
        classes=served.model.classes,
        class_names=class_names(served),
        input_shape=list(served.input_shape),
        input=input_info(served),
        normalization=Normalization(mean=list(served.model.input.mean), std=list(served.model.input.std)),
        test_accuracy=served.card.get("test_accuracy"),
        params=served.params,
        output=served.model.output,
        layers=[layer_info(served, layer) for layer in served.model.layers],
    )


@router.get("/api/model", response_model=ModelInfo, responses=error_responses(404), summary="The architecture")
def get_model(served: Served) -> ModelInfo:
    return model_info(served)


def summary(served: ServedModel, default: bool) -> ModelSummary:
    card = served.card
    return ModelSummary(
        name=served.name,
        dataset=card.get("dataset"),
        classes=served.model.classes,
        class_names=class_names(served),
        input_shape=list(served.input_shape),
        default=default,
        batchnorm=bool(served.model.of_kind("batchnorm")),
        timeline=served.timeline is not None,
        samples=served.samples is not None,
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
def model_card(served: Served) -> ModelCard:
    """The model card written by training (test accuracy, per-class accuracy, confusion matrix (rows: true
    label), training history and curve, ...) with `misclassified`: every test digit the model gets wrong
    (from the card, else from the `convlens top` file)."""
    card = {"name": served.name, **served.card}
    if "misclassified" not in card:
        try:
            found = served.top_file()
            card["misclassified"] = found["misclassified"]
        except KeyError:
            card["misclassified"] = []
    return ModelCard.model_validate(card)
