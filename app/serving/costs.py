"""The cost model: a request's peak memory and CPU time, estimated before any pixel is decoded.

Every estimate is built from the request's sizes (pixels x channels x bytes x copies, batch size, the
values in the answer) and from the served model's own layer output sizes and weights; the constants
below turn them into bytes and seconds of one core. They were measured on the project's 2-core x86
machine (``bench/costs.py`` prints each estimate next to the measured peak RSS and CPU time, see
docs/benchmarks.md) and err on the high side: an estimate is meant to be an upper bound.

A ``Cost`` adds up as steps run one after another: the peak of a sequence is the largest of each step's
peak on top of what the steps before it still hold (``then``); ``+`` is for things held at the same time.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import torch
from torch import nn

from app.preprocess import REDUCIBLE, ImageInfo

MIB = 1024 * 1024
NS = 1e-9

# Decoding, per source pixel: Pillow's storage per pixel of each mode, and what the decoders hold on top.
STORAGE = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16L": 2, "I;16B": 2, "I;16N": 2}  # others: 4 bytes
DECODER_BYTES = {"WEBP": 12}  # libwebp's RGBA canvas and the copy handed to Pillow
PROGRESSIVE_BYTES = 6  # a progressive JPEG's coefficients (2 bytes x 3 components), at full size
DECODE_NS = {"PNG": 3.5, "GIF": 3.0, "BMP": 2.0, "WEBP": 15.0}  # per pixel (PNG: per pixel and channel)
JPEG_NS = 1.5  # per source pixel (a draft decode still reads every coefficient) ...
SCAN_NS = 1.0  # ... and per source pixel and scan (a repeated progressive scan costs about this)
SHRINK_NS = 2.0  # Image.reduce, per source pixel
DIGIT_COPIES = 8  # float copies of the reduced image the digit steps make (gray, ink, background, crop...)
GRAY_NS = 10.0  # the reduced image to grey floats, reduced again to WORK pixels, per pixel
DIGIT_NS = 40.0  # the digit steps proper, per pixel of the WORK-sized image
WORK_PIXELS = 256 * 256  # preprocess.WORK squared
DIGIT_BYTES = 64 * 1024  # what a decoded digit keeps: its 28x28 floats, and Python objects
FIXED = 3 * MIB  # Python objects and small buffers of any request (the admission control adds it once)
DECODER_FIXED = 2 * MIB  # a decoder's own tables and row buffers
ALPHA = ("RGBA", "LA", "PA", "P")  # modes that may carry transparency (P: when the file says so)

# The kernel lab's image tensor and outputs, and the answer.
TENSOR_NS = 12.0  # decoded image -> float tensor, per value
CONV_NS = 0.6  # one multiply-add of a depthwise conv (oneDNN, one thread)
POOL_NS = 1.6  # one window tap of max/avg pooling
COPY_NS = 2.0  # per float value copied (padding, bands, stacking)
BASE64_NS = 3.0  # per byte of binary data, base64 and JSON assembly
PIXEL_NS = 8.0  # float -> display grey level, per value
PNG_NS = {0: 1.0, 1: 12.0}  # per PNG byte: stored, compressed (any level from 1 is about as slow)

# The network: per multiply-add, per value produced, and per layer call (Python and dispatch).
MAC_NS = 0.1
VALUE_NS = 1.0
LAYER_NS = 40_000.0
BACKWARD_BYTES = 8 * MIB  # autograd's and the convolutions' own buffers for a backward pass


@dataclass(frozen=True)
class Cost:
    """``memory``: peak bytes above the idle server; ``held``: bytes still held when the step is done
    (they count against the steps after it); ``cpu``: seconds of one core; ``parts``: what it is made of,
    for the messages."""

    memory: int = 0
    cpu: float = 0.0
    held: int = 0
    parts: tuple[tuple[str, int, float], ...] = field(default=(), compare=False)

    @classmethod
    def of(cls, name: str, memory: float, cpu: float, held: float = 0) -> Cost:
        memory, held = int(memory), int(held)
        return cls(memory, cpu, min(held, memory), ((name, memory, cpu),))

    def then(self, after: Cost) -> Cost:
        """This step, then ``after`` (while this step's ``held`` bytes are still held)."""
        peak = max(self.memory, self.held + after.memory)
        return Cost(peak, self.cpu + after.cpu, self.held + after.held, self.parts + after.parts)

    def __add__(self, other: Cost) -> Cost:
        """Both at once."""
        return Cost(self.memory + other.memory, self.cpu + other.cpu, self.held + other.held, self.parts + other.parts)

    def describe(self) -> str:
        """``decode 64 MiB / 0.15 s, answer 80 MiB / 0.10 s``: the largest parts first, merged by name."""
        merged: dict[str, list[float]] = {}
        for name, memory, cpu in self.parts:
            entry = merged.setdefault(name, [0, 0.0])
            entry[0] = max(entry[0], memory)
            entry[1] += cpu
        ranked = sorted(merged.items(), key=lambda item: -item[1][0] - item[1][1] * MIB)
        return ", ".join(f"{name} {mib(memory)} / {cpu:.2f} s" for name, (memory, cpu) in ranked[:5])


def mib(size: float) -> str:
    return f"{size / MIB:.0f} MiB" if size >= 10 * MIB else f"{size / MIB:.1f} MiB"


def storage(mode: str) -> int:
    return STORAGE.get(mode, 4)


# --- decoding --------------------------------------------------------------------------------------------


def draft_scale(info: ImageInfo, draft: int | None) -> int:
    """The scale libjpeg decodes a JPEG at when Pillow asks for ``draft`` pixels per side (1, 2, 4 or 8)."""
    if not draft or info.format not in ("JPEG", "MPO"):
        return 1
    room = min(info.width // draft, info.height // draft)
    return next(s for s in (8, 4, 2, 1) if s <= max(room, 1))


def sizes(info: ImageInfo, draft: int | None) -> tuple[int, int]:
    """``(decoded, returned)`` pixels: what the decoder fills (a JPEG at its draft scale) and what
    ``preprocess.decode`` returns (after its whole-factor reduction)."""
    scale = draft_scale(info, draft)
    width, height = math.ceil(info.width / scale), math.ceil(info.height / scale)
    factor = max(width, height) // draft if draft else 1
    if factor < 2:
        return width * height, width * height
    return width * height, math.ceil(width / factor) * math.ceil(height / factor)


def decode(info: ImageInfo, draft: int | None = None) -> Cost:
    """Decoding the upload (``preprocess.decode``): the image in Pillow's storage, the decoder's own
    buffers and, with ``draft``, the whole-factor reduction (a converted copy for palette or 16-bit
    images, Pillow's premultiplied copy for transparent ones). ``held``: the image it returns."""
    decoded, returned = sizes(info, draft)
    source = info.pixels
    memory = decoded * storage(info.mode) + source * DECODER_BYTES.get(info.format, 0)
    if info.format in ("JPEG", "MPO"):
        channels = 1 if info.mode in ("L", "1") else 3
        memory += source * PROGRESSIVE_BYTES * channels // 3 if info.progressive else 0
        cpu = source * (JPEG_NS + SCAN_NS * max(info.scans, 1)) * NS
    else:
        bands = len(info.mode) if info.format == "PNG" and info.mode in ("LA", "RGB", "RGBA") else 1
        cpu = source * DECODE_NS.get(info.format, 4.0) * bands * NS
    held = decoded * storage(info.mode)
    if returned < decoded:  # the reduction of ``preprocess._shrink``
        converted = info.mode not in REDUCIBLE  # to L, LA or I first
        memory += decoded * 4 if converted else 0
        memory += decoded * 4 if info.mode in ALPHA else 0  # Image.reduce premultiplies alpha: a copy
        cpu += decoded * SHRINK_NS * NS
        held = returned * (4 if converted else storage(info.mode))
    return Cost.of("decode", memory + DECODER_FIXED, cpu, held)


def digit(info: ImageInfo, draft: int) -> Cost:
    """An upload made an MNIST-like digit (``preprocess.from_upload``): decoded at reduced size (``draft``),
    then a few float copies of that reduced image; only the small result is held."""
    decoded = decode(info, draft)
    reduced = sizes(info, draft)[1]
    cpu = (reduced * GRAY_NS + min(reduced, WORK_PIXELS) * DIGIT_NS) * NS
    steps = Cost.of("digit", reduced * 4 * DIGIT_COPIES, cpu, held=DIGIT_BYTES)
    return Cost(decoded.memory + steps.memory, decoded.cpu + steps.cpu, DIGIT_BYTES, decoded.parts + steps.parts)


def image(info: ImageInfo, channels: int) -> Cost:
    """An upload decoded at full size and made the kernel lab's float tensor; only the tensor is held."""
    steps = decode(info).then(image_tensor(info, channels))
    return Cost(steps.memory, steps.cpu, info.pixels * channels * 4, steps.parts)


def image_tensor(info: ImageInfo, channels: int) -> Cost:
    """The decoded image -> the kernel lab's (C, H, W) float32 tensor (``images.image_tensor``): a
    converted copy, its array, the floats, and for transparent images the composite over white."""
    pixels = info.pixels
    memory = pixels * (4 + channels + 4 * channels) + (pixels * 8 if info.mode in ALPHA else 0)
    return Cost.of("image", memory, pixels * channels * TENSOR_NS * NS, held=pixels * channels * 4)


# --- answers -----------------------------------------------------------------------------------------------


def answer(
    values: int, itemsize: int = 4, png_bytes: int = 0, level: int = 0, png_plane: int = 0, copied: bool = True
) -> Cost:
    """A JSON answer carrying ``values`` numbers as base64 (``itemsize`` bytes each) and PNGs of
    ``png_bytes`` pixel bytes (made one ``png_plane``-pixel channel at a time, through float
    temporaries): the array's bytes (``copied``: a converted copy, else a view), their base64, the PNG
    rows and file and their base64, then the joined body. ``held``: the body, until it has been sent."""
    raw = values * itemsize
    encoded = math.ceil(raw / 3) * 4 + math.ceil(png_bytes * 1.01 / 3) * 4
    memory = (raw if copied else 0) + png_bytes * 3 + png_plane * 12 + 2 * encoded
    cpu = (raw + png_bytes) * BASE64_NS * NS + png_bytes * (PIXEL_NS + PNG_NS[min(level, 1)]) * NS
    return Cost.of("answer", memory, cpu, held=encoded)


# --- the network ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NetworkProfile:
    """What one image costs the network, from its layer output sizes and weights."""

    values: int  # every intermediate's values, summed (what ``intermediates`` returns)
    widest: int  # the two largest consecutive intermediates together (a forward that keeps nothing)
    macs: int  # multiply-adds: each output value of a layer with weights costs one weight row
    layers: int
    scratch: int  # the largest convolution's unfolded input (im2col: output positions x weight row)


def _submodule(model: nn.Module, name: str) -> nn.Module | None:
    """The module a layer name is the path of (``conv1``, ``features.0``); None for a function's node."""
    try:
        return model.get_submodule(name)
    except AttributeError:
        return None


def profile(model: nn.Module, shapes: dict[str, list[int]]) -> NetworkProfile:
    """``model``'s profile from ``shapes`` (layer name -> output shape of one image, as the served model
    records them at load): conv and linear layers cost one weight row per output value (``weight[0]``:
    in_channels/groups x kernel area, or in_features); every other layer one operation per value."""
    sizes = [math.prod(shape) for shape in shapes.values()]
    macs = scratch = 0
    for name, shape in shapes.items():
        weight = getattr(_submodule(model, name), "weight", None)
        per_value = weight[0].numel() if isinstance(weight, torch.Tensor) and weight.dim() >= 2 else 1
        macs += math.prod(shape) * per_value
        if isinstance(weight, torch.Tensor) and weight.dim() >= 3:  # a convolution: (C, H, W) output
            scratch = max(scratch, math.prod(shape[1:]) * per_value)
    widest = max((a + b for a, b in itertools.pairwise(sizes)), default=sum(sizes))
    return NetworkProfile(sum(sizes), widest, macs, len(sizes), scratch)


def network(net: NetworkProfile, images: int, keep: bool = True, backward: bool = False, chunk: int = 0) -> Cost:
    """``images`` through the network, in chunks of ``chunk`` (0: all at once). ``keep``: every
    intermediate is returned (held), else only two layers live at a time; ``backward``: gradients too
    (autograd keeps every intermediate and builds as many gradients)."""
    live = chunk or images
    calls = math.ceil(images / live) if images else 0
    per_image = (net.values if keep or backward else net.widest) * (3 if backward else 1.1) + net.scratch
    memory = live * per_image * 4 + (BACKWARD_BYTES if backward else 0)
    cpu = (images * (net.macs * MAC_NS + net.values * VALUE_NS) + calls * net.layers * LAYER_NS) * NS
    if backward:
        cpu *= 3
    return Cost.of("network", memory, cpu, held=images * net.values * 4 if keep else 0)


def copies(name: str, values: int, copies: float = 1, held: int = 0) -> Cost:
    """``copies`` float copies of ``values`` numbers (padding, stacking, temporaries)."""
    return Cost.of(name, values * 4 * copies, values * copies * COPY_NS * NS, held=held)
