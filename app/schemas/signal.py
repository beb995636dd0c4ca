"""Convolution in 1-D (POST /api/convolve1d)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.labs.signal import MAX_LENGTH, MAX_VALUE

Value = Annotated[float, Field(strict=True, allow_inf_nan=False, ge=-MAX_VALUE, le=MAX_VALUE)]


class Convolve1dRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"signal": [1, 1, 1, 1, 1, 1], "kernel": [1, 1, 1, 1, 1, 1]}]},
    )

    signal: list[Value] = Field(min_length=1, max_length=MAX_LENGTH, description="a, N values")
    kernel: list[Value] = Field(min_length=1, max_length=MAX_LENGTH, description="b, M values")
    mode: Literal["convolution", "correlation"] = Field(
        default="convolution",
        description="convolution flips the kernel before sliding it (mathematics, numpy.convolve); correlation"
        " slides it as it is (numpy.correlate, deep learning's 'convolution')",
    )
    padding: Literal["full", "same", "valid"] = Field(
        default="full",
        description="full: every overlap (N + M - 1 values); same: the middle max(N, M); valid: only where one"
        " lies wholly over the other (max(N, M) - min(N, M) + 1), as numpy does",
    )


class Term(BaseModel):
    i: int = Field(description="signal index")
    j: int = Field(description="kernel index")
    a: float = Field(description="signal[i]")
    b: float = Field(description="kernel[j]")
    product: float


class Step(BaseModel):
    index: int = Field(description="output index")
    full_index: int = Field(description="the same output's index in the full result (i + j for convolution)")
    terms: list[Term] = Field(description="the products that sum to this output, by signal index")
    sum: float


class Convolve1dResponse(BaseModel):
    mode: Literal["convolution", "correlation"]
    padding: Literal["full", "same", "valid"]
    first_full_index: int = Field(description="index in the full result of output 0")
    output: list[float]
    steps: list[Step]
    flipped_kernel: list[float] = Field(description="the kernel as it slides: reversed for convolution")
