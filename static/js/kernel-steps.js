/**
 * The step-through: how one output pixel is made. For a kernel, the k x k window of the padded input
 * under it, each value times its weight, and the sum of those products, next to the output value the
 * server computed; for a combination, the formula with both sums; for pooling, the window and its max
 * or mean.
 *
 *   const w = windowAt(padded, channel, k, stride, y, x);         // {top, left, values: k x k}
 *   const step = products(w.values, appliedKernel);                // {products, sum}
 *   view.showConvolution({ y, x, channel, blocks: [...], combine, combined });
 */

import { KERNEL_LAB } from "./config.js";
import { el } from "./dom.js";
import { formatValue } from "./format.js";
import { colorOf } from "./heatmap.js";
import { t } from "./i18n.js";
import { formatWeight } from "./kernel-math.js";

const MINUS = "\u2212";
const fmt = (v) => (v === -Infinity ? `${MINUS}∞` : formatValue(v, KERNEL_LAB.stepDecimals));

/** The k x k window of `padded` ({shape [C, Hp, Wp], values}) under output pixel (y, x). */
export function windowAt(padded, channel, k, stride, y, x) {
  const [, hp, wp] = padded.shape;
  const top = y * stride;
  const left = x * stride;
  const values = [];
  for (let i = 0; i < k; i++) {
    const row = [];
    for (let j = 0; j < k; j++) row.push(padded.values[(channel * hp + top + i) * wp + left + j]);
    values.push(row);
  }
  return { top, left, values };
}

/** Element-wise products of a window and the applied kernel, and their sum (in double precision). */
export function products(windowValues, kernel) {
  let total = 0;
  const out = windowValues.map((row, i) =>
    row.map((v, j) => {
      const p = v * kernel[i][j];
      total += p;
      return p;
    }),
  );
  return { products: out, sum: total };
}

/**
 * Max or mean of a pooling window: padding (-inf for max) never wins; where the last window overhangs the
 * padded input (rounding ceil) the cells are NaN and left out, of the max and of the mean's count.
 */
export function pooled(windowValues, op) {
  const flat = windowValues.flat().filter((v) => !Number.isNaN(v));
  if (op === "max") return Math.max(...flat);
  return flat.reduce((a, b) => a + b, 0) / flat.length;
}

/**
 * The text before and after `slot` in a translated sentence (an <output> element goes in between):
 * around("Sum = {sum}.", "{sum}") -> ["Sum = ", "."].
 */
function around(text, slot) {
  const at = text.indexOf(slot);
  return at < 0 ? [text, ""] : [text.slice(0, at), text.slice(at + slot.length)];
}

/** A pooling window's line: [without, with] cells past the padded input, for max and for the mean. */
const POOL_LINES = {
  max: [
    (p) => t("The largest of the {count} values = {value} — the output value is {output} {mark}", p),
    (p) => t("The largest of the {count} values; the {left} cell(s) past the padded input (“over”, rounding ceil) are left out = {value} — the output value is {output} {mark}", p),
  ],
  avg: [
    (p) => t("The mean of the {count} values (padding counts as 0) = {value} — the output value is {output} {mark}", p),
    (p) => t("The mean of the {count} values (padding counts as 0; the {left} cell(s) past the padded input (“over”, rounding ceil) are left out) = {value} — the output value is {output} {mark}", p),
  ],
};

/** The input value of a cell as a grey background (0 black, 1 white), with readable text. */
function shade(td, v) {
  const g = Number.isFinite(v) ? Math.min(1, Math.max(0, v)) : 0;
  td.style.setProperty("--cell-bg", colorOf(g, "gray", [0, 1]));
  td.classList.toggle("dark", g < 0.55);
}

function agrees(a, b) {
  return Math.abs(a - b) <= 0.5 * 10 ** -KERNEL_LAB.stepDecimals + 1e-6 * Math.max(1, Math.abs(b));
}

export class StepView {
  constructor(host) {
    this.host = host;
  }

  clear(message) {
    this.host.textContent = "";
    this.host.append(el("p", "hint step-empty", message));
    delete this.host.dataset.y;
    delete this.host.dataset.x;
  }

  header({ y, x, channel, channels, top, left, k }) {
    const params = { y, x, channel: "RGB"[channel], k, top, left };
    const text =
      channels > 1
        ? t("Output pixel (row {y}, column {x}), channel {channel}: the {k}×{k} window whose top-left corner is row {top}, column {left} of the padded input (outlined on it).", params)
        : t("Output pixel (row {y}, column {x}): the {k}×{k} window whose top-left corner is row {top}, column {left} of the padded input (outlined on it).", params);
    const p = el("p", "step-where", text);
    this.host.dataset.y = String(y);
    this.host.dataset.x = String(x);
    this.host.dataset.channel = String(channel);
    return p;
  }

  /** One kernel's window × weights table and its sum. */
  block({ index, label, windowValues, kernel, output }) {
    const { products: prods, sum } = products(windowValues, kernel);
    const box = el("div", "step-block");
    box.dataset.kernel = String(index);
    box.append(el("h4", "step-title", t("{label}: window × weights", { label })));
    const table = el("table", "step-table");
    table.dataset.size = String(kernel.length);
    const caption = el("caption", "visually-hidden", t("{label}: each input value, times its weight, equals the product", { label }));
    table.append(caption);
    windowValues.forEach((row, i) => {
      const tr = table.insertRow();
      row.forEach((v, j) => {
        const td = tr.insertCell();
        shade(td, v);
        td.append(el("span", "step-in", fmt(v)), el("span", "step-w", `× ${formatWeight(kernel[i][j])}`), el("span", "step-p", `= ${fmt(prods[i][j])}`));
      });
    });
    const n = kernel.length * kernel.length;
    const line = el("p", "step-sum-line");
    const sumEl = el("output", "step-sum", fmt(sum));
    sumEl.dataset.value = String(sum);
    const [before, after] = around(t("Sum of the {n} products = {sum}", { n }), "{sum}");
    line.append(before, sumEl, after);
    const check = el("p", "step-check");
    const outEl = el("output", "step-output", fmt(output));
    outEl.dataset.value = String(output);
    const same = agrees(sum, output);
    const [lead, tail] = around(same ? t("The server's output value: {value} ✓ the same") : t("The server's output value: {value} ✗ different"), "{value}");
    check.append(lead, outEl, tail);
    check.classList.toggle("bad", !same);
    box.append(table, line, check);
    return { box, sum };
  }

  /**
   * `blocks`: [{label, windowValues, kernel (applied), output}]; `combine`: "none" | "magnitude" | "sum";
   * `combined`: the combined output value at (y, x).
   */
  showConvolution({ y, x, channel, channels, top, left, blocks, combine, combined }) {
    this.host.textContent = "";
    const k = blocks[0].kernel.length;
    this.host.append(this.header({ y, x, channel, channels, top, left, k }));
    const grid = el("div", "step-blocks");
    const sums = blocks.map((b, index) => {
      const { box, sum } = this.block({ index, ...b });
      grid.append(box);
      return sum;
    });
    this.host.append(grid);
    if (combine !== "none" && combined !== null) {
      const signed = (s) => (s < 0 ? `(${fmt(s)})` : fmt(s));
      const parts = sums.map((s) => (combine === "magnitude" ? `${signed(s)}²` : signed(s)));
      const value = combine === "magnitude" ? Math.sqrt(sums.reduce((a, s) => a + s * s, 0)) : sums.reduce((a, s) => a + s, 0);
      const line = el("p", "step-combined");
      const v = el("output", "step-combined-value", fmt(value));
      v.dataset.value = String(value);
      const formula = combine === "magnitude" ? `√(${parts.join(" + ")})` : parts.join(" + ");
      const params = { formula, combined: fmt(combined), mark: agrees(value, combined) ? "✓" : "✗" };
      const text = combine === "magnitude" ? t("Combined (magnitude): {formula} = {value} — the combined output is {combined} {mark}", params) : t("Combined (sum): {formula} = {value} — the combined output is {combined} {mark}", params);
      const [lead, tail] = around(text, "{value}");
      line.append(lead, v, tail);
      this.host.append(line);
    }
  }

  /** A pooling window: its values, the winner (max) or the mean. */
  showPool({ y, x, channel, channels, top, left, windowValues, op, output }) {
    this.host.textContent = "";
    const k = windowValues.length;
    this.host.append(this.header({ y, x, channel, channels, top, left, k }));
    const value = pooled(windowValues, op);
    const table = el("table", "step-table pool");
    windowValues.forEach((row) => {
      const tr = table.insertRow();
      row.forEach((v) => {
        const td = tr.insertCell();
        shade(td, v);
        td.append(el("span", "step-in", Number.isNaN(v) ? t("over") : Number.isFinite(v) ? fmt(v) : t("pad")));
        if (Number.isNaN(v)) td.classList.add("overhang");
        if (op === "max" && v === value) td.classList.add("winner");
      });
    });
    const line = el("p", "step-sum-line");
    const result = el("output", "step-sum", fmt(value));
    result.dataset.value = String(value);
    const count = windowValues.flat().filter((v) => !Number.isNaN(v)).length;
    const params = { count, left: k * k - count, output: fmt(output), mark: agrees(value, output) ? "✓" : "✗" };
    const text = POOL_LINES[op][count < k * k ? 1 : 0](params);
    const [lead, tail] = around(text, "{value}");
    line.append(lead, result, tail);
    this.host.append(table, line);
  }
}
