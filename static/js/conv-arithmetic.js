/**
 * The output-size arithmetic of a sliding window (a convolution's kernel or a pooling window), written
 * once for every page: the kernel lab's live formula and the model page's architecture table. The same
 * rules as the server's (app/labs/kernels/geometry.py), which answers with its own words once a request
 * returns; what the server refuses is checked against the limits it reports (GET /api/kernels/limits:
 * `convRefusal`, `poolRefusal`), so the live formula never shows a size the server then refuses.
 *
 * Along one axis of W pixels, padded with P_before and P_after, a window K pixels wide moved S pixels at a
 * time fits
 *
 *   output = floor((W - K + P_before + P_after) / S) + 1
 *
 * times: its first position takes K pixels of the padded W + P_before + P_after, each further one S
 * more, and a last step that would run past the end is not taken (the floor). With P on both sides it is
 * the familiar (W - K + 2P) / S + 1, rounded down; an output below 1 means the window does not fit.
 * Rounding "ceil" (PyTorch's ceil_mode) takes that last step, overhanging the end, unless the window would
 * start in the padding after the input.
 *
 * Padding is "valid" (none), a number P (P on every side) or "same": the output is ceil(W / S) long (W at
 * stride 1) with the least padding that does it, max((ceil(W / S) - 1)·S + K - W, 0) in all, half before
 * and the rest (the odd pixel) after, as TensorFlow's "SAME" does (and PyTorch's padding="same", which
 * takes stride 1 only).
 *
 *   outputSize(28, 5, 1, 2)                   // {span: 27, output: 28, whole: true}
 *   padsFor(28, 4, 1, "same")                 // [1, 2]
 *   axisArithmetic(28, 3, 1, "same")          // {before: 1, after: 1, output: 28, formula, expression, ...}
 */

import { formatNumber, t } from "./i18n.js";

/**
 * One axis: `span` = W - K + P_before + P_after (the room left after the first position), `output` (below
 * 1 when span < 0), and `whole`: the window ends exactly on the last padded pixel (no rounding down);
 * `outputFloor` and `outputCeil` for both roundings, `remainder` (padded pixels after the last window) and
 * `overhang` (pixels the last window reaches past the padded input).
 */
export function outputSize(size, kernel, stride, before, after = before, rounding = "floor") {
  const span = size + before + after - kernel;
  const outputFloor = Math.floor(span / stride) + 1;
  let outputCeil = Math.ceil(span / stride) + 1;
  if ((outputCeil - 1) * stride >= size + before) outputCeil -= 1; // it would start in the padding after
  const output = rounding === "ceil" ? outputCeil : outputFloor;
  const tail = size + before + after - ((output - 1) * stride + kernel);
  return { span, output, outputFloor, outputCeil, remainder: Math.max(tail, 0), overhang: Math.max(-tail, 0), whole: span >= 0 && span % stride === 0 };
}

/** Padding [before, after] along one axis for "valid", "same" or a number P. */
export function padsFor(size, kernel, stride, padding) {
  if (padding === "valid") return [0, 0];
  if (padding === "same") {
    const out = Math.ceil(size / stride);
    const total = Math.max((out - 1) * stride + kernel - size, 0);
    return [Math.floor(total / 2), total - Math.floor(total / 2)];
  }
  return [padding, padding];
}

/**
 * One axis with its working, as the kernel lab shows it while the controls change: {size, kernel, stride,
 * before, after, span, output, output_floor, output_ceil, remainder, overhang, rounding, quotient, whole,
 * formula, expression}.
 */
export function axisArithmetic(size, kernel, stride, padding, name = "width", rounding = "floor") {
  const [letter, ends] = name === "height" ? ["H", ["top", "bottom"]] : ["W", ["left", "right"]];
  const [before, after] = padsFor(size, kernel, stride, padding);
  const { span, output, outputFloor, outputCeil, remainder, overhang, whole } = outputSize(size, kernel, stride, before, after, rounding);
  const quotient = span / stride;
  const symmetric = before === after;
  const formula = symmetric ? `(${letter} - K + 2P) / S + 1` : `(${letter} - K + P_${ends[0]} + P_${ends[1]}) / S + 1`;
  const expression = expressionFor({ size, kernel, stride, before, after, rounding, output });
  return {
    size,
    kernel,
    stride,
    before,
    after,
    span,
    output,
    output_floor: outputFloor,
    output_ceil: outputCeil,
    remainder,
    overhang,
    rounding,
    quotient,
    whole,
    formula,
    expression,
  };
}

/**
 * The formula with the numbers filled in, as the server writes it (the same for its answers):
 * "(28 - 5 + 2*3) / 3 + 1 = ..." or "floor(...) + 1 = floor(9.66667) + 1 = 10".
 */
export function expressionFor({ size, kernel, stride, before, after, rounding, output }) {
  const span = size + before + after - kernel;
  const quotient = span / stride;
  const pads = before === after ? `2*${before}` : `${before} + ${after}`;
  const inner = `(${size} - ${kernel} + ${pads}) / ${stride}`;
  if (span >= 0 && span % stride === 0) return `${inner} + 1 = ${span / stride} + 1 = ${output}`;
  const rounded = rounding === "ceil" ? Math.ceil(quotient) : Math.floor(quotient);
  const expression = `${rounding}(${inner}) + 1 = ${rounding}(${trim(quotient)}) + 1 = ${rounded + 1}`;
  if (rounded + 1 === output) return expression;
  return t("{expression} - 1 = {output} (that window would start in the padding)", { expression, output });
}

const axisWord = (name) => (name === "height" ? t("height") : t("width"));

/** Both axes of an H x W image: {height, width, fits}. */
export function geometry(height, width, kernel, stride, padding, rounding = "floor") {
  const h = axisArithmetic(height, kernel, stride, padding, "height", rounding);
  const w = axisArithmetic(width, kernel, stride, padding, "width", rounding);
  return { height: h, width: w, fits: h.span >= 0 && w.span >= 0 };
}

const isWhole = (v) => Number.isInteger(v);

/**
 * Why POST /api/convolve would refuse these settings, in words, or null. `limits` is GET
 * /api/kernels/limits; `maps` the outputs per request (kernels, plus one when they are combined).
 */
export function convRefusal({ height, width, kernel, stride, padding, paddingMode = "zeros", rounding = "floor", channels = 1, maps = 1 }, limits) {
  if (!isWhole(stride) || stride < 1 || stride > limits.max_stride) return t("Stride S: the server takes 1 to {most}, not {stride}.", { most: limits.max_stride, stride });
  if (padding !== "same" && padding !== "valid" && (!isWhole(padding) || padding < 0 || padding > limits.max_padding)) {
    return t("Padding P: the server takes 0 to {most} pixels on every side, not {padding}.", { most: limits.max_padding, padding });
  }
  if (kernel > limits.max_kernel) return t("The kernel is {k}×{k}; the server takes at most {most}×{most}.", { k: kernel, most: limits.max_kernel });
  const g = geometry(height, width, kernel, stride, padding, rounding);
  for (const [name, axis] of [["height", g.height], ["width", g.width]]) {
    if (axis.span < 0) {
      const params = { k: kernel, width, height, axis: axisWord(name), size: axis.size, padding: axis.before + axis.after };
      return t("A {k}×{k} kernel does not fit the {width}×{height} image with this padding: along the {axis}, {size} + {padding} padding < {k}.", params);
    }
    const pad = Math.max(axis.before, axis.after);
    if (paddingMode === "reflect" && pad >= axis.size) {
      return t("Reflect padding of {pad} needs more than {pad} pixels along the {axis}; the image has {size}.", { pad, axis: axisWord(name), size: axis.size });
    }
    if (paddingMode === "circular" && pad > axis.size) {
      return t("Circular padding of {pad} wraps around more than once: the image has {size} pixels along the {axis}.", { pad, axis: axisWord(name), size: axis.size });
    }
  }
  const values = maps * channels * g.height.output * g.width.output;
  if (values > limits.max_output_values) return tooMany(values, limits);
  return null;
}

/** Why POST /api/pool would refuse these settings, in words, or null (`limits`: GET /api/kernels/limits). */
export function poolRefusal({ height, width, size, stride, padding, rounding = "floor", channels = 1 }, limits) {
  if (!isWhole(size) || size < 1 || size > limits.max_pool) return t("Pooling window: the server takes 1 to {most}, not {size}.", { most: limits.max_pool, size });
  if (!isWhole(stride) || stride < 1 || stride > limits.max_stride) return t("Pooling stride: the server takes 1 to {most}, not {stride}.", { most: limits.max_stride, stride });
  const most = limits.max_pool_padding[size];
  if (!isWhole(padding) || padding < 0 || padding > most) {
    return t("Pooling padding: a {size}×{size} window takes 0 to {most} (at most half the window, as in PyTorch), not {padding}.", { size, most, padding });
  }
  const g = geometry(height, width, size, stride, padding, rounding);
  for (const [name, axis] of [["height", g.height], ["width", g.width]]) {
    if (axis.span < 0) {
      const params = { size, width, height, axis: axisWord(name), length: axis.size, padding: 2 * padding };
      return t("A {size}×{size} window does not fit the {width}×{height} input: along the {axis}, {length} + {padding} padding < {size}.", params);
    }
  }
  const values = channels * g.height.output * g.width.output;
  if (values > limits.max_output_values) return tooMany(values, limits);
  return null;
}

function tooMany(values, limits) {
  return t("The answer would have {values} values; the server sends at most {most}.", { values: formatNumber(values), most: formatNumber(limits.max_output_values) });
}

/** Like Python's `{:g}`: 6 significant digits, no trailing zeros. */
function trim(v) {
  return String(Number(v.toPrecision(6)));
}
