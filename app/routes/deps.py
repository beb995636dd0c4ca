"""What the routes depend on: the app's loaded state, the size-limited body, the served model of
``?model=`` and the query parameters several routes share. Each is declared once, here.

The dependencies are ``async def`` although none of them awaits anything but the body: FastAPI runs a
plain ``def`` dependency in a worker thread, a hand-off that costs more than the dictionary look-up it
wraps (three of them per draw-pad request, docs/benchmarks.md "Students served"). They must stay cheap and
non-blocking."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from fastapi import Depends, HTTPException, Query, Request
from starlette.requests import ClientDisconnect

from app import preprocess
from app.config import Settings
from app.schemas.batchnorm import HighLrExperiment
from app.serving.admission import Admission
from app.serving.errors import client_errors
from app.serving.inference import Registry, ServedModel
from app.serving.layers import select_layers

FORM_OVERHEAD = 64 * 1024  # multipart headers and small text fields beside one upload


@dataclass(frozen=True)
class State:
    """Everything loaded once, in the lifespan, and only read after."""

    settings: Settings
    registry: Registry
    high_lr: HighLrExperiment | None = None  # models/high_lr.json
    # what each plain draw-pad query resolves to (app.routes.fastpath), filled by the event loop only: a cache
    # of what the registry says, which never changes
    plain_queries: dict[bytes, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def limits(self) -> preprocess.Limits:
        s = self.settings
        return preprocess.Limits(s.max_upload_bytes, s.max_pixels, s.max_jpeg_scans)


def state(request: Request) -> State:
    return request.app.state.convlens


async def app_state(request: Request) -> State:
    """``state`` as a dependency (in the event loop, see the module docstring)."""
    return state(request)


AppState = Annotated[State, Depends(app_state)]


# --- the body --------------------------------------------------------------------------------------


def _too_large(limit: int) -> HTTPException:
    # Connection: close makes the server drop the connection instead of reading (and discarding) the rest
    return HTTPException(413, f"the request body is over the limit of {limit} bytes", headers={"Connection": "close"})


def _declared_length(request: Request, limit: int) -> int | None:
    """The body's Content-Length (None when it is sent chunked); 400/413 before anything is read."""
    declared = request.headers.get("content-length")
    if declared is None:
        return None
    if not declared.isdigit():
        raise HTTPException(400, "Content-Length is not a number")
    if int(declared) > limit:
        raise _too_large(limit)
    return int(declared)


async def _read_limited(request: Request, limit: int, timeout: float) -> bytes:
    """Read the body, refusing it (413) as soon as it is known to exceed ``limit`` bytes: from its
    Content-Length before reading anything, else while streaming, never holding more than the limit.
    A body that takes longer than ``timeout`` seconds is a 408."""
    _declared_length(request, limit)
    chunks, size = [], 0
    try:
        async with asyncio.timeout(timeout):
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise _too_large(limit)
                chunks.append(chunk)
    except ClientDisconnect as exc:  # nobody reads the answer; this only ends the request quietly
        raise HTTPException(400, "the client closed the connection before the body was complete") from exc
    except TimeoutError as exc:
        raise HTTPException(
            408,
            f"the request body did not arrive within {timeout:g} s (CONVLENS_BODY_TIMEOUT_SECONDS)",
            headers={"Connection": "close"},
        ) from exc
    return b"".join(chunks)


@contextlib.asynccontextmanager
async def _body(request: Request, limit: int) -> AsyncIterator[bytes]:
    """The body, read within the body memory budget: its declared length (or ``limit`` when it is sent
    chunked) stays reserved until the answer has been sent (503 at once when the budget is spent)."""
    settings = state(request).settings
    declared = _declared_length(request, limit)
    admission: Admission = request.app.state.admission
    async with admission.reserve_body(limit if declared is None else declared):
        yield await _read_limited(request, limit, settings.body_timeout)


def upload_body_context(request: Request) -> contextlib.AbstractAsyncContextManager[bytes]:
    """A body holding one upload (the per-file limit plus room for the form fields)."""
    return _body(request, state(request).settings.max_upload_bytes + FORM_OVERHEAD)


async def upload_body(request: Request) -> AsyncIterator[bytes]:
    """``upload_body_context`` as a dependency."""
    async with upload_body_context(request) as body:
        yield body


async def batch_body(request: Request) -> AsyncIterator[bytes]:
    """A body that may hold several uploads (the BatchNorm lab)."""
    async with _body(request, state(request).settings.max_body_bytes) as body:
        yield body


UploadBody = Annotated[bytes, Depends(upload_body)]
BatchBody = Annotated[bytes, Depends(batch_body)]


# --- the model and the shared query parameters ---------------------------------------------------------


async def served_model(
    st: AppState, model: Annotated[str | None, Query(description="model name (default: the default model)")] = None
) -> ServedModel:
    """The model ``?model=`` names (none: the default); 404 naming the models there are."""
    with client_errors():
        return st.registry.get(model)


Served = Annotated[ServedModel, Depends(served_model)]


async def layer_names(
    served: Served,
    layers: Annotated[str | None, Query(description="comma-separated layer names (default: all)")] = None,
) -> list[str]:
    """The layers ``?layers=`` names, in forward order; 422 naming unknown ones."""
    with client_errors():
        return select_layers(served, layers)


Layers = Annotated[list[str], Depends(layer_names)]
DType = Annotated[Literal["float32", "float16"], Query(description="dtype of every `data` array")]
Preprocess = Annotated[
    Literal["auto", "mnist", "digit", "resize", "none"],
    Query(
        description="for uploaded images: auto (the model's own: digit or resize), digit or its synonym mnist (invert,"
        " crop, scale and centre like MNIST), resize (grey or colour, background trimmed, inverted when the paper is"
        " light, resized to the network's input) or none (plain resize)"
    ),
]
Checkpoint = Annotated[
    int | None,
    Query(
        ge=0,
        description="a training step (GET /api/training lists them): the network as it was then, not as served",
    ),
]
