"""The kernel lab (POST /api/convolve, POST /api/pool, GET /api/kernels/presets).

The limits live in app/labs/kernels/limits.py; the core re-checks everything, these models give clear 422s
early."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from app.labs.kernels import limits
from app.schemas.common import B64_DESCRIPTION, DType

KernelValue = Annotated[float, Field(strict=True, allow_inf_nan=False, ge=-limits.MAX_VALUE, le=limits.MAX_VALUE)]


Color = Literal["gray", "rgb"]
Rounding = Literal["floor", "ceil"]
ROUNDING_DESCRIPTION = (
    "when (W - K + 2P) / S is not whole: floor (the default) stops before the end of the padded input and"
    " never looks at its last rows/columns; ceil takes one more window, which overhangs the end (PyTorch's"
    " ceil_mode; a window that would start in the padding after the input is still not taken)"
)


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
    rounding: Rounding = Field(
        default="floor", description=ROUNDING_DESCRIPTION + "; the overhanging part of a window covers zeros"
    )
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
            raise ValueError(f'must be "valid", "same" or a whole number from 0 to {limits.MAX_PADDING}, not {value!r}')
        return value

    @field_validator("kernels")
    @classmethod
    def _square(cls, value: list[list[list[float]]]) -> list[list[list[float]]]:
        limits.as_kernels(value)
        return value


class ImageSource(BaseModel):
    """Pool the image itself."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["image"] = "image"


class KernelSource(BaseModel):
    """Pool a feature map: one kernel slid over the image first (stride 1), e.g. Sobel x."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["kernel"]
    kernel: list[list[KernelValue]] = Field(description=f"a k x k matrix, 1 <= k <= {limits.MAX_KERNEL}")
    mode: Literal["cross-correlation", "convolution"] = "cross-correlation"
    padding: Literal["valid", "same"] | Annotated[int, Field(strict=True, ge=0, le=limits.MAX_PADDING)] = "same"
    padding_mode: Literal["zeros", "reflect", "replicate", "circular"] = "zeros"
    relu: bool = Field(default=False, description="keep only the positive values (max(0, v)), as a ReLU does")

    @field_validator("kernel")
    @classmethod
    def _square(cls, value: list[list[float]]) -> list[list[float]]:
        limits.as_kernel(value, "kernel")
        return value


class LayerSource(BaseModel):
    """Pool one channel of a spatial layer of the served network (``?model=``) for this image, fed to the
    network as POST /api/activations would (``?preprocess=``)."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["layer"]
    layer: str = Field(default="relu1", description="a spatial layer, e.g. conv1 or relu1")
    channel: int = Field(default=0, strict=True, ge=0, description="its channel")


PoolSource = Annotated[ImageSource | KernelSource | LayerSource, Field(discriminator="kind")]


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
    rounding: Rounding = Field(default="floor", description=ROUNDING_DESCRIPTION)
    source: PoolSource = Field(
        default_factory=ImageSource,
        description='what is pooled: {"kind": "image"} (default), {"kind": "kernel", "kernel": k x k, ...} (a'
        ' feature map: the kernel slid over the image first) or {"kind": "layer", "layer": "relu1", "channel": c}'
        " (a map of the served network for this image)",
    )

    @field_validator("padding")
    @classmethod
    def _half_window(cls, value: int, info: ValidationInfo) -> int:
        size = info.data.get("size")
        if size is not None and value > limits.max_pool_padding(size):
            most = limits.max_pool_padding(size)
            raise ValueError(f"must be at most half the window size, {size} // 2 = {most}, not {value}")
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
    output: int = Field(description="output pixels along this axis: floor(quotient) + 1 (or ceil, per rounding)")
    rounding: Rounding = Field(description="how a quotient that is not whole was rounded")
    output_floor: int = Field(description="the output with rounding floor")
    output_ceil: int = Field(description="the output with rounding ceil")
    remainder: int = Field(description="padded rows/columns after the last window, never looked at")
    overhang: int = Field(description="rows/columns the last window reaches past the padded input (ceil only)")
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

    shape: list[int] = Field(
        description="[C, H + pad_before + pad_after (+ overhang), W + pad_before + pad_after (+ overhang)]"
    )
    dtype: DType
    data: str = Field(
        description=B64_DESCRIPTION + "; max pooling pads with -inf; where the last windows overhang (rounding"
        " ceil): zeros for a kernel, NaN for pooling (left out)"
    )
    pad: list[int] = Field(description="[top, bottom, left, right]")
    overhang: list[int] = Field(default=[0, 0], description="[bottom, right]: rows/columns added for rounding ceil")


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


class PooledSource(BaseModel):
    kind: Literal["image", "kernel", "layer"]
    description: str = Field(description="what was pooled, in words")
    shape: list[int] = Field(description="[C, H, W] of what was pooled")


class PoolResponse(KernelLabResult):
    source: PooledSource


class KernelPreset(BaseModel):
    name: str
    kernel: list[list[float]]
    description: str


class PresetsResponse(BaseModel):
    presets: list[KernelPreset]


class LabLimits(BaseModel):
    """Every limit POST /api/convolve and POST /api/pool check; the kernel lab's page checks the same."""

    max_kernel: int = Field(description="largest kernel side")
    max_kernels: int = Field(description="kernels per request")
    max_value: float = Field(description="largest |kernel value|")
    max_padding: int = Field(description="largest explicit padding per side (convolve)")
    max_stride: int
    max_pool: int = Field(description="largest pooling window side")
    pool_padding: str = Field(description="the pooling padding rule: at most size // 2")
    max_pool_padding: list[int] = Field(description="the largest pooling padding for each window size (the index)")
    max_output_values: int = Field(description="values in one answer (outputs x channels x height x width)")
    modes: list[str]
    padding_modes: list[str]
    combines: list[str]
    colors: list[str]
    pool_ops: list[str]
    roundings: list[str]
