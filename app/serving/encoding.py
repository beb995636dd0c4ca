"""Arrays on the wire: base64 of the little-endian, C-order bytes, and back."""

from __future__ import annotations

import numpy as np
import pybase64

DTYPES = {"float32": np.dtype("<f4"), "float16": np.dtype("<f2")}


def wire_dtype(dtype: str) -> np.dtype:
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {sorted(DTYPES)}, not {dtype!r}")
    return DTYPES[dtype]


def encode(array: np.ndarray, dtype: str = "float32") -> str:
    """Base64 of ``array`` as little-endian ``dtype`` in C order."""
    return pybase64.b64encode_as_string(np.ascontiguousarray(array, dtype=wire_dtype(dtype)).tobytes())


def encode_segments(flat: np.ndarray, sizes: list[int], dtype: str = "float32") -> list[str]:
    """Base64 of consecutive segments of a 1-D array (one conversion to ``dtype`` for all of them)."""
    raw = memoryview(np.ascontiguousarray(flat, dtype=wire_dtype(dtype)).tobytes())
    itemsize, out, start = wire_dtype(dtype).itemsize, [], 0
    for size in sizes:
        out.append(pybase64.b64encode_as_string(raw[start : start + size * itemsize]))
        start += size * itemsize
    return out


def decode(data: str, shape: list[int] | tuple[int, ...], dtype: str = "float32") -> np.ndarray:
    """The inverse of ``encode``: base64 text -> an array of ``shape`` (float32 or float16)."""
    raw = pybase64.b64decode(data, validate=True)
    return np.frombuffer(raw, dtype=wire_dtype(dtype)).reshape(shape)
