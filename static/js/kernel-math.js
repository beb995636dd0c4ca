/**
 * Kernels as plain k x k arrays of numbers: make, resize, transpose, flip, normalise, read from text.
 * Pure functions (nothing here touches the page); every one returns a new array.
 *
 *   const k = resized(preset.kernel, 5);        // centred in zeros (or its centre cropped)
 *   applied(k, "convolution")                    // flipped in both axes: what slides over the image
 */

import { t } from "./i18n.js";

const MINUS = "\u2212";

/** A k x k kernel of zeros with a 1 in the middle (the identity). */
export function identity(k) {
  const out = zeros(k);
  out[(k - 1) >> 1][(k - 1) >> 1] = 1;
  return out;
}

export function zeros(k) {
  return Array.from({ length: k }, () => new Array(k).fill(0));
}

export function copy(kernel) {
  return kernel.map((row) => row.slice());
}

/** `kernel` centred in a k x k one: padded with zeros when it is smaller, its centre cropped when larger. */
export function resized(kernel, k) {
  const n = kernel.length;
  if (n === k) return copy(kernel);
  const out = zeros(k);
  const shift = ((k - 1) >> 1) - ((n - 1) >> 1); // centre row/column of the old on that of the new
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const y = i + shift;
      const x = j + shift;
      if (y >= 0 && y < k && x >= 0 && x < k) out[y][x] = kernel[i][j];
    }
  }
  return out;
}

export function transposed(kernel) {
  return kernel.map((row, i) => row.map((_, j) => kernel[j][i]));
}

/** Mirrored left-right. */
export function flippedH(kernel) {
  return kernel.map((row) => row.slice().reverse());
}

/** Mirrored top-bottom. */
export function flippedV(kernel) {
  return kernel.slice().reverse().map((row) => row.slice());
}

/** The weights slid over the image: as written for cross-correlation, flipped in both axes for convolution. */
export function applied(kernel, mode) {
  return mode === "convolution" ? flippedV(flippedH(kernel)) : copy(kernel);
}

export function sum(kernel) {
  let s = 0;
  for (const row of kernel) for (const v of row) s += v;
  return s;
}

/** Scaled to sum to 1; throws when the sum is (nearly) zero, as for edge detectors. */
export function normalised(kernel) {
  const s = sum(kernel);
  if (!Number.isFinite(s) || Math.abs(s) < 1e-12) {
    throw new Error(t("its values sum to {sum}, so it cannot be scaled to sum to 1 (edge detectors sum to 0).", { sum: formatWeight(s) }));
  }
  return kernel.map((row) => row.map((v) => v / s));
}

/** Whether two kernels hold the same numbers. */
export function equal(a, b) {
  return a.length === b.length && a.every((row, i) => row.length === b[i].length && row.every((v, j) => v === b[i][j]));
}

/** A weight for a grid cell: at most 4 decimals, no trailing zeros, a true minus sign. */
export function formatWeight(v) {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  const text = a !== 0 && (a >= 1e5 || a < 1e-4) ? v.toExponential(2) : String(Number(v.toFixed(4)));
  return text.replace("-", MINUS);
}

/**
 * A cell's text -> a number. Accepts a true minus, a leading "+", a decimal comma, fractions ("1/9") and
 * exponents. Returns {value} or {problem} in words.
 */
export function parseWeight(text) {
  const raw = String(text).trim();
  if (raw === "") return { problem: t("is empty: type a number (0 for nothing).") };
  const clean = raw.replaceAll(MINUS, "-").replace(/^\+/, "").replace(/^(-?\d*),(\d+)$/, "$1.$2");
  const fraction = /^(-?\d+(?:\.\d+)?)\s*\/\s*(\d+(?:\.\d+)?)$/.exec(clean);
  let value;
  if (fraction) value = Number(fraction[1]) / Number(fraction[2]);
  else if (/^-?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(clean)) value = Number(clean);
  else return { problem: t("“{raw}” is not a number.", { raw }) };
  if (!Number.isFinite(value)) return { problem: t("“{raw}” is not a finite number.", { raw }) };
  return { value };
}
