"""Request inputs: the network's input image from a multipart ``file``/``sample`` or a JSON ``pixels``
body, and the other fields beside it (form fields, or keys of the JSON body)."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
from fastapi import HTTPException, Request
from pydantic import ValidationError

from app import preprocess
from app.routes.deps import State, state
from app.schemas.network import PixelsRequest
from app.serving import forms
from app.serving.errors import client_errors, invalid, nested
from app.serving.forms import FORM_TYPES, Form, Part, media_type


def parse_form(request: Request, body: bytes) -> Form:
    """The multipart (or urlencoded) body as a ``Form``."""
    return forms.parse_form(body, request.headers.get("content-type"))


def int_field(form: Form, name: str) -> int | None:
    """The form field ``name`` as an integer, None when absent; 4xx naming the field otherwise."""
    text = form.text(name)
    if text is None:
        return None
    try:
        return int(text.strip())
    except ValueError as exc:
        raise invalid(("body", name), "int_parsing", text) from exc


def image_choice(form: Form) -> tuple[Part | None, int | None]:
    """The form's ``file`` part or its ``sample`` id, exactly one of them (422 otherwise)."""
    part, index = form.get("file"), int_field(form, "sample")
    if part is not None and index is not None:
        raise HTTPException(422, "send either `file` or `sample`, not both")
    if part is None and index is None:
        raise HTTPException(422, "no image: send a multipart `file` (or `sample`, a gallery id)")
    return part, index


def sample_pixels(st: State, index: int) -> np.ndarray:
    """(28, 28) test digit ``index``; 404 for an unknown id."""
    with client_errors("sample"):
        return st.samples.pixels(index)


def image_from_form(st: State, form: Form, mode: str) -> np.ndarray:
    """(28, 28) network input from the form's ``file`` (preprocessed per ``mode``) or ``sample`` (a
    test digit, already in MNIST's format)."""
    part, index = image_choice(form)
    if part is None:
        assert index is not None
        return sample_pixels(st, index)
    with client_errors("file"):
        return preprocess.from_upload(part.data, mode, st.limits)


def pixels_from_json(body: bytes, mode: str) -> np.ndarray:
    """(28, 28) network input from a JSON ``{"pixels": 28x28}`` body."""
    try:
        pixels = np.asarray(PixelsRequest.model_validate_json(body).pixels, dtype=np.float32)
    except ValidationError as exc:
        errors = exc.errors()
        if errors and errors[0]["type"] == "json_invalid":
            raise HTTPException(400, f"the body is not valid JSON: {errors[0]['msg']}") from exc
        raise nested(exc, "body") from exc
    with client_errors("pixels"):
        return preprocess.from_pixels(pixels, mode)


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


def body_fields(body: bytes, form: Form | None, names: tuple[str, ...]) -> dict[str, Any]:
    """The named fields from the form (text) or, for a JSON body, from its keys (any JSON value)."""
    if form is None:  # a JSON body, already validated as JSON by network_input
        data = json.loads(body)
        return {name: data.get(name) for name in names}
    return {name: form.text(name) for name in names}


def as_int(name: str, value: Any, default: int | None = None) -> int:
    """A field's integer (a form's text or a JSON number); 422 naming the field otherwise."""
    if value is None or value == "":
        if default is None:
            raise invalid(("body", name), "missing", msg="send it as a form field")
        return default
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise invalid(("body", name), "int_type", value)
    try:
        return int(value.strip() if isinstance(value, str) else value)
    except ValueError as exc:
        raise invalid(("body", name), "int_parsing", value) from exc


def as_json(name: str, value: Any) -> Any:
    """A form field holding JSON text (a JSON body's key is already a value; None stays None)."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError as exc:
        raise invalid(("body", name), "json_invalid", value, error=str(exc)) from exc


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
