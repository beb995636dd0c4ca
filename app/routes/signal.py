"""POST /api/convolve1d: convolution (or correlation) of two 1-D lists, with every product."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, Response
from pydantic import ValidationError

from app.labs import signal
from app.routes import costs as route_costs
from app.routes.deps import UploadBody
from app.schemas.signal import Convolve1dRequest, Convolve1dResponse
from app.serving import costs
from app.serving.admission import admitted
from app.serving.costs import Cost
from app.serving.errors import client_errors, error_responses, validation_detail
from app.serving.forms import media_type

router = APIRouter(tags=["kernel lab"])

# One product of the answer (N x M of them at most): its dict, its pydantic model and its JSON text
# (measured: about 1,400 bytes at the peak and 1.6-2.3 us of CPU each for 128 x 128, more for fewer).
TERM_BYTES = 1600
TERM_NS = 4000.0


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


def convolve1d_cost(body: bytes) -> Cost:
    """Every product of the answer, each a dict, a pydantic model and JSON text (N x M of them for
    padding "full", fewer for the others)."""
    try:
        spec = Convolve1dRequest.model_validate_json(body)
    except ValidationError:
        return route_costs.SMALL  # the route refuses it
    terms = len(spec.signal) * len(spec.kernel)
    return Cost.of("products", terms * TERM_BYTES, terms * TERM_NS * costs.NS)


@router.post(
    "/api/convolve1d",
    response_model=Convolve1dResponse,
    responses=error_responses(400, 408, 413, 415, 422, 503),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": Convolve1dRequest.model_json_schema()}},
        }
    },
    summary="Convolution the mathematical way, in 1-D: e.g. the distribution of the sum of two dice",
)
@admitted(convolve1d_cost)
def convolve1d(request: Request, body: UploadBody) -> Response:
    """JSON `{"signal": [...], "kernel": [...], "mode": "convolution" | "correlation", "padding": "full" |
    "same" | "valid"}` -> the output and, per output index, the products that sum to it. Convolution flips
    the kernel first: `out[n] = sum_k signal[k] * kernel[n - k]` (numpy.convolve); correlation does not:
    `out[n] = sum_k signal[k + n - (M - 1)] * kernel[k]` (numpy.correlate). The convolution of two
    probability distributions is the distribution of the sum: `[1/6]*6` with itself gives two dice."""
    spec = _request(request, body)
    with client_errors():
        result = Convolve1dResponse.model_validate(signal.convolve1d(spec.signal, spec.kernel, spec.mode, spec.padding))
    # serialised here, in the admitted work's thread, not in the event loop after it
    return Response(result.model_dump_json(), media_type="application/json")
