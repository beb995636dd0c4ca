"""Arrays on the wire: base64 of the little-endian, C-order bytes, and back; JSON answers, with large
arrays spliced in after serialisation."""

from __future__ import annotations

from typing import Any

import numpy as np
import orjson
import pybase64
import torch
from starlette.responses import Response

DTYPES: dict[str, np.dtype] = {"float32": np.dtype("<f4"), "float16": np.dtype("<f2")}


def wire_dtype(dtype: str) -> np.dtype:
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {sorted(DTYPES)}, not {dtype!r}")
    return DTYPES[dtype]


def wire_bytes(array: np.ndarray, dtype: str = "float32") -> memoryview:
    """The bytes of ``array`` as little-endian ``dtype`` in C order.

    float32 -> float16 goes through torch: the same bits as numpy's ``astype`` (both round to nearest even;
    only a NaN's payload may differ) at a twentieth of its time (6 against 148 us for the 87,564 values of
    one LeNet answer, bench/draw_steps.py), which is what makes a float16 answer cheaper than a float32 one
    to make."""
    target = wire_dtype(dtype)
    if target.itemsize == 2 and array.dtype == np.float32 and array.size:
        if not array.flags.writeable:  # torch warns about read-only arrays
            array = array.copy()
        array = torch.from_numpy(np.ascontiguousarray(array)).to(torch.float16).numpy()
    return np.ascontiguousarray(array, dtype=target).data.cast("B")


def encode(array: np.ndarray, dtype: str = "float32") -> str:
    """Base64 of ``array`` as little-endian ``dtype`` in C order."""
    return pybase64.b64encode_as_string(wire_bytes(array, dtype))


def decode(data: str, shape: list[int] | tuple[int, ...], dtype: str = "float32") -> np.ndarray:
    """The inverse of ``encode``: base64 text -> an array of ``shape`` (float32 or float16)."""
    raw = pybase64.b64decode(data, validate=True)
    return np.frombuffer(raw, dtype=wire_dtype(dtype)).reshape(shape)


class Blobs:
    """Large base64 strings spliced into the JSON text after orjson has serialised the rest.

    orjson scans every byte of a string for characters to escape (base64 has none): about 9 ms for the
    16 MB of one 1024x1024 RGB output, a fifth of the time budget. Each blob is put in the payload as a
    placeholder string (NUL, index, NUL: no other string here holds a NUL) and joined in afterwards.
    """

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def add(self, raw: bytes | memoryview) -> str:
        self.parts.append(pybase64.b64encode(raw))
        return f"\x00{len(self.parts) - 1}\x00"

    def array(self, values: torch.Tensor, dtype: str) -> str:
        return self.add(wire_bytes(values.numpy(), dtype))

    def json(self, payload: dict) -> bytes:
        pieces = orjson.dumps(payload).split(b'"\\u0000')
        out = [pieces[0]]
        for piece in pieces[1:]:
            index, rest = piece.split(b'\\u0000"', 1)
            out += [b'"', self.parts[int(index)], b'"', rest]
        return b"".join(out)


def json_response_bytes(body: bytes) -> Response:
    """A 200 answer of JSON already serialised."""
    return Response(body, media_type="application/json")


def json_response(payload: Any, status_code: int = 200) -> Response:
    """Serialise with orjson. Used where the body is large (base64 arrays): the route's
    ``response_model`` still documents it, and the API tests validate responses against it."""
    return Response(orjson.dumps(payload), status_code=status_code, media_type="application/json")
