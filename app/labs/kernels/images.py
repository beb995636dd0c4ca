"""Images for the kernel lab: (C, H, W) float32 in [0, 1]. "gray" is one channel (Pillow's "L"), "rgb"
three, and every channel is filtered on its own with the same kernel."""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from app.labs.kernels.limits import COLORS, check_choice


def image_tensor(img: Image.Image, color: str) -> torch.Tensor:
    """A decoded image -> (C, H, W) float32 in [0, 1]: gray is Pillow's "L" (C = 1), rgb its "RGB"
    (C = 3). Transparent pixels are composited over white first; 16-bit and float images are scaled
    by their full range (65535, or 255 for 8-bit data stored as 32-bit)."""
    check_choice("color", color, COLORS)
    if img.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        arr = np.asarray(img, dtype=np.float32)
        top = 65535.0 if img.mode.startswith("I;16") or arr.max(initial=0) > 255 else 255.0
        gray = torch.from_numpy(np.clip(arr / top, 0.0, 1.0))  # (H, W)
        return gray.expand(3 if color == "rgb" else 1, *gray.shape).contiguous()
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        img = Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba)
    arr = np.asarray(img.convert("L" if color == "gray" else "RGB"))  # (H, W) or (H, W, 3) uint8
    planes = arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)  # (C, H, W), a view
    out = np.empty(planes.shape, dtype=np.float32)
    for c, plane in enumerate(planes):  # one channel at a time: no full-size temporaries
        np.divide(plane, np.float32(255), out=out[c])
    return torch.from_numpy(out)


def gray_to(pixels: np.ndarray, color: str) -> torch.Tensor:
    """(H, W) float [0, 1] (a sample digit) -> (C, H, W) for ``color``."""
    check_choice("color", color, COLORS)
    t = torch.from_numpy(np.ascontiguousarray(pixels, dtype=np.float32))  # (H, W)
    return t.expand(3 if color == "rgb" else 1, *t.shape).contiguous()
