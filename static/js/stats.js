/** Summary statistics of a slice of a Float32Array (one feature map, one vector). */

/**
 * @returns {{count: number, min: number, max: number, mean: number, std: number, argmin: number,
 *            argmax: number, positive: number, zero: number}}  argmin/argmax are indices in the slice;
 *            positive and zero are fractions of the count
 */
export function summarize(values, offset = 0, count = values.length - offset) {
  let min = Infinity;
  let max = -Infinity;
  let argmin = 0;
  let argmax = 0;
  let sum = 0;
  let positive = 0;
  let zero = 0;
  for (let i = 0; i < count; i++) {
    const v = values[offset + i];
    sum += v;
    if (v < min) {
      min = v;
      argmin = i;
    }
    if (v > max) {
      max = v;
      argmax = i;
    }
    if (v > 0) positive++;
    else if (v === 0) zero++;
  }
  const mean = count ? sum / count : 0;
  let squares = 0;
  for (let i = 0; i < count; i++) squares += (values[offset + i] - mean) ** 2;
  return {
    count,
    min: count ? min : 0,
    max: count ? max : 0,
    mean,
    std: count ? Math.sqrt(squares / count) : 0,
    argmin,
    argmax,
    positive: count ? positive / count : 0,
    zero: count ? zero / count : 0,
  };
}

/** Indices of the k largest values of a slice, largest first. */
export function topK(values, k, offset = 0, count = values.length - offset) {
  const idx = Array.from({ length: count }, (_, i) => i);
  idx.sort((a, b) => values[offset + b] - values[offset + a]);
  return idx.slice(0, k);
}
