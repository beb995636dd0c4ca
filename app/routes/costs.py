"""What the routes' inputs cost: the pieces the routes' ``@admitted`` estimates are built from (see
app/serving/admission.py and app/serving/costs.py). Each route's own estimate sits beside the route.

Nothing here decodes an image: uploads are only probed (format, mode, size, JPEG scans), with the same
limits and the same errors as the route, so a bad upload is refused here already.
"""

from __future__ import annotations

import dataclasses
import math

from fastapi import Request

from app import preprocess, uploads
from app.labs.kernels.geometry import Axis, Geometry, conv_geometry
from app.routes.deps import State, state
from app.routes.inputs import image_choice, int_field, parse_form, preprocess_mode
from app.schemas.kernels import PoolSpec
from app.serving import costs
from app.serving.costs import Cost
from app.serving.errors import client_errors
from app.serving.forms import FORM_TYPES, Form, Part, media_type
from app.serving.inference import ServedModel

JSON_BYTES = 16  # memory per byte of a JSON body (parsed lists of Python floats, then an array)
JSON_NS = 60.0  # CPU per byte of a JSON body
SMALL = Cost.of("input", 64 * 1024, 0.0002)  # a sample digit, a form without a file
RESIZE_NS = 3.0  # Pillow's Lanczos resize to a smaller image, per source pixel and band (measured 2-2.6)
RESIZE_FIXED = 4 * costs.MIB  # its coefficient tables and buffers (bench/costs.py: 3 MiB above the images)


def upload_info(st: State, part: Part, field: str) -> preprocess.ImageInfo:
    """The upload's header (no pixel decoded); the route's own 4xx for an unusable file."""
    with client_errors(field):
        return preprocess.probe(part.data, st.limits)


def net(served: ServedModel) -> costs.NetworkProfile:
    return served.prepared.profile


def form_or_none(request: Request, body: bytes) -> Form | None:
    """The parsed form of a form body; None for any other body (the route answers it)."""
    if media_type(request.headers.get("content-type")) in FORM_TYPES and body:
        return parse_form(request, body)
    return None


def draft(mode: str, served: ServedModel) -> int:
    """The size an upload is decoded at for ``?preprocess=mode`` (``auto``: the model's own) and this model."""
    return uploads.draft_for(preprocess_mode(mode, served), served.input_shape)


def digit_input(request: Request, body: bytes, mode: str, served: ServedModel) -> Cost:
    """The network's input image: a JSON ``pixels`` body, a ``sample``, or an upload decoded for a digit
    (``preprocess.from_upload``: at reduced size)."""
    if media_type(request.headers.get("content-type")) == "application/json":
        return Cost.of("input", len(body) * JSON_BYTES, len(body) * JSON_NS * costs.NS)
    form = form_or_none(request, body)
    part = image_choice(form)[0] if form is not None else None  # the route's own 422 for both or neither
    if part is None:
        return SMALL
    return costs.digit(upload_info(state(request), part, "file"), draft(mode, served))


def digit_batch(st: State, parts: list[tuple[Part, str]], mode: str, served: ServedModel) -> Cost:
    """Uploads decoded one after another into digits (each keeps only its 28x28 result)."""
    total = SMALL
    for part, field in parts:
        total = total.then(costs.digit(upload_info(st, part, field), draft(mode, served)))
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


def json_text(text: str | None) -> Cost:
    """A JSON form field parsed into Python lists and numbers (its size is bounded by the form's limits)."""
    size = len(text or "")
    return Cost.of("json", size * JSON_BYTES, size * JSON_NS * costs.NS)


# --- the kernel lab ----------------------------------------------------------------------------------------


def padded_plane(geometry: Geometry) -> int:
    """Pixels of one padded channel: the image, its padding and, for rounding ceil, the last window's
    overhang."""

    def side(axis: Axis) -> int:
        return axis.size + axis.before + axis.after + axis.overhang

    return side(geometry.height) * side(geometry.width)


def convolution(channels: int, geometry: Geometry, kernel: int, kernels: int, combined: bool = False) -> Cost:
    """``kernels`` k x k kernels slid over each of ``channels`` planes (the kernel lab's depthwise
    convolution): per channel its padded copy and bands (and the plane padded again when the last band
    overruns), every output, the combined one and its temporaries. CPU: one multiply-add per kernel tap
    per output value."""
    plane = padded_plane(geometry)
    out = channels * geometry.height.output * geometry.width.output
    taps = kernels * out * kernel * kernel
    # blocks under glibc's 32 MiB mmap threshold come from its heaps, which reuse freed memory less
    # tightly (measured: bench/costs.py)
    copies = 4 if plane * 4 >= 32 * costs.MIB else 5
    compute = costs.copies("padded bands", plane, copies) + Cost.of(
        "convolution", kernels * out * 4, taps * costs.CONV_NS * costs.NS, held=kernels * out * 4
    )
    if combined:
        compute = compute.then(costs.copies("combined", out, 2 * kernels + 1, held=out * 4))
    return compute


def lab_answer(geometry: Geometry, channels: int, maps: int, parts: set[str], dtype: str, level: int) -> Cost:
    """The kernel lab's answer: ``maps`` outputs of ``channels`` x H' x W' (data and PNGs, as asked) and
    the padded input when ``padded`` is asked (its values, and the copy F.pad makes)."""
    out = maps * channels * geometry.height.output * geometry.width.output
    padded = channels * padded_plane(geometry)
    sent = (out if "data" in parts else 0) + (padded if "padded" in parts else 0)
    plane = geometry.height.output * geometry.width.output if "png" in parts else 0
    pixels = maps * plane * (3 if channels == 3 else 1)
    copy = costs.copies("padded input", padded) if "padded" in parts else Cost()
    half = dtype == "float16"  # float32 data goes out from a view of the tensor, float16 from a copy
    return copy.then(costs.answer(sent, 2 if half else 4, pixels, level, plane, copied=half))


def resized_image(info: preprocess.ImageInfo, longest: int, channels: int) -> tuple[Cost, tuple[int, int]]:
    """An upload decoded at full size, resized (Lanczos) so that its longer side is ``longest`` pixels, and
    made a (C, H, W) float tensor (the conv-layer lab); only that tensor is held. The cost and (H, W)."""
    scale = longest / max(info.width, info.height)
    width, height = max(1, round(info.width * scale)), max(1, round(info.height * scale))
    bands = len(info.mode) if info.mode in ("LA", "RGB", "RGBA", "CMYK", "YCbCr") else 1
    # Pillow resamples the width first (an image of the new width and the old height), then the height;
    # a transparent image is premultiplied first, a full-size copy
    memory = width * info.height * 4 + width * height * 4 + (info.pixels * 4 if info.mode in costs.ALPHA else 0)
    memory += RESIZE_FIXED
    resize = Cost.of("resize", memory, info.pixels * bands * RESIZE_NS * costs.NS, held=width * height * 4)
    small = dataclasses.replace(info, width=width, height=height)
    steps = costs.decode(info).then(resize).then(costs.image_tensor(small, channels))
    return Cost(steps.memory, steps.cpu, small.pixels * channels * 4, steps.parts), (height, width)


def pooled_source(
    request: Request, body: bytes, served: ServedModel, form: Form, spec: PoolSpec, mode: str
) -> tuple[Cost, tuple[int, int, int] | None]:
    """What ``_pooled_source`` costs, and the (C, H, W) it gives (None: the route refuses it): the image; or
    the image and one kernel's output (then ReLU); or the digit through the network, keeping one channel
    of a layer."""
    source = spec.source
    if source.kind == "layer":
        shape = served.shapes.get(source.layer, [])
        if len(shape) != 3:
            return SMALL, None
        plane = shape[1] * shape[2]
        made = digit_input(request, body, mode, served).then(costs.network(net(served), 1))  # mode: ?preprocess=
        return made.then(costs.copies("map", plane, held=plane * 4)), (1, shape[1], shape[2])
    image, (c, h, w) = lab_image(request, form, spec.color)
    if source.kind == "image":
        return image, (c, h, w)
    k = len(source.kernel)
    with client_errors("source"):
        geometry = conv_geometry(h, w, k, 1, source.padding, source.padding_mode)
    out = c * geometry.height.output * geometry.width.output
    made = image.then(convolution(c, geometry, k, 1))
    if source.relu:
        made = made.then(costs.copies("relu", out, held=out * 4))
    return made, (c, geometry.height.output, geometry.width.output)
