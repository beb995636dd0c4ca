/**
 * The output-size arithmetic, computed in the browser as the controls change, in the API's words (its
 * `arithmetic` replaces it once the answer arrives). Same rules as app/kernels.py:
 *
 *   valid: no padding; P: P on every side; same: the output is ceil(W / S) long, with total padding
 *   max((ceil(W/S) - 1)*S + K - W, 0), half before and the rest (the odd pixel) after.
 *   output = floor((W - K + P_before + P_after) / S) + 1
 *
 *   const axis = axisArithmetic(28, 3, 1, "same");   // {before: 1, after: 1, output: 28, ...}
 */

/** Padding before/after along one axis. */
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
 * One axis: {size, kernel, stride, before, after, span, output, whole, quotient, formula, expression}.
 * `output` is < 1 when the kernel does not fit (span < 0).
 */
export function axisArithmetic(size, kernel, stride, padding, name = "width") {
  const [letter, ends] = name === "height" ? ["H", ["top", "bottom"]] : ["W", ["left", "right"]];
  const [before, after] = padsFor(size, kernel, stride, padding);
  const span = size + before + after - kernel;
  const output = Math.floor(span / stride) + 1;
  const quotient = span / stride;
  const whole = span >= 0 && span % stride === 0;
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
