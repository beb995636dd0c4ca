"""Model insight (POST /api/receptive-field, /api/explain, /api/mix; GET /api/layers/{name}/channels/{c}/top)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from app.schemas.common import B64_DESCRIPTION, DType
from app.schemas.network import Kind


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
    dilation: int
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
    gradient: InsightMap = Field(
        description="|d unit / d input pixel| (H x W, the largest over the input's channels): the effective field"
    )
    steps: list[FieldStep] = Field(description="the recurrence from the input to this layer")


class ExplainResponse(BaseModel):
    method: Literal["saliency", "gradcam", "hirescam", "occlusion"]
    target: int = Field(description="the class explained (default: the predicted one)")
    predicted: int
    probability: float = Field(description="the target's probability for the unchanged image")
    probabilities: list[float]
    map: InsightMap
    description: str = Field(description="what the map's values are")
    layer: str | None = Field(default=None, description="gradcam, hirescam: the layer whose maps are weighted")
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
    box: Box | None = Field(description="that unit's receptive field on the image, inclusive, clipped (none: n/a)")


class TopResponse(BaseModel):
    layer: str
    channel: int
    examples: list[TopExample]


class MixLayer(BaseModel):
    name: str
    kind: str
    shape: list[int] = Field(description="[C_in, H, W] of its maps")


class MixLimits(BaseModel):
    """What POST /api/mix and GET /api/mix/bottleneck take."""

    max_outputs: int = Field(description="most rows (C_out) of the matrix")
    max_value: float = Field(description="largest |weight| or |bias|")
    max_channels: int = Field(description="bottleneck: largest C_in, C_mid, C_out")
    max_side: int = Field(description="bottleneck: largest H or W")
    max_kernel: int = Field(description="bottleneck: largest k")
    layers: list[MixLayer] = Field(description="the layers whose maps can be mixed")


class ConvCounts(BaseModel):
    c_in: int
    c_out: int
    kernel: int
    weights: int = Field(description="C_out * C_in * k * k")
    biases: int
    params: int
    madds: int = Field(description="C_out * C_in * k * k * H * W")


class BottleneckPath(BaseModel):
    layers: list[ConvCounts] = Field(description="the 1x1 layer C_in -> C_mid, then the k x k layer C_mid -> C_out")
    params: int
    madds: int


class BottleneckResponse(BaseModel):
    height: int
    width: int
    bottleneck: BottleneckPath
    direct: ConvCounts = Field(description="the k x k layer C_in -> C_out on its own")
    params_ratio: float = Field(description="direct / bottleneck parameters")
    madds_ratio: float = Field(description="direct / bottleneck multiply-adds")
