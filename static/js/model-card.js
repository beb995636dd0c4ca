/**
 * The model card's numbers and charts (GET /api/model/card): headline figures, accuracy per class and
 * the training curve as an SVG line chart.
 *
 *   renderStats(dl, card, words);  renderPerClass(host, card, words);  renderCurve(host, legend, card);
 *
 * `words` (model-words.js) names the classes and what the test images are.
 */

import { MODEL_PAGE } from "./config.js";
import { el, svg } from "./dom.js";
import { fitWidth } from "./fit-width.js";
import { formatPercent } from "./format.js";
import { formatNumber, t } from "./i18n.js";
import { modelWords, nameWidth } from "./model-words.js";

function pct(p, digits = 2) {
  return `${(p * 100).toFixed(digits)}%`;
}

/** Headline figures as a definition list. */
export function renderStats(dl, card, words = modelWords(null)) {
  dl.textContent = "";
  const wrong = card.confusion_matrix ? card.test_images - card.confusion_matrix.reduce((s, row, i) => s + row[i], 0) : null;
  const items = [
    [t("Test accuracy"), card.test_accuracy == null ? "–" : pct(card.test_accuracy), "test-accuracy"],
    [t("Test {items}", { items: words.items }), card.test_images == null ? "–" : formatNumber(card.test_images), "test-images"],
    [t("Wrong"), wrong == null ? "–" : String(wrong), "wrong"],
    [t("Epochs"), card.epochs == null ? "–" : String(card.epochs), "epochs"],
    [t("Training time"), card.wall_time_seconds == null ? "–" : t("{n} s", { n: Math.round(card.wall_time_seconds) }), "wall-time"],
  ];
  for (const [term, value, key] of items) {
    const wrap = el("div", "card-stat");
    wrap.dataset.stat = key;
    const dt = el("dt", "", term);
    const dd = el("dd", "", value);
    wrap.append(dt, dd);
    dl.append(wrap);
  }
}

/** One horizontal bar per class, zoomed to the range the accuracies span (the axis start is written on it). */
export function renderPerClass(host, card, words = modelWords(null)) {
  host.textContent = "";
  const acc = card.per_class_accuracy || [];
  if (!acc.length) {
    host.textContent = t("The card has no per-class accuracy.");
    return;
  }
  const low = Math.max(0, Math.floor(Math.min(...acc) * 100 - 1) / 100);
  host.style.setProperty("--class-name", `${Math.max(2, ...words.classes.map((c) => nameWidth(c)))}ch`);
  acc.forEach((a, digit) => {
    const row = el("div", "class-row");
    row.dataset.digit = String(digit);
    const label = el("span", "class-label", words.name(digit));
    const track = el("span", "class-track");
    const bar = el("span", "class-bar");
    bar.style.width = `${(((a - low) / (1 - low)) * 100).toFixed(2)}%`;
    track.append(bar);
    const value = el("span", "class-value", pct(a));
    row.append(label, track, value);
    host.append(row);
  });
  const axis = el("p", "hint class-axis", t("bars start at {low} and end at 100%", { low: formatPercent(low) }));
  host.append(axis);
}

function ticks(lo, hi, count) {
  const step = (hi - lo) / count;
  return Array.from({ length: count + 1 }, (_, i) => lo + i * step);
}

/**
 * Test accuracy during training (`curve`, every few hundred steps) and per epoch (`history`: train and
 * test accuracy) against epochs, as an SVG drawn at the width it is shown at (its labels keep their size).
 */
export function renderCurve(host, legend, card) {
  host.textContent = "";
  const series = [];
  if (card.curve && card.curve.length) series.push({ key: "test-steps", label: t("test accuracy (during training)"), points: card.curve.map((p) => [p.epoch, p.test_accuracy]) });
  if (card.history && card.history.length) {
    series.push({ key: "train", label: t("train accuracy (per epoch, augmented)"), points: card.history.map((h) => [h.epoch, h.train_accuracy]) });
    series.push({ key: "test", label: t("test accuracy (end of each epoch)"), points: card.history.map((h) => [h.epoch, h.test_accuracy]) });
  }
  if (!series.length) {
    host.textContent = t("The card has no training curve.");
    return;
  }
  host.append(fitWidth((width) => drawCurve(series, width), { className: "curve-box" }));
  legend.textContent = "";
  for (const s of series) {
    const item = el("span", `legend-item legend-${s.key}`, s.label);
    legend.append(item);
  }
}

/** The curves' SVG at `width` CSS px (at most the configured width). */
function drawCurve(series, available) {
  const { height, margin } = MODEL_PAGE.chart;
  const width = Math.min(available, MODEL_PAGE.chart.width);
  const all = series.flatMap((s) => s.points);
  const xMax = Math.max(...all.map((p) => p[0]));
  const yLo = Math.floor(Math.min(...all.map((p) => p[1])) * 50) / 50;
  const yHi = 1;
  const x = (v) => margin.left + (v / xMax) * (width - margin.left - margin.right);
  const y = (v) => height - margin.bottom - ((v - yLo) / (yHi - yLo)) * (height - margin.top - margin.bottom);
  const root = svg("svg", { viewBox: `0 0 ${width} ${height}`, width, height, class: "curve-svg", role: "img" });
  root.setAttribute("aria-label", t("Accuracy against epoch, from {low} to 100%", { low: pct(yLo, 0) }));
  for (const v of ticks(yLo, yHi, 4)) {
    root.append(svg("line", { x1: margin.left, x2: width - margin.right, y1: y(v), y2: y(v), class: "grid" }));
    root.append(svg("text", { x: margin.left - 6, y: y(v) + 4, class: "tick", "text-anchor": "end" }, pct(v, 1)));
  }
  const epochs = Math.ceil(xMax);
  const plotW = width - margin.left - margin.right;
  const every = [1, 2, 5, 10, 20, 50].find((e) => (e / xMax) * plotW >= 32) || epochs;
  for (let e = 0; e <= epochs; e += every) {
    root.append(svg("text", { x: x(e), y: height - margin.bottom + 16, class: "tick", "text-anchor": "middle" }, String(e)));
  }
  root.append(svg("text", { x: (margin.left + width - margin.right) / 2, y: height - 4, class: "axis-label", "text-anchor": "middle" }, t("epoch")));
  for (const s of series) {
    const d = s.points.map(([px, py], i) => `${i ? "L" : "M"}${x(px).toFixed(1)},${y(py).toFixed(1)}`).join("");
    root.append(svg("path", { d, class: `line line-${s.key}`, "data-series": s.key }));
    if (s.points.length <= 40) for (const [px, py] of s.points) root.append(svg("circle", { cx: x(px), cy: y(py), r: 2.5, class: `dot line-${s.key}` }));
  }
  return root;
}
