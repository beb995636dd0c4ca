"""What the routes' inputs cost: the pieces the routes' ``@admitted`` estimates are built from (see
app/serving/admission.py and app/serving/costs.py). Each route's own estimate sits beside the route.

Nothing here decodes an image: uploads are only probed (format, mode, size, JPEG scans), with the same
limits and the same errors as the route, so a bad upload is refused here already.
"""

from __future__ import annotations

import math

from fastapi import Request

from app import preprocess
from app.routes.deps import State, state
from app.routes.inputs import image_choice, int_field, parse_form
from app.serving import costs
from app.serving.costs import Cost
from app.serving.errors import client_errors
from app.serving.forms import FORM_TYPES, Form, Part, media_type
from app.serving.inference import ServedModel

JSON_BYTES = 16  # memory per byte of a JSON body (parsed lists of Python floats, then an array)
JSON_NS = 60.0  # CPU per byte of a JSON body
SMALL = Cost.of("input", 64 * 1024, 0.0002)  # a sample digit, a form without a file


def upload_info(st: State, part: Part, field: str) -> preprocess.ImageInfo:
    """The upload's header (no pixel decoded); the route's own 4xx for an unusable file."""
    with client_errors(field):
        return preprocess.probe(part.data, st.limits)


def net(served: ServedModel) -> costs.NetworkProfile:
    return costs.profile(served.model, served.shapes)


def form_or_none(request: Request, body: bytes) -> Form | None:
    """The parsed form of a form body; None for any other body (the route answers it)."""
    if media_type(request.headers.get("content-type")) in FORM_TYPES and body:
        return parse_form(request, body)
    return None


def digit_input(request: Request, body: bytes, mode: str) -> Cost:
    """The network's input image: a JSON ``pixels`` body, a ``sample``, or an upload decoded for a digit
    (``preprocess.from_upload``: at reduced size)."""
    if media_type(request.headers.get("content-type")) == "application/json":
        return Cost.of("input", len(body) * JSON_BYTES, len(body) * JSON_NS * costs.NS)
    form = form_or_none(request, body)
    part = image_choice(form)[0] if form is not None else None  # the route's own 422 for both or neither
    if part is None:
        return SMALL
    return costs.digit(upload_info(state(request), part, "file"), preprocess.draft_for(mode))


def digit_batch(st: State, parts: list[tuple[Part, str]], mode: str) -> Cost:
    """Uploads decoded one after another into digits (each keeps only its 28x28 result)."""
    total = SMALL
    for part, field in parts:
        total = total.then(costs.digit(upload_info(st, part, field), preprocess.draft_for(mode)))
    return total


def lab_image(request: Request, form: Form, color: str) -> tuple[Cost, tuple[int, int, int]]:
    """The kernel lab's (C, H, W) image: the upload decoded at full size and made a float tensor, or a
    sample digit; the cost and the shape."""
    channels = 3 if color == "rgb" else 1
    part, _ = image_choice(form)  # the route's own 422 for both or neither
    if part is None:
        return SMALL, (channels, preprocess.SIZE, preprocess.SIZE)
    info = upload_info(state(request), part, "file")
    return costs.image(info, channels), (channels, info.height, info.width)


def sample_count(form: Form | None, name: str, default: int) -> int:
    """An integer form field used only to size the estimate (the route checks it properly)."""
    value = int_field(form, name) if form is not None else None
    return default if value is None else max(0, value)


def values(shape: list[int] | tuple[int, ...]) -> int:
    return math.prod(shape)
