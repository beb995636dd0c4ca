"""Array operations behind the upload preprocessing, on (H, W) float images: separable rank filters, a
grey-scale opening, a Gaussian blur, a noise estimate, and the connected pieces of a mask (numpy only:
SciPy is not a dependency of the server)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def median(a: np.ndarray) -> float:
    """``float(np.median(a))`` over all of ``a``'s values, by one partition: np.median's own steps (the same
    partition, the mean of the two middle values for an even count, NaN if there is one) without the
    generic machinery around them, which costs more than the work on a digit-sized array."""
    flat = a.ravel()
    n = flat.size
    if n == 0:
        return float(np.median(flat))  # NaN, with numpy's own warning
    k = n // 2
    kth = (k, n - 1) if n % 2 else (k - 1, k, n - 1)  # the last one: the largest value, NaN if any
    part = np.partition(flat, kth)
    if np.isnan(part[-1]):
        return float("nan")
    return float(part[k]) if n % 2 else float((part[k - 1] + part[k]) / 2)


def zero_pad(a: np.ndarray, width: int) -> np.ndarray:
    """``np.pad(a, width)`` (zeros, or False, around a 2-D array), without np.pad's generic machinery."""
    h, w = a.shape
    out = np.zeros((h + 2 * width, w + 2 * width), a.dtype)
    out[width : width + h, width : width + w] = a
    return out


def rank_filter(a: np.ndarray, size: int, op: Callable[..., np.ndarray]) -> np.ndarray:
    """``op`` (np.min or np.max) of (H, W) float ``a`` over the size x size window centred on each pixel,
    the window clipped at the edges. Separable, and along each axis van Herk's running minimum: the
    line is cut into blocks of ``size``, each window spans the end of one block and the start of the
    next, so it is the min (max) of a suffix and a prefix: O(1) per pixel, whatever the size."""
    if size <= 1:
        return a
    ufunc = np.minimum if op is np.min else np.maximum
    fill = np.inf if ufunc is np.minimum else -np.inf
    r = size // 2
    for axis in (0, 1):
        line = np.moveaxis(a, axis, -1)  # (M, N): filtered along N
        n = line.shape[-1]
        total = -(-(n + size - 1) // size) * size  # room for every window, in whole blocks
        padded = np.full((*line.shape[:-1], total), fill, dtype=a.dtype)
        padded[..., r : r + n] = line
        # (size, M, blocks): accumulating along the first axis runs vectorised over the others
        blocks = np.ascontiguousarray(padded.reshape(*line.shape[:-1], total // size, size).transpose(2, 0, 1))
        prefix = ufunc.accumulate(blocks, axis=0).transpose(1, 2, 0).reshape(padded.shape)
        suffix = ufunc.accumulate(blocks[::-1], axis=0)[::-1].transpose(1, 2, 0).reshape(padded.shape)
        a = np.moveaxis(ufunc(suffix[..., :n], prefix[..., size - 1 : size - 1 + n]), -1, axis)  # window i: i..i+size
    return a


def opening(a: np.ndarray, size: int) -> np.ndarray:
    """Grey-scale opening of (H, W) ``a`` with a size x size square: ``a`` with every peak that no window
    fits inside removed. Light that falls off towards one side (a ramp, a shadow's edge, or both falling
    the same way) is kept exactly, also at the edges: the edge values are extended by a window's width,
    so a ramp's end is a plateau a window fits on (clipped windows would cut it down by the ramp's fall
    over a window). An even ``size`` is rounded up to the next odd one (centred windows)."""
    size |= 1  # centred windows: an even one would shift the result by half a pixel
    p = size - 1
    padded = np.pad(a, p, mode="edge") if p > 0 else a
    opened = rank_filter(rank_filter(padded, size, np.min), size, np.max)
    return opened[p : p + a.shape[0], p : p + a.shape[1]] if p > 0 else opened


def noise_sigma(a: np.ndarray) -> float:
    """Robust standard deviation of pixel noise in (H, W) ``a``, from differences of horizontal neighbours
    (edges and smooth shading barely move their median)."""
    if a.shape[1] < 2:
        return 0.0
    return float(1.4826 / np.sqrt(2) * median(np.abs(np.diff(a, axis=1))))


def gaussian_blur(a: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur of (H, W) ``a`` (separable, edges reflected)."""
    r = max(1, round(3 * sigma))
    kernel = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2).astype(np.float32)  # (2r + 1,)
    kernel /= kernel.sum()
    for axis in (0, 1):
        pad = [(0, 0), (0, 0)]
        pad[axis] = (r, r)
        a = np.lib.stride_tricks.sliding_window_view(np.pad(a, pad, mode="reflect"), 2 * r + 1, axis=axis) @ kernel
    return a


def local_median(a: np.ndarray, size: int, step: int = 2) -> np.ndarray:
    """The median of the size x size window (edges reflected) around every ``step``-th pixel of (H, W)
    ``a``, interpolated bilinearly in between: a smooth local median, ``step``**2 times cheaper than at
    every pixel. Features covering less than half of a window (strokes, specks) are ignored."""
    r = size // 2
    windows = np.lib.stride_tricks.sliding_window_view(np.pad(a, r, mode="reflect"), (size, size))
    coarse = np.median(windows[::step, ::step], axis=(-2, -1)).astype(np.float32)  # (ceil(H / step), ...)
    h, w = a.shape
    ys, xs = np.arange(h) / step, np.arange(w) / step  # positions on the coarse grid
    y0, x0 = np.minimum(ys.astype(int), coarse.shape[0] - 1), np.minimum(xs.astype(int), coarse.shape[1] - 1)
    y1, x1 = np.minimum(y0 + 1, coarse.shape[0] - 1), np.minimum(x0 + 1, coarse.shape[1] - 1)
    fy, fx = (ys - y0)[:, None], (xs - x0)[None, :]
    top = coarse[y0][:, x0] * (1 - fx) + coarse[y0][:, x1] * fx
    bottom = coarse[y1][:, x0] * (1 - fx) + coarse[y1][:, x1] * fx
    return top * (1 - fy) + bottom * fy


def box_mean3(a: np.ndarray) -> np.ndarray:
    """The mean of each pixel's 3x3 neighbourhood in (H, W) ``a`` (zeros beyond the edges)."""
    p = np.pad(a, 1)
    h, w = a.shape
    total = np.zeros(a.shape, np.result_type(a.dtype, np.float32))  # (H, W)
    for dy in range(3):
        for dx in range(3):
            total += p[dy : dy + h, dx : dx + w]
    return total / 9.0


def stroke_width(mask: np.ndarray) -> float:
    """Mean stroke width of a binary mask, estimated as 2 * area / boundary length (pixels beyond the
    edges count as background)."""
    mask = zero_pad(mask, 1)
    inner = mask.copy()
    inner[1:] &= mask[:-1]
    inner[:-1] &= mask[1:]
    inner[:, 1:] &= mask[:, :-1]
    inner[:, :-1] &= mask[:, 1:]
    boundary = int((mask & ~inner).sum())
    return 2.0 * float(mask.sum()) / max(boundary, 1)


def runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The horizontal runs of (H, W) bool ``mask``: (row, start, end exclusive), each (R,), row-major."""
    framed = np.zeros((mask.shape[0], mask.shape[1] + 2), np.int8)
    framed[:, 1:-1] = mask
    edges = np.diff(framed, axis=1)  # (H, W + 1)
    rows, starts = np.nonzero(edges == 1)
    _, ends = np.nonzero(edges == -1)
    return rows, starts, ends


def run_components(rows: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """For each run, the id of its 8-connected component (union-find over touching runs of adjacent rows)."""
    parent = list(range(len(rows)))
    begin, end = starts.tolist(), ends.tolist()

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    bounds = np.searchsorted(rows, np.arange(int(rows[-1]) + 2)).tolist()  # row y's runs: bounds[y]:bounds[y + 1]
    for y in range(1, len(bounds) - 1):
        a, a_end, b, b_end = bounds[y - 1], bounds[y], bounds[y], bounds[y + 1]
        while a < a_end and b < b_end:  # sweep both rows' runs left to right
            if begin[a] <= end[b] and begin[b] <= end[a]:  # touching, diagonals included
                ra, rb = find(a), find(b)
                parent[max(ra, rb)] = min(ra, rb)
            if end[a] < end[b]:
                a += 1
            else:
                b += 1
    return np.array([find(i) for i in range(len(parent))])
