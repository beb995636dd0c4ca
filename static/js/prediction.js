/**
 * The verdict: the predicted class, large, and a bar chart of every class's probability, named by the
 * model's classes (digits for MNIST, clothing for Fashion-MNIST).
 *
 *   const verdict = new PredictionView(digitEl, confidenceEl, chartEl, { words });   // words: model-words.js
 *   verdict.setWords(otherWords);                      // another model's classes
 *   verdict.update({ label: 7, probabilities: [...] }, { truth: 7 });
 *   verdict.clear();                                   // no input: "–" and empty bars
 *   noteEl.textContent = smoothingNote(card, 10);      // why the confidence stops short of 100%
 */

import { el } from "./dom.js";
import { formatPercent } from "./format.js";
import { t } from "./i18n.js";
import { modelWords, nameWidth } from "./model-words.js";

/**
 * Why a model trained with label smoothing is never near 100% sure, from its card (GET /api/model/card):
 * its `label_smoothing` ε spread over `classes` classes. "" when it was trained without (ε = 0 or none).
 */
export function smoothingNote(card, classes) {
  const eps = card && typeof card.label_smoothing === "number" ? card.label_smoothing : 0;
  if (!(eps > 0) || !(classes > 1)) return "";
  const right = 1 - eps + eps / classes;
  const other = eps / classes;
  const params = { name: card.name, eps, right: formatPercent(right), other: formatPercent(other) };
  return card.name
    ? t(
        "Why not 100%? {name} was trained with label smoothing {eps}: the answers it learned from gave the right class {right} and each other class {other}, so even a clean image tops out near {right}.",
        params,
      )
    : t(
        "Why not 100%? This network was trained with label smoothing {eps}: the answers it learned from gave the right class {right} and each other class {other}, so even a clean image tops out near {right}.",
        params,
      );
}

export class PredictionView {
  /** `words` (model-words.js) names the classes; setWords() changes them (another model). */
  constructor(digit, confidence, chart, { words = modelWords(null) } = {}) {
    this.digit = digit;
    this.confidence = confidence;
    this.chart = chart;
    this.setWords(words);
  }

  /** One row per class of `words`, named by it; the big answer shrinks for a class name that is a word. */
  setWords(words) {
    this.words = words;
    this.rows = [];
    this.chart.textContent = "";
    const longest = Math.max(...words.classes.map(nameWidth));
    this.chart.style.setProperty("--prob-name", `${Math.max(2, longest)}ch`);
    this.chart.classList.toggle("named", words.named);
    this.digit.classList.toggle("class-name", words.named);
    words.classes.forEach((_, d) => {
      const row = el("div", "prob-row");
      row.dataset.digit = String(d);
      const name = el("span", "prob-digit", words.name(d));
      const track = el("span", "prob-track");
      const bar = el("span", "prob-bar");
      track.append(bar);
      const value = el("span", "prob-value");
      row.append(name, track, value);
      this.chart.append(row);
      this.rows.push({ row, bar, value });
    });
  }

  /** @param {{label: number, probabilities: number[]}} prediction  @param {{truth?: number}} [known] */
  update(prediction, { truth } = {}) {
    const { label, probabilities } = prediction;
    const { name } = this.words;
    if (probabilities.length !== this.rows.length) this.setWords(modelWords({ classes: probabilities.map((_, i) => String(i)) }));
    this.digit.textContent = name(label);
    this.digit.dataset.label = String(label);
    const p = probabilities[label];
    const known = truth !== undefined && truth !== null;
    const said = { p: formatPercent(p), label: known ? name(truth) : "", a: known ? this.words.a(truth) : "" };
    if (!known) this.confidence.textContent = t("{p} sure", said);
    else this.confidence.textContent = truth === label ? t("{p} sure · label {label} ✓", said) : t("{p} sure · but it is {a} ✗", said);
    this.confidence.classList.toggle("wrong", truth !== undefined && truth !== null && truth !== label);
    probabilities.forEach((q, d) => {
      const { row, bar, value } = this.rows[d];
      bar.style.width = `${Math.max(0, Math.min(1, q)) * 100}%`;
      value.textContent = formatPercent(q);
      row.classList.toggle("top", d === label);
      row.setAttribute("aria-label", t("{name}: {p}", { name: name(d), p: formatPercent(q) }));
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
      row.setAttribute("aria-label", t("{name}: no prediction", { name: this.words.name(d) }));
    }
  }
}
