/**
 * What a conv or max-pool layer computes at one output position, written out: the window of the (padded)
 * input under it, the products with the filter and their sums. The same arithmetic as the network's
 * (cross-correlation plus bias; max over the window), so that the page can show every number of it.
 *
 *   const src = layerInput(previous, info.normalization);        // (C, H, W) the layer slides over
 *   const padded = padMaps(src, info.padding, 0);                // zeros around it (max pool: -Infinity)
 *   const out = outputSide(src.h, info.kernel_size, info.stride, info.padding);
 *   const at = convAt(padded, weights, o, y, x, k, s);           // {windows, products, sums, bias, total}
 *   const pooled = poolAt(padded, c, y, x, k, s);                // {window, max, argmax}
 *
 * Maps are {values: Float32Array (C order), channels, h, w}.
 */

/**
 * The maps a layer slides over: the previous layer's output; after the input layer, the input normalised
 * per channel ((pixel - mean) / std) as the network's first step does. `previous` is a decoded layer
 * ({name, kind, shape, values}).
 */
export function layerInput(previous, normalization) {
  const [channels, h, w] = previous.shape;
  if (previous.kind !== "input" || !normalization) return { values: previous.values, channels, h, w, normalized: false };
  const values = new Float32Array(previous.values.length);
  const per = h * w;
  for (let c = 0; c < channels; c++) {
    const mean = normalization.mean[c];
    const std = normalization.std[c];
    for (let i = c * per; i < (c + 1) * per; i++) values[i] = (previous.values[i] - mean) / std;
  }
  return { values, channels, h, w, normalized: true };
}

/** `maps` with `p` cells of `fill` on every side. */
export function padMaps(maps, p, fill = 0) {
  const { channels, h, w } = maps;
  const ph = h + 2 * p;
  const pw = w + 2 * p;
  const values = new Float32Array(channels * ph * pw).fill(fill);
  for (let c = 0; c < channels; c++) {
    for (let y = 0; y < h; y++) {
      const from = (c * h + y) * w;
      values.set(maps.values.subarray(from, from + w), (c * ph + y + p) * pw + p);
    }
  }
  return { values, channels, h: ph, w: pw, pad: p };
}

/** Output side for an input side `n`, kernel `k`, stride `s`, padding `p`: floor((n + 2p - k) / s) + 1. */
export function outputSide(n, k, s, p) {
  return Math.floor((n + 2 * p - k) / s) + 1;
}

/** The k x k window of channel `c` of `padded` whose top-left corner is (y·s, x·s). */
export function windowAt(padded, c, y, x, k, s) {
  const out = new Float32Array(k * k);
  for (let i = 0; i < k; i++) {
    const row = (c * padded.h + y * s + i) * padded.w + x * s;
    for (let j = 0; j < k; j++) out[i * k + j] = padded.values[row + j];
  }
  return out;
}

/**
 * Output unit (o, y, x) of a conv layer, term by term. `weights` = {weight: {shape: [O, C, k, k], values},
 * bias: {values}}. Per input channel c: the window, its products with the filter's kernel c and their sum;
 * then the sum of those sums plus the bias. Sums are accumulated in double precision.
 */
export function convAt(padded, weights, o, y, x, k, s) {
  const { weight, bias } = weights;
  const cin = weight.shape[1];
  const windows = [];
  const products = [];
  const sums = [];
  let total = 0;
  for (let c = 0; c < cin; c++) {
    const win = windowAt(padded, c, y, x, k, s);
    const prod = new Float32Array(k * k);
    const offset = (o * cin + c) * k * k;
    let sum = 0;
    for (let i = 0; i < k * k; i++) {
      prod[i] = win[i] * weight.values[offset + i];
      sum += win[i] * weight.values[offset + i];
    }
    windows.push(win);
    products.push(prod);
    sums.push(sum);
    total += sum;
  }
  const b = bias ? bias.values[o] : 0;
  return { windows, products, sums, bias: b, total: total + b };
}

/** Output unit (c, y, x) of a max-pool layer: its window, the largest value and where it is (row-major). */
export function poolAt(padded, c, y, x, k, s) {
  const window = windowAt(padded, c, y, x, k, s);
  let argmax = 0;
  for (let i = 1; i < window.length; i++) if (window[i] > window[argmax]) argmax = i;
  return { window, max: window[argmax], argmax };
}
