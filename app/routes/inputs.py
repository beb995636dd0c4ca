"""Request inputs: the network's input image from a multipart ``file``/``sample`` or a JSON ``pixels``
body, and the other fields beside it (form fields, or keys of the JSON body)."""

from __future__ import annotations

import json
import re
from typing import Any

import numpy as np
import orjson
import torch
from fastapi import HTTPException, Request
from pydantic import ValidationError

from app import uploads
from app.routes.deps import State, state
from app.schemas.network import MAX_SIDE, PixelsRequest
from app.serving import forms
from app.serving.errors import client_errors, invalid, nested
from app.serving.forms import FORM_TYPES, Form, Part, media_type
from app.serving.inference import ServedModel

MAX_JSON_DEPTH = 32  # nesting of a JSON field (a kernel list is 3 deep, a matrix 2)
_JSON_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')  # strings (skipped whole) and brackets


def parse_form(request: Request, body: bytes) -> Form:
    """The multipart (or urlencoded) body as a ``Form``, parsed once per request (a route's cost estimate
    and the route itself share it)."""
    form = getattr(request.state, "form", None)
    if form is None:
        form = request.state.form = forms.parse_form(body, request.headers.get("content-type"))
    return form


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


def sample_pixels(served: ServedModel, index: int) -> np.ndarray:
    """Test image ``index`` of the model's test set, (H, W); 404 for an unknown id or a model without one."""
    with client_errors("sample"):
        return served.dataset().pixels(index)


def image_from_form(st: State, served: ServedModel, form: Form, mode: str) -> np.ndarray:
    """The network input from the form's ``file`` (preprocessed per ``mode``) or ``sample`` (a test image,
    already in the network's format)."""
    part, index = image_choice(form)
    if part is None:
        assert index is not None
        return sample_pixels(served, index)
    with client_errors("file"):
        return uploads.from_upload(
            part.data, preprocess_mode(mode, served), st.limits, served.input_shape, invert(served)
        )


def plain_pixels(body: bytes) -> np.ndarray | None:
    """The (H, W) pixels of a body that holds nothing but ``{"pixels": H rows of W numbers in [0, 1]}``
    (what the draw pad sends), as ``PixelsRequest`` would read them, without pydantic's work per value;
    None for any other body, which ``PixelsRequest`` then reads and words the errors of. Only numbers and
    brackets besides the one key: no strings, literals or escapes to interpret."""
    if body.count(b'"') != 2 or body.translate(None, _NUMBERS_AND_KEY):
        return None
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(data, dict) or list(data) != ["pixels"]:
        return None
    try:
        values = np.array(data["pixels"], dtype=np.float64)  # ragged rows raise
    except (ValueError, TypeError):
        return None
    if values.ndim != 2 or not (1 <= values.shape[0] <= MAX_SIDE and 1 <= values.shape[1] <= MAX_SIDE):
        return None
    if not ((values >= 0.0) & (values <= 1.0)).all():  # NaN fails both
        return None
    return values.astype(np.float32)


_NUMBERS_AND_KEY = b'0123456789.-+eE[]{}:, \t\r\n"pixels'


def pixels_from_json(body: bytes, mode: str, served: ServedModel) -> np.ndarray:
    """The network input from a JSON ``{"pixels": H x W (or C x H x W)}`` body."""
    pixels = plain_pixels(body)
    if pixels is None:
        try:
            pixels = np.asarray(PixelsRequest.model_validate_json(body).pixels, dtype=np.float32)
        except ValidationError as exc:
            errors = exc.errors()
            if errors and errors[0]["type"] == "json_invalid":
                raise HTTPException(400, f"the body is not valid JSON: {errors[0]['msg']}") from exc
            raise nested(exc, "body") from exc
    with client_errors("pixels"):
        return uploads.from_pixels(pixels, preprocess_mode(mode, served), served.input_shape, invert(served))


def preprocess_mode(mode: str, served: ServedModel) -> str:
    """``auto``: the model card's own preprocessing (``digit`` is MNIST's); ``digit`` and ``mnist`` are one."""
    if mode == "auto":
        mode = served.card.get("preprocess", "digit")
    return "mnist" if mode == "digit" else mode


def invert(served: ServedModel) -> bool:
    """Whether the network was trained on light objects on black, so a light background is to be inverted."""
    return served.card.get("invert") == "auto"


def network_input(request: Request, body: bytes, mode: str, served: ServedModel) -> tuple[np.ndarray, Form | None]:
    """The input image, (H, W) or (C, H, W) pixels in [0, 1] in the network's size, and, for multipart
    bodies, the form (for any other fields)."""
    ctype = media_type(request.headers.get("content-type"))
    if ctype == "application/json":
        return pixels_from_json(body, mode, served), None
    if ctype in FORM_TYPES:
        form = parse_form(request, body)
        return image_from_form(state(request), served, form, mode), form
    raise HTTPException(
        415,
        f"Content-Type {ctype or '(none)'} is not accepted: send multipart/form-data (or urlencoded)"
        " or application/json",
    )


def as_batch(served: ServedModel, pixels: np.ndarray) -> torch.Tensor:
    """(H, W) or (C, H, W) pixels -> the network's (1, C, H, W) input."""
    x = torch.from_numpy(np.array(pixels, dtype=np.float32))  # a copy: torch warns about read-only arrays
    return x.reshape(1, *served.input_shape)  # (1, C, H, W)


def body_fields(body: bytes, form: Form | None, names: tuple[str, ...]) -> dict[str, Any]:
    """The named fields from the form (text) or, for a JSON body, from its keys (any JSON value)."""
    if form is None:  # a JSON body, already validated as JSON by network_input
        data = json.loads(body)
        fields = {name: data.get(name) for name in names}
        for name, value in fields.items():
            check_depth(name, value)
        return fields
    return {name: form.text(name) for name in names}


def _too_deep(name: str) -> HTTPException:
    return HTTPException(422, f"{name}: is nested more than {MAX_JSON_DEPTH} levels deep (JSON lists or objects)")


def text_depth(text: str, limit: int = MAX_JSON_DEPTH) -> int:
    """How deeply the arrays and objects of JSON ``text`` nest, counted up to ``limit`` + 1 (no parsing,
    no recursion: brackets inside strings do not count)."""
    depth = deepest = 0
    for match in _JSON_TOKENS.finditer(text):
        token = match.group()
        if token in ("[", "{"):
            depth += 1
            deepest = max(deepest, depth)
            if deepest > limit:
                break
        elif token in ("]", "}"):
            depth -= 1
    return deepest


def check_depth(name: str, value: Any) -> None:
    """422 when a parsed JSON ``value`` nests deeper than ``MAX_JSON_DEPTH`` (walked without recursion)."""
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, list | dict):
            if depth >= MAX_JSON_DEPTH:
                raise _too_deep(name)
            stack.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))


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
    """A form field holding JSON text (a JSON body's key is already a value; None stays None). Its size is
    bounded by the form's field limit (``forms.MAX_FIELD_BYTES``) and its nesting by ``MAX_JSON_DEPTH``
    (422, checked before parsing)."""
    if not isinstance(value, str):
        return value
    if text_depth(value) > MAX_JSON_DEPTH:
        raise _too_deep(name)
    try:
        return json.loads(value)
    except RecursionError as exc:  # not reached after the depth check; kept as the last line of defence
        raise _too_deep(name) from exc
    except ValueError as exc:
        raise invalid(("body", name), "json_invalid", value, error=str(exc)) from exc


def image_body_openapi(json_schema: dict[str, Any] | None = None, fields: dict[str, Any] | None = None) -> dict:
    """``openapi_extra`` describing a multipart image body (and optionally a JSON alternative)."""
    properties = {
        "file": {"type": "string", "format": "binary", "description": "PNG, JPEG, GIF, WebP or BMP"},
        "sample": {
            "type": "integer",
            "description": "a sample id (an index in the model's test set) instead of a file",
        },
        **(fields or {}),
    }
    content: dict[str, Any] = {"multipart/form-data": {"schema": {"type": "object", "properties": properties}}}
    if json_schema is not None:
        content["application/json"] = {"schema": json_schema}
    return {"requestBody": {"required": True, "content": content}}
