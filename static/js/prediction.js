/**
 * The verdict: the predicted digit, large, and a bar chart of the ten probabilities.
 *
 *   const verdict = new PredictionView(digitEl, confidenceEl, chartEl);
 *   verdict.update({ label: 7, probabilities: [...] }, { truth: 7 });
 */

import { el } from "./dom.js";
import { formatPercent } from "./format.js";

export class PredictionView {
  constructor(digit, confidence, chart) {
    this.digit = digit;
    this.confidence = confidence;
    this.rows = [];
    chart.textContent = "";
    for (let d = 0; d < 10; d++) {
      const row = el("div", "prob-row");
      row.dataset.digit = String(d);
      const name = el("span", "prob-digit", String(d));
      const track = el("span", "prob-track");
      const bar = el("span", "prob-bar");
      track.append(bar);
      const value = el("span", "prob-value");
      row.append(name, track, value);
      chart.append(row);
      this.rows.push({ row, bar, value });
    }
  }

  /** @param {{label: number, probabilities: number[]}} prediction  @param {{truth?: number}} [known] */
  update(prediction, { truth } = {}) {
    const { label, probabilities } = prediction;
    this.digit.textContent = String(label);
    this.digit.dataset.label = String(label);
    const p = probabilities[label];
    let text = `${formatPercent(p)} sure`;
    if (truth !== undefined && truth !== null) text += truth === label ? ` · label ${truth} ✓` : ` · but it is a ${truth} ✗`;
    this.confidence.textContent = text;
    this.confidence.classList.toggle("wrong", truth !== undefined && truth !== null && truth !== label);
    probabilities.forEach((q, d) => {
      const { row, bar, value } = this.rows[d];
      bar.style.width = `${Math.max(0, Math.min(1, q)) * 100}%`;
      value.textContent = formatPercent(q);
      row.classList.toggle("top", d === label);
      row.setAttribute("aria-label", `${d}: ${formatPercent(q)}`);
    });
  }
}
