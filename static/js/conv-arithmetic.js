/**
 * The output-size arithmetic of a sliding window (a convolution's kernel or a pooling window), written
 * once for every page: the kernel lab's live formula and the model page's architecture table. The same
 * rules as the server's (app/kernels.py), which answers with its own words once a request returns.
 *
 * Along one axis of W pixels, padded with P_before and P_after, a window K pixels wide moved S pixels at a
 * time fits
 *
 *   output = floor((W - K + P_before + P_after) / S) + 1
 *
 * times: its first position takes K pixels of the padded W + P_before + P_after, each further one S
 * more, and a last step that would run past the end is not taken (the floor). With P on both sides it is
 * the familiar (W - K + 2P) / S + 1, rounded down; an output below 1 means the window does not fit.
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

/**
 * One axis: `span` = W - K + P_before + P_after (the room left after the first position), `output` (below
 * 1 when span < 0), and `whole`: the window ends exactly on the last padded pixel (no rounding down).
 */
export function outputSize(size, kernel, stride, before, after = before) {
  const span = size + before + after - kernel;
  return { span, output: Math.floor(span / stride) + 1, whole: span >= 0 && span % stride === 0 };
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
 * One axis with its working, as the kernel lab shows it while the controls change:
 * {size, kernel, stride, before, after, span, output, quotient, whole, formula, expression}.
 */
export function axisArithmetic(size, kernel, stride, padding, name = "width") {
  const [letter, ends] = name === "height" ? ["H", ["top", "bottom"]] : ["W", ["left", "right"]];
  const [before, after] = padsFor(size, kernel, stride, padding);
  const { span, output, whole } = outputSize(size, kernel, stride, before, after);
  const quotient = span / stride;
  const symmetric = before === after;
  const formula = symmetric ? `(${letter} - K + 2P) / S + 1` : `(${letter} - K + P_${ends[0]} + P_${ends[1]}) / S + 1`;
  const pads = symmetric ? `2*${before}` : `${before} + ${after}`;
  const inner = `(${size} - ${kernel} + ${pads}) / ${stride}`;
  const expression = whole
    ? `${inner} + 1 = ${span / stride} + 1 = ${output}`
    : `floor(${inner}) + 1 = floor(${trim(quotient)}) + 1 = ${output}`;
  return { size, kernel, stride, before, after, span, output, quotient, whole, formula, expression };
}

/** Both axes of an H x W image: {height, width, fits}. */
export function geometry(height, width, kernel, stride, padding) {
  const h = axisArithmetic(height, kernel, stride, padding, "height");
  const w = axisArithmetic(width, kernel, stride, padding, "width");
  return { height: h, width: w, fits: h.span >= 0 && w.span >= 0 };
}

/** Like Python's `{:g}`: 6 significant digits, no trailing zeros. */
function trim(v) {
  return String(Number(v.toPrecision(6)));
}
