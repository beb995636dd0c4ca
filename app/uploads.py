"""Any upload or drawing -> the input of any served network: (H, W) pixels in [0, 1] for a one-channel
network, (C, H, W) for a colour one.

Three ways, chosen per request (``preprocess``) or by the model card:

- ``mnist`` (also called ``digit``): the MNIST pipeline of ``app.preprocess`` (ink found, cropped, scaled to
  20 px and centred by mass in 28 x 28), then resized to the network's input if that is not 28 x 28;
- ``resize``: grey or colour as the network takes it; the background is read from the border, trimmed
  away, and the object padded to a square and resized to the input, filling it like a Fashion-MNIST item;
  with ``invert`` (the card's ``"invert": "auto"``), a light background is turned dark first, because the
  network was trained on light objects on black;
- ``none``: the whole image resized to the input, nothing else.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from app import preprocess

MODES = ("mnist", "resize", "none")
BOX = Image.Resampling.BOX
MARGIN = 0.04  # of the side, kept around a trimmed object (Fashion-MNIST items nearly touch the frame)
CONTRAST = 0.08  # a pixel this far from the background colour belongs to the object


def _check(mode: str, shape: tuple[int, int, int]) -> None:
    if mode not in MODES:
        raise ValueError(f"preprocess must be one of {', '.join(MODES)}, not {mode!r}")
    if shape[0] not in (1, 3):
        raise ValueError(f"images can be made for 1 or 3 input channels, not {shape[0]}")
    if mode == "mnist" and shape[0] != 1:
        raise ValueError("the MNIST pipeline makes one-channel digits; this network takes colour: use resize")


def _array(img: Image.Image, channels: int) -> np.ndarray:
    """(H, W) or (H, W, 3) float32 in [0, 1]; transparency is composited on white (paper)."""
    if channels == 1:
        return preprocess.to_gray(img)
    rgba = img.convert("RGBA")
    white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return np.asarray(Image.alpha_composite(white, rgba).convert("RGB"), dtype=np.float32) / 255.0


def _resize(arr: np.ndarray, height: int, width: int) -> np.ndarray:
    """(h, w) or (h, w, 3) -> (height, width) or (height, width, 3) in [0, 1], a new array: area-averaged when
    shrinking, bilinear when only enlarging (as ``preprocess.plain`` does for the 28 x 28 digits)."""
    shrink = arr.shape[0] > height or arr.shape[1] > width
    method = BOX if shrink else Image.Resampling.BILINEAR
    planes = [arr] if arr.ndim == 2 else [arr[..., c] for c in range(arr.shape[-1])]
    out = [np.asarray(Image.fromarray(p.astype(np.float32), mode="F").resize((width, height), method)) for p in planes]
    return np.clip(out[0] if arr.ndim == 2 else np.stack(out, axis=-1), 0.0, 1.0)


def _channels_first(arr: np.ndarray) -> np.ndarray:
    return arr if arr.ndim == 2 else np.ascontiguousarray(arr.transpose(2, 0, 1))


def fit_object(arr: np.ndarray, height: int, width: int, invert: bool) -> np.ndarray:
    """The ``resize`` pipeline on (h, w) or (h, w, 3) pixels in [0, 1]."""
    border = np.concatenate([arr[0], arr[-1], arr[:, 0], arr[:, -1]])  # (2h + 2w[, 3])
    background = np.median(border, axis=0)  # a grey level or a colour
    if invert and float(np.mean(background)) > 0.5:
        arr, background = 1.0 - arr, 1.0 - background
    distance = np.abs(arr - background)
    mask = (distance.max(axis=-1) if arr.ndim == 3 else distance) > CONTRAST
    if mask.any():
        rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
        arr = arr[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    h, w = arr.shape[:2]
    side = round(max(h, w) * (1 + 2 * MARGIN))
    canvas = np.empty((side, side, *arr.shape[2:]), dtype=np.float32)
    canvas[...] = background
    top, left = (side - h) // 2, (side - w) // 2
    canvas[top : top + h, left : left + w] = arr
    if invert:  # the network's background is black: make the padding exactly that
        canvas = np.clip((canvas - background) / max(1e-3, 1 - float(np.mean(background))), 0, 1)
    return _resize(canvas, height, width)


def draft_for(mode: str, shape: tuple[int, int, int]) -> int:
    """The pixels per side ``from_upload`` decodes an upload at for ``mode`` and a network input ``shape``."""
    return preprocess.draft_for("mnist") if mode == "mnist" else 4 * max(shape[1:])


def from_upload(
    data: bytes, mode: str, limits: preprocess.Limits, shape: tuple[int, int, int], invert: bool = False
) -> np.ndarray:
    """Uploaded bytes -> the network's input: (H, W) for one channel, (C, H, W) for colour."""
    _check(mode, shape)
    channels, height, width = shape
    if mode == "mnist":
        digit = preprocess.from_upload(data, "mnist", limits)  # (28, 28)
        return digit if digit.shape == (height, width) else _resize(digit, height, width)
    img = preprocess.decode(data, limits, draft=draft_for(mode, shape))
    arr = _array(img, channels)
    if mode == "resize":
        return _channels_first(fit_object(arr, height, width, invert))
    return _channels_first(_resize(arr, height, width))


def from_pixels(pixels: np.ndarray, mode: str, shape: tuple[int, int, int], invert: bool = False) -> np.ndarray:
    """Drawn pixels (H, W) or (C, H, W) in [0, 1] in the network's size -> its input."""
    _check(mode, shape)
    channels, height, width = shape
    expected = (height, width) if channels == 1 else shape
    if pixels.shape != expected:
        wanted = " x ".join(map(str, expected))
        raise ValueError(f"expected {wanted} values (the network's input), not {' x '.join(map(str, pixels.shape))}")
    pixels = pixels.astype(np.float32, copy=False)
    if mode == "none" or not pixels.any():
        return pixels
    if mode == "mnist":
        return preprocess.from_pixels(pixels, "mnist") if pixels.shape == (28, 28) else pixels
    arr = pixels if channels == 1 else pixels.transpose(1, 2, 0)
    return _channels_first(fit_object(arr, height, width, invert))
