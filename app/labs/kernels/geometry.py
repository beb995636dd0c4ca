"""The output-size arithmetic of a kernel or pooling window on an image, axis by axis, with the numbers
filled in for the API (``Axis.describe``).

When (W - K + P_before + P_after) / S is not whole, ``rounding`` decides: "floor" (the default) stops the
windows before the end, so the last padded rows/columns are never looked at; "ceil" takes one more window,
which overhangs the end of the padded input, with PyTorch's ``ceil_mode`` rule that a window must start
inside the input or the padding before it (one that would start in the padding after it is not taken)."""

from __future__ import annotations

from dataclasses import dataclass

from app.labs.kernels.limits import (
    MAX_PADDING,
    MAX_POOL,
    PADDING_MODES,
    ROUNDINGS,
    check_choice,
    check_stride,
    max_pool_padding,
)


@dataclass(frozen=True)
class Axis:
    """The output-size arithmetic along one axis (height or width)."""

    size: int  # W: input pixels along the axis
    kernel: int  # K
    stride: int  # S
    before: int  # padding before (top or left)
    after: int  # padding after (bottom or right)
    rule: str = ""  # how the padding was chosen, in words
    rounding: str = "floor"  # "floor" or "ceil" (PyTorch's ceil_mode)

    @property
    def span(self) -> int:
        """W - K + P_before + P_after: how far the window can travel."""
        return self.size + self.before + self.after - self.kernel

    @property
    def output_floor(self) -> int:
        """floor(span / S) + 1: every window inside the padded input."""
        return self.span // self.stride + 1

    @property
    def output_ceil(self) -> int:
        """ceil(span / S) + 1, less one when that last window would start in the padding after the input
        (PyTorch's ceil_mode rule)."""
        out = -(-self.span // self.stride) + 1
        if (out - 1) * self.stride >= self.size + self.before:
            out -= 1
        return out

    @property
    def output(self) -> int:
        return self.output_ceil if self.rounding == "ceil" else self.output_floor

    @property
    def tail(self) -> int:
        """Padded rows/columns after the end of the last window (negative: it overhangs by that many)."""
        return self.size + self.before + self.after - ((self.output - 1) * self.stride + self.kernel)

    @property
    def remainder(self) -> int:
        """Padded rows/columns past the last window (dropped by the floor)."""
        return max(self.tail, 0)

    @property
    def overhang(self) -> int:
        """Rows/columns the last window reaches past the end of the padded input (ceil only)."""
        return max(-self.tail, 0)

    def uncovered(self) -> list[tuple[int, int]]:
        """Inclusive ranges of input indices that no window touches: the tail dropped by the floor, and
        the gaps between windows when the stride is larger than the kernel."""
        ranges, free = [], 0  # free: the first input index not yet covered
        starts = range(-self.before, -self.before + self.output * self.stride, self.stride)
        if self.kernel < self.stride:
            for start in starts:
                if start > free and free < self.size:
                    ranges.append((free, min(start, self.size) - 1))
                free = max(free, start + self.kernel)
        else:
            free = max(free, starts[-1] + self.kernel)
        if free < self.size:
            ranges.append((free, self.size - 1))
        return ranges

    def describe(self, name: str) -> dict:
        """The arithmetic with the numbers filled in, as the API returns it."""
        letter, unit, ends = ("H", "row", ("top", "bottom")) if name == "height" else ("W", "column", ("left", "right"))
        symmetric = self.before == self.after
        formula = f"({letter} - K + 2P) / S + 1" if symmetric else f"({letter} - K + P_{ends[0]} + P_{ends[1]}) / S + 1"
        pads = f"2*{self.before}" if symmetric else f"{self.before} + {self.after}"
        inner = f"({self.size} - {self.kernel} + {pads}) / {self.stride}"
        quotient = self.span / self.stride
        whole = self.span % self.stride == 0
        if whole:
            expression = f"{inner} + 1 = {self.span // self.stride} + 1 = {self.output}"
        else:
            how = self.rounding
            rounded = self.span // self.stride if how == "floor" else -(-self.span // self.stride)
            expression = f"{how}({inner}) + 1 = {how}({quotient:g}) + 1 = {rounded + 1}"
            if rounded + 1 != self.output:
                expression += f" - 1 = {self.output} (that window would start in the padding)"
        uncovered = self.uncovered()
        return {
            "input": self.size,
            "kernel": self.kernel,
            "stride": self.stride,
            "pad_before": self.before,
            "pad_after": self.after,
            "padding_rule": self.rule,
            "formula": formula,
            "expression": expression,
            "quotient": quotient,
            "whole": whole,
            "rounding": self.rounding,
            "output": self.output,
            "output_floor": self.output_floor,
            "output_ceil": self.output_ceil,
            "remainder": self.remainder,
            "overhang": self.overhang,
            "uncovered": [list(r) for r in uncovered],
            "uncovered_count": sum(b - a + 1 for a, b in uncovered),
            "note": self._note(letter, unit, ends, quotient, uncovered),
        }

    def _note(
        self, letter: str, unit: str, ends: tuple[str, str], quotient: float, uncovered: list[tuple[int, int]]
    ) -> str:
        span = f"({letter} - K + 2P) / S = {self.span}/{self.stride} = {quotient:g}"
        if self.span % self.stride == 0:
            text = f"{span} is whole: the last window ends exactly at the end of the padded input."
        elif self.rounding == "floor":
            text = (
                f"{span} is not whole, so it is rounded down: {self.output} outputs, and the last"
                f" {self.remainder} padded {unit}(s) at the {ends[1]} are never inside a window"
                f" (rounding up would give {self.output_ceil})."
            )
        elif self.overhang:
            text = (
                f"{span} is not whole, so it is rounded up: {self.output} outputs, and the last window reaches"
                f" {self.overhang} {unit}(s) past the {ends[1]} of the padded input"
                f" (rounding down would give {self.output_floor})."
            )
        else:
            text = (
                f"{span} is not whole; rounded up it would take one more window, but that one would start in"
                f" the padding at the {ends[1]}, so it is not taken (as in PyTorch): {self.output} outputs,"
                f" and the last {self.remainder} padded {unit}(s) are never inside a window."
            )
        if uncovered:
            count = sum(b - a + 1 for a, b in uncovered)
            where = ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in uncovered[:8])
            more = ", ..." if len(uncovered) > 8 else ""
            gaps = " (the stride is larger than the kernel, so windows leave gaps)" if self.stride > self.kernel else ""
            text += f" {count} input {unit}(s) never reach the output{gaps}: {where}{more}."
        else:
            text += f" Every input {unit} is inside at least one window."
        return text


@dataclass(frozen=True)
class Geometry:
    height: Axis
    width: Axis

    def shape(self, channels: int) -> list[int]:
        return [channels, self.height.output, self.width.output]

    def pads(self) -> tuple[int, int, int, int]:
        """(left, right, top, bottom), the order ``F.pad`` wants."""
        return self.width.before, self.width.after, self.height.before, self.height.after

    def overhang(self) -> tuple[int, int, int, int]:
        """(0, right, 0, bottom): how far the last windows reach past the padded input (ceil only)."""
        return 0, self.width.overhang, 0, self.height.overhang

    def describe(self) -> dict:
        return {"height": self.height.describe("height"), "width": self.width.describe("width")}


def same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """``(before, after)``: the padding "same" adds along one axis of ``size`` pixels.

    Padding "same" makes the output ceil(size / stride) pixels long. Its windows then reach
    (ceil(size / stride) - 1) * stride + kernel pixels, so the total padding is that minus ``size``
    (never negative). Half of it (rounded down) goes before (top/left) and the rest after (bottom/right):
    an odd total, as for an even kernel at stride 1, puts the extra row at the bottom and the extra
    column at the right, as PyTorch (``padding="same"``) and TensorFlow ("SAME") do. At stride 1 the
    total is kernel - 1 and the output has the input's size.
    """
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def resolve_padding(size: int, kernel: int, stride: int, padding: str | int) -> tuple[int, int, str]:
    """(before, after, rule in words) for one axis."""
    if padding == "valid":
        return 0, 0, "valid: no padding"
    if padding == "same":
        out = -(-size // stride)
        before, after = same_padding(size, kernel, stride)
        total = before + after
        rule = (
            f"same: output ceil({size}/{stride}) = {out}; total padding max(({out} - 1)*{stride} + {kernel}"
            f" - {size}, 0) = {total}, split {before} before and {total - before} after"
        )
        if total % 2:
            rule += " (the odd one goes after: bottom/right, as in PyTorch)"
        return before, after, rule
    if isinstance(padding, bool) or not isinstance(padding, int) or not 0 <= padding <= MAX_PADDING:
        raise ValueError(f'padding: must be "valid", "same" or an integer 0..{MAX_PADDING}, not {padding!r}')
    return padding, padding, f"{padding} on every side"


def conv_geometry(
    height: int,
    width: int,
    kernel: int,
    stride: int,
    padding: str | int,
    padding_mode: str = "zeros",
    rounding: str = "floor",
) -> Geometry:
    """The output-size arithmetic of a k x k kernel on an H x W image; ValueError if the output would be
    empty or the padding mode cannot pad that much."""
    check_stride(stride)
    check_choice("padding_mode", padding_mode, PADDING_MODES)
    check_choice("rounding", rounding, ROUNDINGS)
    axes = []
    for size in (height, width):
        before, after, rule = resolve_padding(size, kernel, stride, padding)
        axes.append(Axis(size, kernel, stride, before, after, rule, rounding))
    geometry = Geometry(*axes)
    for name, axis in (("height", geometry.height), ("width", geometry.width)):
        if axis.span < 0:
            raise ValueError(
                f"kernels: a {kernel}x{kernel} kernel does not fit the {height}x{width} image with padding"
                f" {padding!r}: along the {name}, {axis.size} + {axis.before + axis.after} padding < {kernel}, so"
                ' the output would be smaller than 1x1; use a smaller kernel, more padding or padding "same"'
            )
        _check_pad_mode(axis, name, padding_mode)
    return geometry


def _check_pad_mode(axis: Axis, name: str, padding_mode: str) -> None:
    pad = max(axis.before, axis.after)
    if padding_mode == "reflect" and pad >= axis.size:
        raise ValueError(
            f"padding_mode: reflect padding of {pad} needs more than {pad} pixels along the {name}, but the"
            f" image has {axis.size}; use less padding or another padding_mode"
        )
    if padding_mode == "circular" and pad > axis.size:
        raise ValueError(
            f"padding_mode: circular padding of {pad} wraps around more than once: the image has only"
            f" {axis.size} pixels along the {name}; use less padding or another padding_mode"
        )


def pool_geometry(height: int, width: int, size: int, stride: int, padding: int, rounding: str = "floor") -> Geometry:
    """The output-size arithmetic of a size x size pooling window; ValueError naming the field at fault."""
    if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= MAX_POOL:
        raise ValueError(f"size: the pooling window must be an integer 1..{MAX_POOL}, not {size!r}")
    check_stride(stride)
    check_choice("rounding", rounding, ROUNDINGS)
    most = max_pool_padding(size)
    if isinstance(padding, bool) or not isinstance(padding, int) or not 0 <= padding <= most:
        raise ValueError(
            f"padding: must be an integer 0..{most} (at most half the {size}x{size} window, as in"
            f" PyTorch), not {padding!r}"
        )
    rule = f"{padding} on every side" if padding else "no padding"
    geometry = Geometry(
        Axis(height, size, stride, padding, padding, rule, rounding),
        Axis(width, size, stride, padding, padding, rule, rounding),
    )
    for name, axis in (("height", geometry.height), ("width", geometry.width)):
        if axis.span < 0:
            raise ValueError(
                f"size: a {size}x{size} window does not fit the {height}x{width} image (along the {name},"
                f" {axis.size} + {2 * padding} padding < {size}): the output would be smaller than 1x1"
            )
    return geometry
