"""The conv-layer lab (POST /api/conv-layer, GET /api/conv-layer/options)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from app.schemas.common import B64_DESCRIPTION, DType
from app.schemas.kernels import Arithmetic


class LayerTensor(BaseModel):
    shape: list[int]
    dtype: DType
    data: str = Field(description=B64_DESCRIPTION)
    min: float
    max: float


class LayerShapes(BaseModel):
    input: list[int] = Field(description="[N, Cin, H, W]: the batch, 4-D")
    weight: list[int] = Field(description="[Cout, Cin, K, K]: the filter bank, 4-D (every filter as deep as the input)")
    bias: list[int] = Field(description="[Cout]")
    output: list[int] = Field(description="[N, Cout, H', W']: one 3-D output per image, 4-D for the batch")


class LayerImage(BaseModel):
    name: str = Field(description="the photo's id or the file's name")
    width: int = Field(description="after resizing")
    height: int
    original: list[int] = Field(description="[width, height] before resizing")


class UnitSum(BaseModel):
    """How one output number is made: patch times weights, summed over channels, rows and columns, plus bias."""

    n: int
    c: int
    y: int
    x: int
    top: int = Field(description="the patch's first row in the input (negative: it starts in the padding)")
    left: int = Field(description="the patch's first column in the input")
    patch: list[list[list[float]]] = Field(description="Cin x K x K: the padded input under the filter")
    weights: list[list[list[float]]] = Field(description="Cin x K x K: filter c")
    products: list[list[list[float]]] = Field(description="Cin x K x K: patch times weights")
    channel_sums: list[float] = Field(description="the sum of the products of each input channel")
    sum: float = Field(description="the sum over all channels (float64)")
    bias: float
    value: float = Field(description="sum + bias, in float64")
    output: float = Field(description="the layer's output at (n, c, y, x), as computed by conv2d (float32)")


class ConvLayerResponse(BaseModel):
    images: list[LayerImage]
    shapes: LayerShapes
    explanation: str = Field(description="the shapes in words")
    arithmetic: Arithmetic
    input: LayerTensor = Field(description="[N, Cin, H, W], pixels in [0, 1]")
    output: LayerTensor = Field(description="[N, Cout, H', W']")
    unit: UnitSum | None = Field(description="the output unit asked for with `unit=n,c,y,x`; null without")


class ConvLayerLimits(BaseModel):
    max_filters: int = Field(description="Cout")
    max_kernel: int = Field(description="K")
    max_batch: int = Field(description="N")
    default_size: int = Field(description="the input's longer side when `size` is not given")
    min_size: int
    max_size: int
    max_padding: int
    max_stride: int
    max_value: float


class BundledPhoto(BaseModel):
    id: str
    title: str
    credit: str
    license: str
    url: str


class ConvLayerOptions(BaseModel):
    limits: ConvLayerLimits
    photos: list[BundledPhoto]
