"""Shift or rotate the input and watch every layer (POST /api/perturb)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from app.schemas.common import B64_DESCRIPTION, DType


class LayerChange(BaseModel):
    name: str
    kind: str = Field(description="the layer's kind (conv, maxpool, ...)")
    shape: list[int]
    jump: int | None = Field(description="input pixels between neighbouring units (spatial layers), else null")
    relative_change: float | None = Field(description="||a(x') - a(x)|| / ||a(x)|| (null when a(x) is all zeros)")
    aligned_change: float | None = Field(
        description="the same after moving a(x) by shift / jump units, over the interior units (receptive field"
        " inside the image before and after the move); null where the jump does not divide the shift, for layers"
        " without maps, for rotations, and when no interior unit is left"
    )
    aligned_shift: list[int] | None = Field(
        description="[dy, dx] in the layer's units, when the jump divides the shift"
    )
    aligned_units: list[int] | None = Field(description="[rows, columns] of interior units compared")


class PredictionChange(BaseModel):
    before: int
    after: int
    probability_before: float
    probability_after: float


class MovedInput(BaseModel):
    shape: list[int]
    dtype: DType
    data: str = Field(description=B64_DESCRIPTION)


class PerturbResponse(BaseModel):
    shift: list[int] | None = Field(description="[dy, dx]: down and right, in input pixels")
    rotate: float | None = Field(description="degrees, anticlockwise")
    layers: list[LayerChange]
    prediction: PredictionChange
    moved_input: MovedInput = Field(description="x', the moved input (C x H x W)")


class PerturbLimits(BaseModel):
    max_shift: int = Field(description="largest |dy| and |dx|, in input pixels")
    max_rotate: float = Field(description="largest |degrees|")
    input_shape: list[int] = Field(description="C x H x W of the served model's input")
