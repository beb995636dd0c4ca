/**
 * Small SVG charts for the BatchNorm page (no library): per-channel bars and training curves.
 *
 *   const fig = channelBars(gamma, { label: "γ", marks: runningValues, onHover: ({channel, value}) => ... });
 *   const chart = lineChart([{ name, color, points: [{x, y}], divergedAt }], { mode: "error" });
 *
 * Everything is drawn with a few <path> elements (a 500-unit layer is one path, not 500 nodes); hovering
 * reads the channel under the pointer back from its x position.
 */

import { el, svg } from "./dom.js";
import { formatTick, formatValue } from "./format.js";

const WIDTH = 640;

const round = (v) => Math.round(v * 100) / 100;

/* ---------------------------------------------------------------------------------------------- */
/* Per-channel bars                                                                                */

/**
 * One bar per channel from 0 to `values[c]`, and optionally a tick per channel at `marks[c]` (e.g. the
 * running statistic over the batch's bar). Returns a <figure> whose readout follows the pointer.
 * @param {ArrayLike<number>} values
 * @param {{label: string, marks?: ArrayLike<number>, markLabel?: string, height?: number, color?: string,
 *          markColor?: string, name?: string}} options
 */
export function channelBars(values, { label, marks, markLabel = "running", height = 120, color = "#8fb3e3", markColor = "#1d2433", name = "" }) {
  const n = values.length;
  const left = 52;
  const top = 8;
  const plotW = WIDTH - left - 4;
  const plotH = height - top - 6;
  let lo = 0;
  let hi = 0;
  for (const series of [values, marks || []]) {
    for (let i = 0; i < series.length; i++) {
      lo = Math.min(lo, series[i]);
      hi = Math.max(hi, series[i]);
    }
  }
  if (hi === lo) hi = lo + 1;
  const y = (v) => top + ((hi - v) / (hi - lo)) * plotH;
  const bw = plotW / n;
  const gap = bw > 4 ? bw * 0.18 : 0;
  let bars = "";
  for (let c = 0; c < n; c++) {
    const x0 = round(left + c * bw + gap / 2);
    const x1 = round(left + (c + 1) * bw - gap / 2);
    bars += `M${x0} ${round(y(0))}V${round(y(values[c]))}H${x1}V${round(y(0))}Z`;
  }
  const chart = svg("svg", { viewBox: `0 0 ${WIDTH} ${height}`, class: "bn-bars", role: "img", "aria-label": `${label}${name ? ` of ${name}` : ""}, ${n} channels` });
  chart.append(
    svg("line", { x1: left, x2: WIDTH - 4, y1: round(y(0)), y2: round(y(0)), class: "bn-zero" }),
    svg("text", { x: left - 6, y: top + 4, class: "bn-tick", "text-anchor": "end", "dominant-baseline": "hanging" }, formatTick(hi)),
    svg("text", { x: left - 6, y: top + plotH, class: "bn-tick", "text-anchor": "end" }, formatTick(lo)),
    svg("path", { d: bars, fill: color, class: "bn-bar-path" }),
  );
  const zeroClear = y(0) - top > 14 && top + plotH - y(0) > 14; // keep "0" off the max and min labels
  if (lo < 0 && hi > 0 && zeroClear) chart.append(svg("text", { x: left - 6, y: round(y(0)) + 4, class: "bn-tick", "text-anchor": "end" }, "0"));
  if (marks) {
    let ticks = "";
    for (let c = 0; c < n; c++) ticks += `M${round(left + c * bw)} ${round(y(marks[c]))}H${round(left + (c + 1) * bw)}`;
    chart.append(svg("path", { d: ticks, stroke: markColor, class: "bn-mark-path", fill: "none" }));
  }
  const cursor = svg("rect", { x: left, y: top, width: Math.max(bw, 1), height: plotH, class: "bn-cursor", visibility: "hidden" });
  chart.append(cursor);

  const figure = el("figure", "bn-chart");
  const caption = el("figcaption", "bn-chart-caption");
  const title = el("span", "bn-chart-label", label);
  const readout = el("span", "bn-readout", `${n} channels · hover for values`);
  caption.append(title, readout);
  figure.append(caption, chart);

  const show = (c) => {
    cursor.setAttribute("x", String(round(left + c * bw)));
    cursor.setAttribute("visibility", "visible");
    let text = `channel ${c}: ${formatValue(values[c], 4)}`;
    if (marks) text += ` · ${markLabel} ${formatValue(marks[c], 4)}`;
    readout.textContent = text;
    figure.dataset.channel = String(c);
  };
  chart.addEventListener("pointermove", (event) => {
    const box = chart.getBoundingClientRect();
    const x = ((event.clientX - box.left) / box.width) * WIDTH;
    const c = Math.floor((x - left) / bw);
    if (c >= 0 && c < n) show(c);
  });
  chart.addEventListener("pointerleave", () => cursor.setAttribute("visibility", "hidden"));
  figure.dataset.channels = String(n);
  return figure;
}

/* ---------------------------------------------------------------------------------------------- */
/* Training curves                                                                                 */

const LOG_TICKS = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1];
const LINEAR_STEPS = [0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2];

function percent(v) {
  const p = Math.round(v * 10000) / 100; // whole hundredths of a percent: no float noise like 97.99999
  return `${p}%`;
}

/**
 * Test accuracy against epochs, one line per series, on shared axes. `mode` "error" plots the test error
 * (1 - accuracy) on a log scale, which separates curves near 100%; "accuracy" plots accuracy linearly.
 * A series with `divergedAt` (an epoch) gets a marker where its loss became NaN/inf.
 * @param {{name: string, color: string, points: {x: number, y: number}[], divergedAt?: number}[]} series
 * @param {{mode?: "error"|"accuracy", height?: number, label?: string}} options
 */
export function lineChart(series, { mode = "error", height = 280, label = "test accuracy by epoch" } = {}) {
  const m = { left: 58, right: 14, top: 12, bottom: 40 };
  const plotW = WIDTH - m.left - m.right;
  const plotH = height - m.top - m.bottom;
  const all = series.flatMap((s) => s.points);
  const xMax = Math.max(1, ...all.map((p) => p.x), ...series.map((s) => s.divergedAt || 0));
  const x = (v) => m.left + (v / xMax) * plotW;
  let y;
  let ticks;
  let value;
  if (mode === "error") {
    const errors = all.map((p) => Math.max(1 - p.y, 1e-4));
    const lo = LOG_TICKS.filter((t) => t <= Math.min(...errors)).pop() || LOG_TICKS[0];
    const hi = LOG_TICKS.find((t) => t >= Math.max(...errors)) || 1;
    const span = Math.log10(hi) - Math.log10(lo) || 1;
    value = (p) => Math.max(1 - p, 1e-4);
    y = (e) => m.top + ((Math.log10(hi) - Math.log10(Math.min(Math.max(e, lo), hi))) / span) * plotH;
    ticks = LOG_TICKS.filter((t) => t >= lo && t <= hi).map((t) => [t, percent(t)]);
  } else {
    const min = Math.min(...all.map((p) => p.y));
    const step = LINEAR_STEPS.find((t) => (1 - min) / t <= 6) || 0.2; // at most about 6 gridlines
    const count = Math.ceil((1 - min) / step - 1e-9);
    const lo = Math.max(0, 1 - count * step);
    value = (p) => p;
    y = (a) => m.top + ((1 - a) / (1 - lo || 1)) * plotH;
    ticks = Array.from({ length: count + 1 }, (_, i) => 1 - i * step).map((t) => [t, percent(t)]);
  }
  const chart = svg("svg", { viewBox: `0 0 ${WIDTH} ${height}`, class: "bn-lines", role: "img", "aria-label": label });
  for (const [t, text] of ticks) {
    chart.append(
      svg("line", { x1: m.left, x2: WIDTH - m.right, y1: round(y(t)), y2: round(y(t)), class: "bn-grid" }),
      svg("text", { x: m.left - 6, y: round(y(t)) + 4, class: "bn-tick", "text-anchor": "end" }, text),
    );
  }
  const xStep = xMax > 8 ? 2 : xMax > 3 ? 1 : 0.5;
  for (let e = 0; e <= xMax + 1e-9; e += xStep) {
    chart.append(svg("text", { x: round(x(e)), y: height - m.bottom + 16, class: "bn-tick", "text-anchor": "middle" }, String(e)));
  }
  chart.append(
    svg("line", { x1: m.left, x2: WIDTH - m.right, y1: m.top + plotH, y2: m.top + plotH, class: "bn-axis" }),
    svg("text", { x: m.left + plotW / 2, y: height - 6, class: "bn-axis-label", "text-anchor": "middle" }, "epoch"),
    svg("text", { x: 12, y: m.top + plotH / 2, class: "bn-axis-label", "text-anchor": "middle", transform: `rotate(-90 12 ${m.top + plotH / 2})` }, mode === "error" ? "test error (log scale)" : "test accuracy"),
  );
  for (const s of series) {
    const d = s.points.map((p, i) => `${i ? "L" : "M"}${round(x(p.x))} ${round(y(value(p.y)))}`).join("");
    const group = svg("g", { class: "bn-series", "data-model": s.name });
    group.append(svg("path", { d, stroke: s.color, class: "bn-line", fill: "none" }));
    for (const p of s.points) {
      const dot = svg("circle", { cx: round(x(p.x)), cy: round(y(value(p.y))), r: 2.6, fill: s.color, class: "bn-dot" });
      dot.append(svg("title", {}, `${s.name}, epoch ${p.x.toFixed(2)}: ${(p.y * 100).toFixed(2)}% test accuracy`));
      group.append(dot);
    }
    if (s.divergedAt !== undefined && s.divergedAt !== null) {
      const dx = round(x(s.divergedAt));
      const left = dx > m.left + plotW / 2; // the label goes on the side with more room
      group.append(
        svg("line", { x1: dx, x2: dx, y1: m.top, y2: m.top + plotH, stroke: s.color, class: "bn-diverged" }),
        svg("text", { x: left ? dx - 4 : dx + 4, y: m.top + plotH - 8, class: "bn-diverged-label", fill: s.color, "text-anchor": left ? "end" : "start" }, `${s.name}: loss NaN/inf`),
      );
    }
    chart.append(group);
  }
  return chart;
}
