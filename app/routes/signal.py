"""POST /api/convolve1d: convolution (or correlation) of two 1-D lists, with every product."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from pydantic import ValidationError

from app.labs import signal
from app.routes.deps import UploadBody
from app.schemas.signal import Convolve1dRequest, Convolve1dResponse
from app.serving.errors import client_errors, error_responses, validation_detail
from app.serving.forms import media_type

router = APIRouter(tags=["kernel lab"])


def _request(request: Request, body: bytes) -> Convolve1dRequest:
    """The JSON body, read with the server's size limit; 415/400/422 naming what is wrong."""
    ctype = media_type(request.headers.get("content-type"))
    if ctype != "application/json":
        raise HTTPException(415, f"Content-Type {ctype or '(none)'} is not accepted: send application/json")
    try:
        return Convolve1dRequest.model_validate_json(body)
    except ValidationError as exc:
        errors = exc.errors()
        if errors and errors[0]["type"] == "json_invalid":
            raise HTTPException(400, f"the body is not valid JSON: {errors[0]['msg']}") from exc
        raise HTTPException(422, validation_detail(errors, limit=5)) from exc


@router.post(
    "/api/convolve1d",
    response_model=Convolve1dResponse,
    responses=error_responses(400, 413, 415, 422),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": Convolve1dRequest.model_json_schema()}},
        }
    },
    summary="Convolution the mathematical way, in 1-D: e.g. the distribution of the sum of two dice",
)
def convolve1d(request: Request, body: UploadBody) -> Convolve1dResponse:
    """JSON `{"signal": [...], "kernel": [...], "mode": "convolution" | "correlation", "padding": "full" |
    "same" | "valid"}` -> the output and, per output index, the products that sum to it. Convolution flips
    the kernel first: `out[n] = sum_k signal[k] * kernel[n - k]` (numpy.convolve); correlation does not:
    `out[n] = sum_k signal[k + n - (M - 1)] * kernel[k]` (numpy.correlate). The convolution of two
    probability distributions is the distribution of the sum: `[1/6]*6` with itself gives two dice."""
    spec = _request(request, body)
    with client_errors():
        return Convolve1dResponse.model_validate(signal.convolve1d(spec.signal, spec.kernel, spec.mode, spec.padding))
