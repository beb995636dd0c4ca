/** Number and shape formatting shared by the pages. */

import { DECIMALS } from "./config.js";

const MINUS = "\u2212";

/** A value for a readout: fixed decimals (DECIMALS), a true minus sign. */
export function formatValue(v, decimals = DECIMALS) {
  if (!Number.isFinite(v)) return String(v);
  const text = Math.abs(v) >= 1e6 ? v.toExponential(decimals - 1) : v.toFixed(decimals);
  return text.replace("-", MINUS);
}

/** A short label for an axis tick or a range: about 3 significant digits. */
export function formatTick(v) {
  if (!Number.isFinite(v)) return String(v);
  if (v === 0) return "0";
  const a = Math.abs(v);
  const text = a >= 1000 || a < 0.001 ? v.toExponential(1) : v.toPrecision(3).replace(/(\.\d*?)0+$/, "$1").replace(/\.$/, "");
  return text.replace("-", MINUS);
}

/** [20, 28, 28] -> "20 × 28 × 28". */
export function formatShape(shape) {
  return shape.join(" \u00d7 ");
}

/** A probability as a percentage with sensible precision. */
export function formatPercent(p) {
  const pct = p * 100;
  if (pct >= 99.95 && pct < 100) return ">99.9%";
  if (pct > 0 && pct < 0.05) return "<0.1%";
  return `${pct.toFixed(1)}%`;
}

/** Parse text written by formatValue/formatTick back into a number (tests and copy-paste). */
export function parseNumber(text) {
  return Number(String(text).replace(MINUS, "-"));
}
