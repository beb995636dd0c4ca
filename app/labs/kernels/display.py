"""The kernel lab's outputs as pictures: values -> grey levels (``display_scale``, ``to_pixels``) -> PNG bytes."""

from __future__ import annotations

import struct
import zlib

import numpy as np
import torch


def display_scale(lo: float, hi: float) -> tuple[str, float, float]:
    """How values map to PNG grey levels: ``(mode, low, high)`` with ``low`` -> 0 and ``high`` -> 255,
    linear in between. Signed outputs (min < 0) are "symmetric": +-max|value|, so 0 is mid-grey 127.5;
    others are "minmax": min -> 0, max -> 255."""
    if lo < 0:
        m = max(-lo, hi)
        return "symmetric", -m, m
    return "minmax", lo, hi


def to_pixels(values: torch.Tensor, low: float, high: float) -> np.ndarray:
    """(C, H, W) -> uint8 (H, W) for one channel or (H, W, 3) for three: round((v - low) * 255 / (high -
    low)), clipped to 0..255. A constant output (high == low) is all 0."""
    scale = 255.0 / (high - low) if high > low else 0.0
    planes = values.numpy()
    c, h, w = planes.shape
    out = np.empty((h, w, c), dtype=np.uint8)
    for ch in range(c):  # one channel at a time: no big temporaries, and the interleaving comes free
        level = (planes[ch] - np.float32(low)) * np.float32(scale) + np.float32(0.5)  # (H, W)
        np.clip(level, 0, 255, out=level)
        out[:, :, ch] = level  # truncation of v + 0.5 >= 0: rounding
    return out[:, :, 0] if c == 1 else out


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(data, zlib.crc32(kind)))


def png(pixels: np.ndarray, level: int = 0) -> bytes:
    """uint8 (H, W) grey or (H, W, 3) RGB -> PNG bytes with zlib ``level`` 0..9. Level 0 stores the rows
    uncompressed (a few ms for megapixels, where Pillow's encoder takes tens); higher levels use PNG's
    "Sub" filter, which suits smooth images."""
    if not 0 <= level <= 9:
        raise ValueError(f"png_compression: must be 0..9, not {level}")
    h, w = pixels.shape[:2]
    channels = 1 if pixels.ndim == 2 else pixels.shape[2]
    flat = pixels.reshape(h, w * channels)
    rows = np.empty((h, w * channels + 1), dtype=np.uint8)
    if level == 0:
        rows[:, 0] = 0  # filter: None
        rows[:, 1:] = flat
    else:
        rows[:, 0] = 1  # filter: Sub (difference to the pixel on the left)
        rows[:, 1 : channels + 1] = flat[:, :channels]
        np.subtract(flat[:, channels:], flat[:, :-channels], out=rows[:, channels + 1 :])
    header = struct.pack(">IIBBBBB", w, h, 8, 0 if channels == 1 else 2, 0, 0, 0)
    return b"".join(
        (
            b"\x89PNG\r\n\x1a\n",
            _chunk(b"IHDR", header),
            _chunk(b"IDAT", zlib.compress(rows.data, level)),
            _chunk(b"IEND", b""),
        )
    )
