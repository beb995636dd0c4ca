/**
 * Small SVG charts for the BatchNorm page (no library): per-channel bars and training curves.
 *
 *   const fig = channelBars(gamma, { label: "γ", marks: runningValues, onHover: ({channel, value}) => ... });
 *   const chart = lineChart([{ name, color, points: [{x, y}], divergedAt }], { mode: "error" });
 *
 * Everything is drawn with a few <path> elements (a 500-unit layer is one path, not 500 nodes); hovering
 * (or tapping) reads the channel under the pointer back from its x position. Each chart is drawn at the
 * width it is shown at (fit-width.js), so its labels keep their size on a phone.
 */

import { el, svg } from "./dom.js";
import { fitWidth } from "./fit-width.js";
import { formatTick, formatValue } from "./format.js";
import { t, tn } from "./i18n.js";

const TICK_PX = 12; // the height of a tick label (the stylesheet's .bn-tick font size)

const round = (v) => Math.round(v * 100) / 100;

/* ---------------------------------------------------------------------------------------------- */
/* Per-channel bars                                                                                */

/** A bar chart's accessible name: what it shows, of which layer, over how many channels. */
function chartName(label, name, n) {
  return name
    ? tn("{label} of {name}, {n} channel", "{label} of {name}, {n} channels", n, { label, name, n })
    : tn("{label}, {n} channel", "{label}, {n} channels", n, { label, n });
}

/**
 * One bar per channel from 0 to `values[c]`, and optionally a tick per channel at `marks[c]` (e.g. the
 * running statistic over the batch's bar). Returns a <figure> whose readout follows the pointer.
 * @param {ArrayLike<number>} values
 * @param {{label: string, marks?: ArrayLike<number>, markLabel?: string, height?: number, color?: string,
 *          markColor?: string, name?: string}} options
 */
export function channelBars(values, { label, marks, markLabel = t("running"), height = 120, color = "#8fb3e3", markColor = "#1d2433", name = "" }) {
  const n = values.length;
  let lo = 0;
  let hi = 0;
  for (const series of [values, marks || []]) {
    for (let i = 0; i < series.length; i++) {
      lo = Math.min(lo, series[i]);
      hi = Math.max(hi, series[i]);
    }
  }
  if (hi === lo) hi = lo + 1;
  const left = 52;
  const top = 8;
  const plotH = height - top - 6;
  const y = (v) => top + ((hi - v) / (hi - lo)) * plotH;
  let geometry = null; // {bw, cursor} of the chart drawn last

  const draw = (width) => {
    const plotW = width - left - 4;
    const bw = plotW / n;
    const gap = bw > 4 ? bw * 0.18 : 0;
    let bars = "";
    for (let c = 0; c < n; c++) {
      const x0 = round(left + c * bw + gap / 2);
      const x1 = round(left + (c + 1) * bw - gap / 2);
      bars += `M${x0} ${round(y(0))}V${round(y(values[c]))}H${x1}V${round(y(0))}Z`;
    }
    const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, width, height, class: "bn-bars", role: "img", "aria-label": chartName(label, name, n) });
    chart.append(
      svg("line", { x1: left, x2: width - 4, y1: round(y(0)), y2: round(y(0)), class: "bn-zero" }),
      svg("text", { x: left - 6, y: top, class: "bn-tick", "text-anchor": "end", "dominant-baseline": "hanging" }, formatTick(hi)),
      svg("text", { x: left - 6, y: top + plotH, class: "bn-tick", "text-anchor": "end" }, formatTick(lo)),
      svg("path", { d: bars, fill: color, class: "bn-bar-path" }),
    );
    // "0" only where it clears the max and min labels (each TICK_PX tall, plus a little air)
    const zeroClear = y(0) - TICK_PX / 2 > top + TICK_PX + 2 && y(0) + TICK_PX / 2 < top + plotH - TICK_PX - 2;
    if (lo < 0 && hi > 0 && zeroClear) chart.append(svg("text", { x: left - 6, y: round(y(0)), class: "bn-tick", "text-anchor": "end", "dominant-baseline": "middle" }, "0"));
    if (marks) {
      let ticks = "";
      for (let c = 0; c < n; c++) ticks += `M${round(left + c * bw)} ${round(y(marks[c]))}H${round(left + (c + 1) * bw)}`;
      chart.append(svg("path", { d: ticks, stroke: markColor, class: "bn-mark-path", fill: "none" }));
    }
    const cursor = svg("rect", { x: left, y: top, width: Math.max(bw, 1), height: plotH, class: "bn-cursor", visibility: "hidden" });
    chart.append(cursor);
    geometry = { bw, cursor, width };
    if (figure.dataset.channel !== undefined) show(Number(figure.dataset.channel));
    return chart;
  };

  const figure = el("figure", "bn-chart");
  const caption = el("figcaption", "bn-chart-caption");
  const title = el("span", "bn-chart-label", label);
  const readout = el("span", "bn-readout", tn("{n} channel · hover or tap for values", "{n} channels · hover or tap for values", n, { n }));
  caption.append(title, readout);
  const holder = fitWidth(draw, { className: "bn-chart-box" });
  figure.append(caption, holder);

  function show(c) {
    if (!geometry) return;
    geometry.cursor.setAttribute("x", String(round(left + c * geometry.bw)));
    geometry.cursor.setAttribute("visibility", "visible");
    const value = formatValue(values[c], 4);
    readout.textContent = marks
      ? t("channel {c}: {value} · {mark} {markValue}", { c, value, mark: markLabel, markValue: formatValue(marks[c], 4) })
      : t("channel {c}: {value}", { c, value });
    figure.dataset.channel = String(c);
  }
  const pick = (event) => {
    if (!geometry) return;
    const box = holder.getBoundingClientRect();
    const c = Math.floor((event.clientX - box.left - left) / geometry.bw);
    if (c >= 0 && c < n) show(c);
  };
  holder.addEventListener("pointermove", pick);
  holder.addEventListener("pointerdown", pick); // a tap reads a channel too
  holder.addEventListener("pointerleave", (event) => {
    if (event.pointerType === "mouse" && geometry) geometry.cursor.setAttribute("visibility", "hidden");
  });
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
export function lineChart(series, { mode = "error", height = 280, label = t("test accuracy by epoch") } = {}) {
  return fitWidth((width) => drawLines(series, { mode, height, label, width }), { className: "bn-lines-box" });
}

/** The line chart's SVG at `width` CSS px. */
function drawLines(series, { mode, height, label, width }) {
  const m = { left: 58, right: 14, top: 12, bottom: 40 };
  const plotW = width - m.left - m.right;
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
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, width, height, class: "bn-lines", role: "img", "aria-label": label });
  let lastLabel = -Infinity; // gridlines closer than a label's height keep their line, not their label
  for (const [t, text] of ticks) {
    chart.append(svg("line", { x1: m.left, x2: width - m.right, y1: round(y(t)), y2: round(y(t)), class: "bn-grid" }));
    if (Math.abs(y(t) - lastLabel) < TICK_PX + 2) continue;
    lastLabel = y(t);
    chart.append(svg("text", { x: m.left - 6, y: round(y(t)), class: "bn-tick", "text-anchor": "end", "dominant-baseline": "middle" }, text));
  }
  const xStep = [0.5, 1, 2, 5, 10, 20, 50].find((s) => (s / xMax) * plotW >= 36 && (s >= 1 || xMax <= 3)) || xMax;
  for (let e = 0; e <= xMax + 1e-9; e += xStep) {
    chart.append(svg("text", { x: round(x(e)), y: height - m.bottom + 16, class: "bn-tick", "text-anchor": "middle" }, String(e)));
  }
  chart.append(
    svg("line", { x1: m.left, x2: width - m.right, y1: m.top + plotH, y2: m.top + plotH, class: "bn-axis" }),
    svg("text", { x: m.left + plotW / 2, y: height - 6, class: "bn-axis-label", "text-anchor": "middle" }, t("epoch")),
    svg("text", { x: 12, y: m.top + plotH / 2, class: "bn-axis-label", "text-anchor": "middle", transform: `rotate(-90 12 ${m.top + plotH / 2})` }, mode === "error" ? t("test error (log scale)") : t("test accuracy")),
  );
  for (const s of series) {
    const d = s.points.map((p, i) => `${i ? "L" : "M"}${round(x(p.x))} ${round(y(value(p.y)))}`).join("");
    const group = svg("g", { class: "bn-series", "data-model": s.name });
    group.append(svg("path", { d, stroke: s.color, class: "bn-line", fill: "none" }));
    for (const p of s.points) {
      const dot = svg("circle", { cx: round(x(p.x)), cy: round(y(value(p.y))), r: 2.6, fill: s.color, class: "bn-dot" });
      dot.append(svg("title", {}, t("{model}, epoch {epoch}: {accuracy}% test accuracy", { model: s.name, epoch: p.x.toFixed(2), accuracy: (p.y * 100).toFixed(2) })));
      group.append(dot);
    }
    if (s.divergedAt !== undefined && s.divergedAt !== null) {
      const dx = round(x(s.divergedAt));
      const left = dx > m.left + plotW / 2; // the label goes on the side with more room
      group.append(
        svg("line", { x1: dx, x2: dx, y1: m.top, y2: m.top + plotH, stroke: s.color, class: "bn-diverged" }),
        svg("text", { x: left ? dx - 4 : dx + 4, y: m.top + plotH - 8, class: "bn-diverged-label", fill: s.color, "text-anchor": left ? "end" : "start" }, t("{model}: loss NaN/inf", { model: s.name })),
      );
    }
    chart.append(group);
  }
  return chart;
}
