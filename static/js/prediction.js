/**
 * The verdict: the predicted digit, large, and a bar chart of the ten probabilities.
 *
 *   const verdict = new PredictionView(digitEl, confidenceEl, chartEl);
 *   verdict.update({ label: 7, probabilities: [...] }, { truth: 7 });
 *   verdict.clear();                                   // no input: "–" and empty bars
 *   noteEl.textContent = smoothingNote(card, 10);      // why the confidence stops short of 100%
 */

import { el } from "./dom.js";
import { formatPercent } from "./format.js";

/**
 * Why a model trained with label smoothing is never near 100% sure, from its card (GET /api/model/card):
 * its `label_smoothing` ε spread over `classes` classes. "" when it was trained without (ε = 0 or none).
 */
export function smoothingNote(card, classes) {
  const eps = card && typeof card.label_smoothing === "number" ? card.label_smoothing : 0;
  if (!(eps > 0) || !(classes > 1)) return "";
  const right = 1 - eps + eps / classes;
  const other = eps / classes;
  const name = card.name ? `${card.name} was` : "This network was";
  return (
    `Why not 100%? ${name} trained with label smoothing ${eps}: the answers it learned from gave the right digit ` +
    `${formatPercent(right)} and each other digit ${formatPercent(other)}, so even a clean digit tops out near ${formatPercent(right)}.`
  );
}

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

  /** Nothing to predict: a dash, `why` in place of the confidence, empty bars. */
  clear(why = "") {
    this.digit.textContent = "–";
    delete this.digit.dataset.label;
    this.confidence.textContent = why;
    this.confidence.classList.remove("wrong");
    for (const [d, { row, bar, value }] of this.rows.entries()) {
      bar.style.width = "0";
      value.textContent = "";
      row.classList.remove("top");
      row.setAttribute("aria-label", `${d}: no prediction`);
    }
  }
}
