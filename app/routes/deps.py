"""What the routes depend on: the app's loaded state, the size-limited body, the served model of
``?model=`` and the query parameters several routes share. Each is declared once, here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import Depends, HTTPException, Query, Request

from app import preprocess
from app.config import Settings
from app.serving.errors import client_errors
from app.serving.inference import Registry, ServedModel
from app.serving.layers import select_layers

FORM_OVERHEAD = 64 * 1024  # multipart headers and small text fields beside one upload


@dataclass(frozen=True)
class State:
    """Everything loaded once, in the lifespan."""

    settings: Settings
    registry: Registry

    @property
    def limits(self) -> preprocess.Limits:
        return preprocess.Limits(self.settings.max_upload_bytes, self.settings.max_pixels)


def state(request: Request) -> State:
    return request.app.state.convlens


AppState = Annotated[State, Depends(state)]


# --- the body --------------------------------------------------------------------------------------


def _too_large(limit: int) -> HTTPException:
    # Connection: close makes the server drop the connection instead of reading (and discarding) the rest
    return HTTPException(413, f"the request body is over the limit of {limit} bytes", headers={"Connection": "close"})


async def _read_limited(request: Request, limit: int) -> bytes:
    """Read the body, refusing it (413) as soon as it is known to exceed ``limit`` bytes: from its
    Content-Length before reading anything, else while streaming, never holding more than the limit."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise HTTPException(400, "Content-Length is not a number")
        if int(declared) > limit:
            raise _too_large(limit)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


async def upload_body(request: Request) -> bytes:
    """A body holding one upload (the per-file limit plus room for the form fields)."""
    return await _read_limited(request, state(request).settings.max_upload_bytes + FORM_OVERHEAD)


async def batch_body(request: Request) -> bytes:
    """A body that may hold several uploads (the BatchNorm lab)."""
    return await _read_limited(request, state(request).settings.max_body_bytes)


UploadBody = Annotated[bytes, Depends(upload_body)]
BatchBody = Annotated[bytes, Depends(batch_body)]


# --- the model and the shared query parameters ---------------------------------------------------------


def served_model(
    st: AppState, model: Annotated[str | None, Query(description="model name (default: the default model)")] = None
) -> ServedModel:
    """The model ``?model=`` names (none: the default); 404 naming the models there are."""
    with client_errors():
        return st.registry.get(model)


Served = Annotated[ServedModel, Depends(served_model)]


def layer_names(
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
