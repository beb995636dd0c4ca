"""Request inputs: the size-limited body and the network's input image from
a multipart ``file``/``sample`` or a JSON ``pixels`` body."""

from __future__ import annotations

from typing import Any

import numpy as np
from fastapi import HTTPException, Request
from pydantic import ValidationError

from app import preprocess
from app.routes.common import State, state
from app.schemas.network import PixelsRequest
from app.serving.forms import FORM_TYPES, Form, FormError, Part, media_type
from app.serving.forms import parse_form as parse_body_form

FORM_OVERHEAD = 64 * 1024  # multipart headers and small text fields beside one upload


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
    """Dependency: a body holding one upload (the per-file limit plus room for the form fields)."""
    return await _read_limited(request, state(request).settings.max_upload_bytes + FORM_OVERHEAD)


async def batch_body(request: Request) -> bytes:
    """Dependency: a body that may hold several uploads (the BatchNorm lab)."""
    return await _read_limited(request, state(request).settings.max_body_bytes)


def parse_form(request: Request, body: bytes) -> Form:
    try:
        return parse_body_form(body, request.headers.get("content-type"))
    except FormError as exc:
        raise HTTPException(exc.status, str(exc)) from exc


def int_field(form: Form, name: str, what: str = "a whole number") -> int | None:
    """The form field ``name`` as an integer, None when absent; 4xx naming the field otherwise."""
    try:
        text = form.text(name)
    except FormError as exc:  # not UTF-8, or over the field size limit
        raise HTTPException(exc.status, str(exc)) from exc
    if text is None:
        return None
    try:
        return int(text.strip())
    except ValueError as exc:
        raise HTTPException(422, f"{name}: expected {what}, not {text[:40]!r}") from exc


def sample_index(form: Form) -> int | None:
    return int_field(form, "sample", "a sample id (an integer)")


def image_choice(form: Form) -> tuple[Part | None, int | None]:
    """The form's ``file`` part or its ``sample`` id, exactly one of them (422 otherwise)."""
    part, index = form.get("file"), sample_index(form)
    if part is not None and index is not None:
        raise HTTPException(422, "send either `file` or `sample`, not both")
    if part is None and index is None:
        raise HTTPException(422, "no image: send a multipart `file` (or `sample`, a gallery id)")
    return part, index


def sample_pixels(st: State, index: int) -> np.ndarray:
    """(28, 28) test digit ``index``; 404 for an unknown id."""
    try:
        return st.samples.pixels(index)
    except KeyError as exc:
        raise HTTPException(404, f"sample: {exc.args[0]}") from exc


def image_from_form(st: State, form: Form, mode: str) -> np.ndarray:
    """(28, 28) network input from the form's ``file`` (preprocessed per ``mode``) or ``sample`` (a
    test digit, already in MNIST's format)."""
    part, index = image_choice(form)
    if part is None:
        return sample_pixels(st, index)
    try:
        return preprocess.from_upload(part.data, mode, st.limits)
    except preprocess.ImageError as exc:
        raise HTTPException(exc.status, f"file: {exc}") from exc


def pixels_from_json(body: bytes, mode: str) -> np.ndarray:
    """(28, 28) network input from a JSON ``{"pixels": 28x28}`` body."""
    try:
        pixels = np.asarray(PixelsRequest.model_validate_json(body).pixels, dtype=np.float32)
    except ValidationError as exc:
        errors = exc.errors()
        if errors and errors[0]["type"] == "json_invalid":
            raise HTTPException(400, f"the body is not valid JSON: {errors[0]['msg']}") from exc
        detail = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in errors[:5])
        raise HTTPException(422, detail) from exc
    try:
        return preprocess.from_pixels(pixels, mode)
    except preprocess.ImageError as exc:
        raise HTTPException(exc.status, f"pixels: {exc}") from exc


def network_input(request: Request, body: bytes, mode: str) -> tuple[np.ndarray, Form | None]:
    """The (28, 28) input image and, for multipart bodies, the form (for any other fields)."""
    ctype = media_type(request.headers.get("content-type"))
    if ctype == "application/json":
        return pixels_from_json(body, mode), None
    if ctype in FORM_TYPES:
        form = parse_form(request, body)
        return image_from_form(state(request), form, mode), form
    raise HTTPException(
        415,
        f"Content-Type {ctype or '(none)'} is not accepted: send multipart/form-data (or urlencoded)"
        " or application/json",
    )


def image_body_openapi(json_schema: dict[str, Any] | None = None, fields: dict[str, Any] | None = None) -> dict:
    """``openapi_extra`` describing a multipart image body (and optionally a JSON alternative)."""
    properties = {
        "file": {"type": "string", "format": "binary", "description": "PNG, JPEG, GIF, WebP or BMP"},
        "sample": {"type": "integer", "description": "a sample id (MNIST test-set index) instead of a file"},
        **(fields or {}),
    }
    content: dict[str, Any] = {"multipart/form-data": {"schema": {"type": "object", "properties": properties}}}
    if json_schema is not None:
        content["application/json"] = {"schema": json_schema}
    return {"requestBody": {"required": True, "content": content}}
