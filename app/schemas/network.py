"""The network's API: the architecture (GET /api/model), the served models and their cards (GET /api/models,
GET /api/model/card), a layer's weights, activations for one image, and the sample gallery."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.nets.graph import ACTIVATION_KINDS
from app.schemas.common import B64_DESCRIPTION, DType, Pixel, Prediction, TensorData

MAX_SIDE = 512  # rows or columns of a drawing sent as JSON (the network's input is checked after)
CLASS_NAMES_DESCRIPTION = (
    "the class names in other languages, from the model card: language code (`zh-CN`) -> one name per class, "
    "in the order of `classes`; a language missing here shows `classes` (an imported model has none)"
)
KINDS = sorted(
    {"input", "conv", "batchnorm", "maxpool", "avgpool", "linear", "flatten", "add", "mul", "concat", "dropout"}
    | {"identity", "softmax", "other"}
    | ACTIVATION_KINDS
)
Kind = Annotated[
    str,
    Field(
        description="what the layer does, read from its module or function: " + ", ".join(KINDS),
        json_schema_extra={"enum": KINDS},
    ),
]


class ReceptiveField(BaseModel):
    size: int = Field(description="side of the square of input pixels one unit can see (rows, if not square)")
    jump: int = Field(description="input pixels between neighbouring units")
    start: float = Field(description="input coordinate of the centre of unit (0, 0)")
    rows: list[float] = Field(description="[size, jump, start] along the rows")
    cols: list[float] = Field(description="[size, jump, start] along the columns")


class LayerInfo(BaseModel):
    name: str = Field(description="the module path (conv1, features.0) or, for a function call, its node (add)")
    kind: Kind
    inputs: list[str] = Field(description="the layers whose outputs this layer takes")
    output_shape: list[int]
    params: int
    kernel_size: int | None = Field(default=None, description="the window's side (rows, if not square)")
    stride: int | None = None
    padding: int | None = None
    dilation: int | None = None
    groups: int | None = None
    window: list[list[int]] | None = Field(
        default=None, description="[[kernel], [stride], [padding], [dilation]], each [rows, columns]"
    )
    receptive_field: ReceptiveField | None = None
    receptive_field_note: str | None = Field(
        default=None, description="why a stack of maps has no receptive field box (n/a), when it has none"
    )


class InputInfo(BaseModel):
    shape: list[int] = Field(description="C x H x W")
    preprocess: str = Field(description="what uploads go through by default: digit (MNIST-like) or resize")


class Normalization(BaseModel):
    """The network's first step: every input channel c becomes (pixel - mean[c]) / std[c], pixels in [0, 1].
    Zero padding (conv1's) comes after it, so the padding is 0 while a blank background is -mean / std."""

    mean: list[float] = Field(description="one per input channel")
    std: list[float] = Field(description="one per input channel")


class ModelInfo(BaseModel):
    model_config = ConfigDict(protected_namespaces=())

    name: str
    dataset: str | None
    classes: list[str]
    class_names: dict[str, list[str]] = Field(default_factory=dict, description=CLASS_NAMES_DESCRIPTION)
    input_shape: list[int]
    input: InputInfo
    normalization: Normalization
    test_accuracy: float | None
    params: int
    output: str = Field(description="the layer that gives the class scores")
    layers: list[LayerInfo]


Row = Annotated[list[Pixel], Field(min_length=1, max_length=MAX_SIDE)]


class PixelsRequest(BaseModel):
    """A drawing in the network's input size: H rows of W values in [0, 1] (the LeNet: 28 x 28, ink high, a
    white digit on black), or C x H x W for a colour network."""

    pixels: (
        Annotated[list[Row], Field(min_length=1, max_length=MAX_SIDE)]
        | Annotated[
            list[Annotated[list[Row], Field(min_length=1, max_length=MAX_SIDE)]], Field(min_length=1, max_length=4)
        ]
    )
    conv1_override: dict | None = Field(
        default=None,
        description='optional `{"channel": c, "kernel": k x k (k <= 5), "bias": b}`: conv1 filter c replaced'
        " for this request only",
    )

    model_config = ConfigDict(json_schema_extra={"examples": [{"pixels": [[0.0] * 28] * 28}]})

    @field_validator("pixels")
    @classmethod
    def _rectangular(cls, pixels: list) -> list:
        """Every row as long as the first (and, for C x H x W, every plane as tall), naming the first that is not."""
        colour = isinstance(pixels[0][0], list)
        planes = pixels if colour else [pixels]
        height, width = len(planes[0]), len(planes[0][0])
        for c, plane in enumerate(planes):
            where = f"pixels[{c}]" if colour else "pixels"
            if len(plane) != height:
                raise ValueError(f"{where}: expected {height} rows like pixels[0], not {len(plane)}")
            for i, row in enumerate(plane):
                if len(row) != width:
                    raise ValueError(f"{where}[{i}]: expected {width} values like the first row, not {len(row)}")
        return pixels


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
    id: int = Field(description="index in the model's test set")
    label: int
    predicted: int
    label_name: str = Field(description="the class name of the label")


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
    dataset: str | None
    classes: list[str]
    class_names: dict[str, list[str]] = Field(default_factory=dict, description=CLASS_NAMES_DESCRIPTION)
    input_shape: list[int]
    default: bool = Field(description="the model used when a request names none")
    batchnorm: bool = Field(description="the network has BatchNorm layers")
    timeline: bool = Field(description="checkpoints recorded during training are served (GET /api/training)")
    samples: bool = Field(description="its test set is served (GET /api/samples)")
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
