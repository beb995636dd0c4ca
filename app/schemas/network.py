"""The network's API: the architecture (GET /api/model), the served models and their cards (GET /api/models,
GET /api/model/card), a layer's weights, activations for one image, and the sample gallery."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from app.nets.lenet import Kind
from app.schemas.common import B64_DESCRIPTION, DType, Pixel, Prediction, TensorData


class ReceptiveField(BaseModel):
    size: int = Field(description="side of the square of input pixels one unit can see")
    jump: int = Field(description="input pixels between neighbouring units")
    start: float = Field(description="input coordinate of the centre of unit (0, 0)")


class LayerInfo(BaseModel):
    name: str
    kind: Kind
    output_shape: list[int]
    params: int
    kernel_size: int | None = None
    stride: int | None = None
    padding: int | None = None
    receptive_field: ReceptiveField | None = None


class Normalization(BaseModel):
    """The network's first step: every input channel c becomes (pixel - mean[c]) / std[c], pixels in [0, 1].
    Zero padding (conv1's) comes after it, so the padding is 0 while a blank background is -mean / std."""

    mean: list[float] = Field(description="one per input channel")
    std: list[float] = Field(description="one per input channel")


class ModelInfo(BaseModel):
    model_config = ConfigDict(protected_namespaces=())

    name: str
    dataset: str
    classes: list[str]
    input_shape: list[int]
    normalization: Normalization
    test_accuracy: float | None
    params: int
    layers: list[LayerInfo]


class PixelsRequest(BaseModel):
    """A drawn digit: 28 rows of 28 values in [0, 1], ink high (white digit on black)."""

    pixels: Annotated[
        list[Annotated[list[Pixel], Field(min_length=28, max_length=28)]], Field(min_length=28, max_length=28)
    ]
    conv1_override: dict | None = Field(
        default=None,
        description='optional `{"channel": c, "kernel": k x k (k <= 5), "bias": b}`: conv1 filter c replaced'
        " for this request only",
    )

    model_config = ConfigDict(json_schema_extra={"examples": [{"pixels": [[0.0] * 28] * 28}]})


class LayerActivation(BaseModel):
    name: str
    kind: Kind
    shape: list[int]
    dtype: DType
    min: float
    max: float
    mean: float
    data: str = Field(description=B64_DESCRIPTION)


class ActivationsResponse(BaseModel):
    prediction: Prediction
    layers: list[LayerActivation]


class WeightsResponse(BaseModel):
    name: str
    kind: Kind
    tensors: list[TensorData]
    eps: float | None = Field(default=None, description="batchnorm only: added to the variance")


class Sample(BaseModel):
    id: int = Field(description="index in the MNIST test set")
    label: int
    predicted: int


class Misclassified(BaseModel):
    index: int
    label: int
    predicted: int


class ModelCard(BaseModel):
    model_config = ConfigDict(protected_namespaces=(), extra="allow")

    name: str
    test_accuracy: float | None = None
    test_images: int | None = None
    per_class_accuracy: list[float] | None = None
    confusion_matrix: list[list[int]] | None = Field(default=None, description="rows: true label, columns: predicted")
    misclassified: list[Misclassified] = Field(
        default_factory=list, description="every test digit the model gets wrong (from the card or `convlens top`)"
    )
    history: list[dict] | None = Field(default=None, description="per epoch: train loss/accuracy, test accuracy")
    curve: list[dict] | None = Field(default=None, description="test accuracy every few hundred steps")


class CurvePoint(BaseModel):
    step: int
    epoch: float
    test_accuracy: float


class EpochRecord(BaseModel):
    epoch: int
    train_loss: float | None = Field(description="null when the loss diverged before any step of the epoch")
    train_accuracy: float | None
    test_accuracy: float


class ModelSummary(BaseModel):
    """One served model, from its checkpoint and its model card."""

    model_config = ConfigDict(protected_namespaces=())

    name: str
    dataset: str
    default: bool = Field(description="the model used when a request names none")
    batchnorm: bool
    test_accuracy: float | None
    params: int
    epochs: int | None = None
    steps: int | None = None
    batch_size: int | None = None
    max_lr: float | None = Field(default=None, description="peak learning rate of the one-cycle schedule")
    wall_time_seconds: float | None = None
    diverged_at_step: int | None = Field(default=None, description="the step whose loss was NaN/inf, if any")
    curve: list[CurvePoint] = Field(default_factory=list, description="test accuracy every few hundred steps")
    history: list[EpochRecord] = Field(default_factory=list, description="per epoch")
