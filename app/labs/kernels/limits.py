"""The kernel lab's limits and the checks of its inputs, shared by the core and the API schemas (which
import nothing heavier than numpy from here)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np

from app.errors import StatusError

MAX_KERNEL = 15  # largest kernel side
MAX_KERNELS = 8  # kernels per request
MAX_VALUE = 1e6  # largest |kernel value| (keeps every float32 sum finite)
MAX_PADDING = 64  # largest explicit padding, in pixels per side
MAX_STRIDE = 64
MAX_POOL = 32  # largest pooling window side
MAX_OUTPUT_VALUES = 1 << 24  # float32 values in one answer (every output and the combined one): 64 MiB
MODES = ("cross-correlation", "convolution")
PADDING_MODES = {"zeros": "constant", "reflect": "reflect", "replicate": "replicate", "circular": "circular"}
COMBINES = ("none", "magnitude", "sum")
COLORS = ("gray", "rgb")
POOL_OPS = ("max", "avg")
ROUNDINGS = ("floor", "ceil")  # of (W - K + 2P) / S when it is not whole


def max_pool_padding(size: int) -> int:
    """PyTorch's rule: a pooling window of side ``size`` takes at most size // 2 padding per side."""
    return size // 2


def as_dict() -> dict:
    """Every limit of the kernel lab, for GET /api/kernels/limits (the pages check against these)."""
    return {
        "max_kernel": MAX_KERNEL,
        "max_kernels": MAX_KERNELS,
        "max_value": MAX_VALUE,
        "max_padding": MAX_PADDING,
        "max_stride": MAX_STRIDE,
        "max_pool": MAX_POOL,
        "pool_padding": "at most size // 2 (half the window, rounded down), as in PyTorch",
        "max_pool_padding": [max_pool_padding(size) for size in range(MAX_POOL + 1)],
        "max_output_values": MAX_OUTPUT_VALUES,
        "modes": list(MODES),
        "padding_modes": list(PADDING_MODES),
        "combines": list(COMBINES),
        "colors": list(COLORS),
        "pool_ops": list(POOL_OPS),
        "roundings": list(ROUNDINGS),
    }


class TooLarge(StatusError):
    """The answer would exceed ``MAX_OUTPUT_VALUES`` (413)."""

    status = 413


def check_choice(field: str, value: object, choices: Iterable[str]) -> None:
    """ValueError naming ``field`` unless ``value`` is one of ``choices``."""
    options = tuple(choices)
    if value not in options:
        raise ValueError(f"{field}: must be one of {', '.join(options)}, not {value!r}")


def check_stride(stride: object, field: str = "stride") -> int:
    if isinstance(stride, bool) or not isinstance(stride, int) or not 1 <= stride <= MAX_STRIDE:
        raise ValueError(f"{field}: must be an integer 1..{MAX_STRIDE}, not {stride!r}")
    return stride


def check_output_size(values: int) -> None:
    """TooLarge when an answer would carry more than ``MAX_OUTPUT_VALUES`` numbers."""
    if values > MAX_OUTPUT_VALUES:
        raise TooLarge(
            f"the result would have {values:,} values; the limit is {MAX_OUTPUT_VALUES:,} per request"
            " (outputs x channels x height x width, the combined output included): use a smaller image,"
            ' fewer kernels, a larger stride or color "gray"'
        )


def as_kernel(values: object, field: str, max_size: int = MAX_KERNEL) -> np.ndarray:
    """A k x k matrix of finite numbers (1 <= k <= ``max_size``) -> float32 (k, k); ValueError naming
    ``field`` if it is empty, ragged, not square, too large or not finite."""
    if not isinstance(values, Sequence) or isinstance(values, str | bytes):
        raise ValueError(f"{field}: expected a k x k matrix (a list of rows), not {type(values).__name__}")
    rows = len(values)
    if rows == 0:
        raise ValueError(f"{field}: the kernel is empty; give 1 to {max_size} rows")
    for i, row in enumerate(values):
        if not isinstance(row, Sequence) or isinstance(row, str | bytes):
            raise ValueError(f"{field}: row {i} is not a list of numbers")
        if len(row) != rows:
            lengths = ", ".join(str(len(r)) if isinstance(r, Sequence) else "?" for r in values)
            raise ValueError(
                f"{field}: a kernel is a square k x k matrix, but it has {rows} rows of lengths {lengths}"
                + (" (ragged)" if len({len(r) for r in values if isinstance(r, Sequence)}) > 1 else "")
            )
        for j, v in enumerate(row):
            if isinstance(v, bool) or not isinstance(v, int | float):
                raise ValueError(f"{field}: value [{i}][{j}] is not a number: {v!r}")
            if not math.isfinite(v) or abs(v) > MAX_VALUE:
                raise ValueError(f"{field}: value [{i}][{j}] must be a finite number within +-{MAX_VALUE:g}, not {v}")
    if rows > max_size:
        raise ValueError(f"{field}: the kernel is {rows}x{rows}; the largest allowed is {max_size}x{max_size}")
    return np.asarray(values, dtype=np.float32)  # (k, k)


def as_kernels(values: object, field: str = "kernels") -> list[np.ndarray]:
    """One to ``MAX_KERNELS`` kernels, all of the same size -> a list of float32 (k, k)."""
    if not isinstance(values, Sequence) or isinstance(values, str | bytes) or not values:
        raise ValueError(f"{field}: give a list of 1 to {MAX_KERNELS} kernels (k x k matrices)")
    if len(values) > MAX_KERNELS:
        raise ValueError(f"{field}: {len(values)} kernels; at most {MAX_KERNELS} per request")
    kernels = [as_kernel(k, f"{field}[{i}]") for i, k in enumerate(values)]
    sizes = sorted({k.shape[0] for k in kernels})
    if len(sizes) > 1:
        raise ValueError(f"{field}: all kernels must have the same size (so their outputs line up), got {sizes}")
    return kernels
