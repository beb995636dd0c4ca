"""Helpers for the tests: images made in memory, a fingerprint of a model's state, the live server's
handle. Imported by the test modules; fixtures stay in conftest.py."""

from __future__ import annotations

import io
import subprocess
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image


def png_bytes(array: np.ndarray, mode: str | None = None, **save: object) -> bytes:
    """uint8 (H, W) or (H, W, C) -> PNG bytes."""
    buf = io.BytesIO()
    Image.fromarray(array, mode=mode).save(buf, format="PNG", **save)
    return buf.getvalue()


def encode(img: Image.Image, fmt: str, **save: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **save)
    return buf.getvalue()


def state_checksum(model: torch.nn.Module) -> dict[str, bytes]:
    """Every parameter and buffer, as bytes, plus the training flag of every module."""
    sums = {k: v.detach().numpy().tobytes() for k, v in model.state_dict().items()}
    sums["__modes__"] = bytes(m.training for m in model.modules())
    return sums


@dataclass(frozen=True)
class LiveServer:
    """The session's ``convlens serve`` (the ``live_server`` fixture)."""

    base: str  # http://127.0.0.1:<port>
    process: subprocess.Popen

    @property
    def port(self) -> int:
        return int(self.base.rsplit(":", 1)[1])
