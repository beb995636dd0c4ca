"""POST /api/convolve1d: convolution (or correlation) of two 1-D lists, with every product."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body

from app.labs import signal
from app.schemas.signal import Convolve1dRequest, Convolve1dResponse
from app.serving.errors import client_errors, error_responses

router = APIRouter(tags=["kernel lab"])


@router.post(
    "/api/convolve1d",
    response_model=Convolve1dResponse,
    responses=error_responses(400, 422),
    summary="Convolution the mathematical way, in 1-D: e.g. the distribution of the sum of two dice",
)
def convolve1d(
    request: Annotated[
        Convolve1dRequest, Body(examples=[{"signal": [1, 1, 1, 1, 1, 1], "kernel": [1, 1, 1, 1, 1, 1]}])
    ],
) -> Convolve1dResponse:
    """JSON `{"signal": [...], "kernel": [...], "mode": "convolution" | "correlation", "padding": "full" |
    "same" | "valid"}` -> the output and, per output index, the products that sum to it. Convolution flips
    the kernel first: `out[n] = sum_k signal[k] * kernel[n - k]` (numpy.convolve); correlation does not:
    `out[n] = sum_k signal[k + n - (M - 1)] * kernel[k]` (numpy.correlate). The convolution of two
    probability distributions is the distribution of the sum: `[1/6]*6` with itself gives two dice."""
    with client_errors():
        return Convolve1dResponse.model_validate(
            signal.convolve1d(request.signal, request.kernel, request.mode, request.padding)
        )
