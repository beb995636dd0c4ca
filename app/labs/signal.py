"""Convolution the mathematical way, in 1-D: ``(a * b)[n] = sum_k a[k] b[n - k]``, which flips ``b``
before sliding it; correlation slides it as it is, ``sum_k a[k + n - (M - 1)] b[k]`` (deep learning's
"convolution"). The convolution of two probability distributions is the distribution of the sum: two
dice, [1/6] * 6 each, give the triangle 1/36, 2/36, ... 6/36, ... 1/36 over the sums 2..12.

Output lengths, as numpy.convolve and numpy.correlate give them (N = len(signal), M = len(kernel)):
"full" N + M - 1, "same" max(N, M) (the middle of full), "valid" max(N, M) - min(N, M) + 1 (where one lies
wholly over the other).
"""

from __future__ import annotations

import math
from typing import Any

MAX_LENGTH = 128  # values in the signal, and in the kernel
MAX_VALUE = 1e6
MODES = ("convolution", "correlation")
PADDINGS = ("full", "same", "valid")


def as_values(raw: Any, field: str) -> list[float]:
    """A JSON list of 1..MAX_LENGTH finite numbers; ValueError naming ``field``."""
    if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_LENGTH:
        raise ValueError(f"{field}: expected a list of 1 to {MAX_LENGTH} numbers")
    for i, v in enumerate(raw):
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise ValueError(f"{field}[{i}]: {v!r} is not a number")
        if not math.isfinite(v) or abs(v) > MAX_VALUE:
            raise ValueError(f"{field}[{i}]: must be a finite number within +-{MAX_VALUE:g}, not {v}")
    return [float(v) for v in raw]


def first_index(n: int, m: int, mode: str, padding: str) -> int:
    """The index in the full output of the first value kept by ``padding`` (numpy's rules)."""
    short = min(n, m)
    if padding == "full":
        return 0
    if padding == "valid":
        return short - 1
    if mode == "correlation" and m > n:  # numpy.correlate swaps its arguments and reverses the result
        return short - 1 - (short - 1) // 2
    return (short - 1) // 2


def output_length(n: int, m: int, padding: str) -> int:
    return {"full": n + m - 1, "same": max(n, m), "valid": max(n, m) - min(n, m) + 1}[padding]


def kernel_index(mode: str, full: int, k: int, m: int) -> int:
    """Which kernel value multiplies signal value ``k`` for full output index ``full``."""
    return full - k if mode == "convolution" else k + m - 1 - full


def convolve1d(signal: list[float], kernel: list[float], mode: str, padding: str) -> dict:
    """The output and, for every output index, the products that sum to it (signal index, kernel index,
    the two values and their product), summed in float64 in the order of the signal index."""
    if mode not in MODES:
        raise ValueError(f"mode: must be one of {', '.join(MODES)}, not {mode!r}")
    if padding not in PADDINGS:
        raise ValueError(f"padding: must be one of {', '.join(PADDINGS)}, not {padding!r}")
    n, m = len(signal), len(kernel)
    start = first_index(n, m, mode, padding)
    steps = []
    for i in range(output_length(n, m, padding)):
        full = start + i
        terms = []
        for k in range(n):
            j = kernel_index(mode, full, k, m)
            if 0 <= j < m:
                terms.append({"i": k, "j": j, "a": signal[k], "b": kernel[j], "product": signal[k] * kernel[j]})
        steps.append({"index": i, "full_index": full, "terms": terms, "sum": math.fsum(t["product"] for t in terms)})
    return {
        "mode": mode,
        "padding": padding,
        "first_full_index": start,
        "output": [s["sum"] for s in steps],
        "steps": steps,
        "flipped_kernel": kernel[::-1] if mode == "convolution" else list(kernel),
    }
