"""Types every part of the API shares: pixels, layer kinds, array encodings, errors, predictions."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field

Pixel = Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)]


DType = Literal["float32", "float16"]


B64_DESCRIPTION = "base64 of the little-endian, C-order array of `shape` and `dtype`"


class ErrorResponse(BaseModel):
    detail: str = Field(description="what was wrong, in words")
    errors: list[dict] | None = Field(default=None, description="per-field validation errors, when any")


class Health(BaseModel):
    status: Literal["ok"] = "ok"


class Prediction(BaseModel):
    label: int = Field(ge=0, description="the predicted class: an index into the model's `classes`")
    probabilities: list[float] = Field(min_length=2, description="one per class, in the order of `classes`")


class TensorData(BaseModel):
    name: str
    shape: list[int]
    dtype: DType
    data: str = Field(description=B64_DESCRIPTION)
