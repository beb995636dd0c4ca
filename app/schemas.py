"""The API's typed contract (pydantic). Field names here are the names clients rely on."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from app.labs.kernels import limits

Pixel = Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)]
Kind = Literal["input", "conv", "batchnorm", "relu", "maxpool", "linear", "softmax"]
DType = Literal["float32", "float16"]

B64_DESCRIPTION = "base64 of the little-endian, C-order array of `shape` and `dtype`"


class ErrorResponse(BaseModel):
    detail: str = Field(description="what was wrong, in words")
    errors: list[dict] | None = Field(default=None, description="per-field validation errors, when any")


class Health(BaseModel):
    status: Literal["ok"] = "ok"


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


class ModelInfo(BaseModel):
    model_config = ConfigDict(protected_namespaces=())

    name: str
    dataset: str
    classes: list[str]
    input_shape: list[int]
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


class Prediction(BaseModel):
    label: int = Field(ge=0, le=9)
    probabilities: list[float] = Field(min_length=10, max_length=10)


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


class TensorData(BaseModel):
    name: str
    shape: list[int]
    dtype: DType
    data: str = Field(description=B64_DESCRIPTION)


class WeightsResponse(BaseModel):
    name: str
    kind: Kind
    tensors: list[TensorData]
    eps: float | None = Field(default=None, description="batchnorm only: added to the variance")


class Sample(BaseModel):
    id: int = Field(description="index in the MNIST test set")
    label: int
    predicted: int


# --- Kernel lab (POST /api/convolve, POST /api/pool, GET /api/kernels/presets) ------------------------
# The limits live in app/labs/kernels/limits.py; the core re-checks everything, these models give clear
# 422s early.

KernelValue = Annotated[float, Field(strict=True, allow_inf_nan=False, ge=-limits.MAX_VALUE, le=limits.MAX_VALUE)]
Color = Literal["gray", "rgb"]
COLOR_DESCRIPTION = (
    'gray: one channel, Pillow\'s "L" (0.299 R + 0.587 G + 0.114 B); rgb: three channels, each filtered on'
    " its own. Pixels are scaled to [0, 1]; transparent pixels are composited over white first."
)


class ConvolveSpec(BaseModel):
    """The `spec` form field of POST /api/convolve (a JSON string)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "kernels": [[[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], [[-1, -2, -1], [0, 0, 0], [1, 2, 1]]],
                    "padding": "same",
                    "combine": "magnitude",
                }
            ]
        },
    )

    kernels: list[list[list[KernelValue]]] = Field(
        min_length=1,
        max_length=limits.MAX_KERNELS,
        description=f"1 to {limits.MAX_KERNELS} square k x k matrices (1 <= k <= {limits.MAX_KERNEL}), all of"
        f" the same size, finite values within +-{limits.MAX_VALUE:g}",
    )
    mode: Literal["cross-correlation", "convolution"] = Field(
        default="cross-correlation",
        description="cross-correlation slides the kernel as written (deep learning's 'convolution');"
        " convolution flips it in both axes first (mathematics, scipy.signal.convolve2d)",
    )
    padding: Literal["valid", "same"] | Annotated[int, Field(strict=True, ge=0, le=limits.MAX_PADDING)] = Field(
        default="valid",
        description=f'"valid": none; an integer 0..{limits.MAX_PADDING}: that many pixels on every side;'
        ' "same": the output is ceil(size / stride) long on each axis (the rule is in POST /api/convolve\'s'
        " description; each answer's `arithmetic` gives the split)",
    )
    padding_mode: Literal["zeros", "reflect", "replicate", "circular"] = Field(
        default="zeros",
        description="what the padding holds: zeros; reflect (mirror without repeating the edge, needs padding"
        " smaller than the image); replicate (repeat the edge pixel); circular (wrap around, padding at most"
        " the image size)",
    )
    stride: int = Field(default=1, strict=True, ge=1, le=limits.MAX_STRIDE, description="step between windows")
    color: Color = Field(default="gray", description=COLOR_DESCRIPTION)
    combine: Literal["none", "magnitude", "sum"] = Field(
        default="none",
        description="also return the outputs combined: magnitude = sqrt of the sum of squares (Sobel x and y ->"
        " edge strength), sum = their sum; none = no combined output",
    )

    @field_validator("padding", mode="before")
    @classmethod
    def _padding(cls, value: object) -> object:
        if value in ("valid", "same"):
            return value
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= limits.MAX_PADDING:
            raise ValueError(f'must be "valid", "same" or an integer 0..{limits.MAX_PADDING}, not {value!r}')
        return value

    @field_validator("kernels")
    @classmethod
    def _square(cls, value: list[list[list[float]]]) -> list[list[list[float]]]:
        limits.as_kernels(value)
        return value


class PoolSpec(BaseModel):
    """The `spec` form field of POST /api/pool (a JSON string; every field has a default)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"op": "max", "size": 2}]})

    op: Literal["max", "avg"] = Field(
        default="max", description="max: the largest value in each window; avg: the mean (padding counts as 0)"
    )
    size: int = Field(default=2, strict=True, ge=1, le=limits.MAX_POOL, description="window side")
    stride: int | None = Field(
        default=None, strict=True, ge=1, le=limits.MAX_STRIDE, description="step between windows (default: size)"
    )
    padding: int = Field(
        default=0,
        strict=True,
        ge=0,
        description="pixels on every side, at most size // 2 (PyTorch's rule); max pooling ignores them",
    )
    color: Color = Field(default="gray", description=COLOR_DESCRIPTION)

    @field_validator("padding")
    @classmethod
    def _half_window(cls, value: int, info: ValidationInfo) -> int:
        size = info.data.get("size")
        if size is not None and value > size // 2:
            raise ValueError(f"must be at most size // 2 = {size // 2} (half the {size}x{size} window), not {value}")
        return value


class AxisArithmetic(BaseModel):
    """The output-size arithmetic along one axis, with the numbers filled in."""

    input: int = Field(description="W: input pixels along this axis")
    kernel: int = Field(description="K: kernel (or pooling window) side")
    stride: int = Field(description="S")
    pad_before: int = Field(description="padding before: top (height) or left (width)")
    pad_after: int = Field(description="padding after: bottom (height) or right (width)")
    padding_rule: str = Field(description="how the padding was chosen, in words")
    formula: str = Field(description="the formula, e.g. (W - K + 2P) / S + 1")
    expression: str = Field(description="the formula with the numbers, floor() shown when it is not whole")
    quotient: float = Field(description="(W - K + P_before + P_after) / S, before rounding down")
    whole: bool = Field(description="whether the quotient is a whole number")
    output: int = Field(description="output pixels along this axis: floor(quotient) + 1")
    remainder: int = Field(description="padded rows/columns after the last window, never looked at")
    uncovered: list[list[int]] = Field(
        description="[first, last] (inclusive) ranges of input rows/columns no window touches: the tail left by"
        " the floor, and the gaps when the stride is larger than the kernel"
    )
    uncovered_count: int
    note: str = Field(description="what the arithmetic means here, in words")


class Arithmetic(BaseModel):
    height: AxisArithmetic
    width: AxisArithmetic


class PngScale(BaseModel):
    """How `png` grey levels map to values: linear, `low` -> 0 and `high` -> 255, clipped."""

    mode: Literal["symmetric", "minmax"] = Field(
        description="symmetric (outputs with negative values): low = -max|value|, high = +max|value|, so 0 is"
        " mid-grey; minmax (no negative values): low = min, high = max. A constant output is all 0."
    )
    low: float
    high: float


class KernelOutput(BaseModel):
    shape: list[int] = Field(description="[C, H', W']")
    dtype: DType
    data: str | None = Field(description=B64_DESCRIPTION + "; null when `include` leaves out data")
    min: float
    max: float
    png: str | None = Field(
        description="base64 PNG for display (grey for one channel, RGB for three, all channels on one scale,"
        " see `png_scale`); null when `include` leaves out png"
    )
    png_scale: PngScale


class PaddedInput(BaseModel):
    """The image as the kernels saw it: scaled to [0, 1], converted per `color` and padded per
    `padding`/`padding_mode`. Output pixel (y, x) is the sum of `applied_kernels[i]` times the window whose
    top-left corner is (y*S, x*S) here."""

    shape: list[int] = Field(description="[C, H + pad_before + pad_after, W + pad_before + pad_after]")
    dtype: DType
    data: str = Field(description=B64_DESCRIPTION + "; max pooling pads with -inf")
    pad: list[int] = Field(description="[top, bottom, left, right]")


class KernelLabResult(BaseModel):
    input_shape: list[int] = Field(description="[C, H, W] of the image after `color` conversion")
    output_shape: list[int] = Field(description="[C, H', W'] of every output")
    arithmetic: Arithmetic
    outputs: list[KernelOutput] = Field(description="one per kernel (pooling: one)")
    combined: KernelOutput | None = Field(description="the outputs combined per `combine`; null for none")
    padded_input: PaddedInput | None = Field(default=None, description="only with include=padded")


class ConvolveResponse(KernelLabResult):
    applied_kernels: list[list[list[float]]] = Field(
        description="the weights actually slid over the image: each kernel as sent for cross-correlation,"
        " flipped in both axes for convolution"
    )


class PoolResponse(KernelLabResult):
    pass


class KernelPreset(BaseModel):
    name: str
    kernel: list[list[float]]
    description: str


class PresetsResponse(BaseModel):
    presets: list[KernelPreset]


# --- Model insight (POST /api/receptive-field, /api/explain, /api/mix; GET .../channels/{c}/top, /api/model/card)


class Box(BaseModel):
    """Inclusive input-pixel bounds."""

    y0: int
    x0: int
    y1: int
    x1: int


class InsightMap(BaseModel):
    shape: list[int] = Field(description="[H, W] (a map) or [C, H, W] (a stack of maps)")
    dtype: DType
    data: str = Field(description=B64_DESCRIPTION)
    min: float
    max: float


class FieldStep(BaseModel):
    """One layer of the receptive-field recurrence: size += (kernel - 1) * jump, start += ((kernel - 1) / 2 -
    padding) * jump, jump *= stride (jump and start before the layer on the right-hand sides)."""

    layer: str
    kind: Kind
    kernel: int
    stride: int
    padding: int
    size: int
    jump: int
    start: float


class ReceptiveFieldResponse(BaseModel):
    layer: str
    channel: int
    y: int
    x: int
    size: int = Field(description="side of the square of input pixels the unit can see")
    jump: int = Field(description="input pixels between neighbouring units of the layer")
    start: float = Field(description="input coordinate of the centre of unit (0, 0)")
    center: list[float] = Field(description="[y, x]: input coordinates of this unit's centre")
    box: Box = Field(description="the unit's field, inclusive, clipped to the image")
    unclipped: Box = Field(description="the same before clipping: beyond the image edges lies padding")
    activation: float = Field(description="the unit's value for this image")
    gradient: InsightMap = Field(description="|d unit / d input pixel| (28x28): the effective receptive field")
    steps: list[FieldStep] = Field(description="the recurrence from the input to this layer")


class ExplainResponse(BaseModel):
    method: Literal["saliency", "gradcam", "occlusion"]
    target: int = Field(description="the class explained (default: the predicted one)")
    predicted: int
    probability: float = Field(description="the target's probability for the unchanged image")
    probabilities: list[float]
    map: InsightMap
    description: str = Field(description="what the map's values are")
    layer: str | None = Field(default=None, description="gradcam: the layer whose maps are weighted")
    patch: int | None = Field(default=None, description="occlusion: side of the square patch")
    stride: int | None = Field(default=None, description="occlusion: step between patch positions")


class MixCounts(BaseModel):
    kernel: int = Field(description="side k of the k x k layer compared with")
    params_1x1: int = Field(description="C_out * C_in weights + C_out biases")
    madds_1x1: int = Field(description="C_out * C_in * H * W")
    params_kxk: int = Field(description="C_out * C_in * k * k weights + C_out biases")
    madds_kxk: int = Field(description="C_out * C_in * k * k * H * W")


class MixResponse(BaseModel):
    layer: str
    input_shape: list[int] = Field(description="[C_in, H, W]: the layer's maps for this image")
    matrix_shape: list[int] = Field(description="[C_out, C_in]")
    output: InsightMap = Field(description="[C_out, H, W]: out[o] = bias[o] + sum_c matrix[o][c] * maps[c]")
    counts: MixCounts


class TopExample(BaseModel):
    index: int = Field(description="MNIST test-set index (GET /api/samples/{index}.png)")
    label: int
    activation: float = Field(description="the channel's largest value for this image")
    y: int = Field(description="row of the unit that reached it")
    x: int = Field(description="column of the unit that reached it")
    box: Box = Field(description="that unit's receptive field on the image, inclusive, clipped")


class TopResponse(BaseModel):
    layer: str
    channel: int
    examples: list[TopExample]


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


# --- BatchNorm lab (GET /api/models, POST /api/batchnorm, GET /api/batchnorm/fold, .../high-lr) ------


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


class BatchNormLayerStats(BaseModel):
    name: str
    channels: int
    values_per_channel: int = Field(description="n: the values each channel's statistics are taken over (N x H x W)")
    batch_mean: list[float] = Field(description="per channel, over the batch (train mode)")
    batch_var: list[float] = Field(
        description="per channel, biased (divided by n): the variance train mode normalises with"
    )
    running_mean: list[float] = Field(description="per channel, the served model's (eval mode)")
    running_var: list[float]
    zero_variance_channels: int = Field(description="channels whose batch variance is exactly 0")


class BatchNormLabResponse(BaseModel):
    model_config = ConfigDict(protected_namespaces=())

    model: str
    batch_size: int = Field(description="images in the train-mode batch, the inspected one included")
    source: Literal["samples", "files"]
    sample_ids: list[int] | None = Field(description="the test digits of the batch (after `file`, if sent)")
    sample_labels: list[int] | None = Field(description="their true labels")
    inspected: int = Field(description="index in the batch of the image classified below")
    inspected_source: Literal["file", "batch"]
    layers: list[BatchNormLayerStats]
    eval: Prediction = Field(description="the inspected image with the running statistics (the served model)")
    train: Prediction = Field(description="the inspected image in train mode: normalised with the batch's statistics")
    one_value_layers: list[str] = Field(
        description="layers that see one value per channel (bn3 in a batch of one): PyTorch refuses them in train"
        " mode; the lab evaluates the formula (the output is beta)"
    )
    notes: list[str] = Field(description="what is special about this batch, in words")


class FoldChannels(BaseModel):
    """Per output channel c: the numbers of the folding formula."""

    gamma: list[float]
    beta: list[float]
    running_mean: list[float]
    running_var: list[float]
    scale: list[float] = Field(description="s = gamma / sqrt(running_var + eps)")
    bias: list[float] = Field(description="b: the layer's own bias")
    folded_bias: list[float] = Field(description="b' = s * (b - running_mean) + beta")
    weight: list[float] = Field(description="one weight per channel, W[c, 0, k//2, k//2] (conv) or W[c, 0] (linear)")
    folded_weight: list[float] = Field(description="the same weight folded: s * W")


class FoldedPair(BaseModel):
    layer: str
    batchnorm: str
    kind: Literal["conv", "linear"]
    eps: float
    weight_index: str = Field(description="which weight `channels.weight` shows, e.g. W[c, 0, 2, 2]")
    channels: FoldChannels
    folded: list[TensorData] | None = Field(
        description="`weight` and `bias` of the folded layer (base64); null with weights=false"
    )


class FoldResponse(BaseModel):
    model_config = ConfigDict(protected_namespaces=())

    model: str
    pairs: list[FoldedPair]
    images: int = Field(description="test images compared (all of the committed test set)")
    max_abs_logit_diff: float = Field(description="largest |folded - unfolded| logit over every image and class")
    predictions_changed: int = Field(description="images whose predicted digit differs")
    unfolded_ms: float = Field(description="forward time of the network as trained, summed over every batch")
    folded_ms: float
    time_ratio: float = Field(description="folded_ms / unfolded_ms, measured in the same run")
    batch_size: int = Field(description="images per forward pass in that run")
    threads: int = Field(description="torch threads during that run")


class HighLrRun(BaseModel):
    name: str
    batchnorm: bool
    test_accuracy: float
    diverged_at_step: int | None
    wall_time_seconds: float | None = None
    curve: list[CurvePoint]
    history: list[EpochRecord]


class HighLrExperiment(BaseModel):
    """Both networks trained at a high peak learning rate for a few epochs (models/high_lr.json)."""

    description: str
    max_lr: float
    epochs: int
    eval_every: int
    commands: list[str]
    runs: list[HighLrRun]
