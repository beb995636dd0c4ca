"""The API's typed contract (pydantic). Field names here are the names clients rely on."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

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
