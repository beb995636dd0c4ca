/**
 * The timeline's two curves, one above the other on the same checkpoint axis: the training loss (the mean
 * since the previous checkpoint; none at step 0, before any training) and the test accuracy. A cursor marks
 * the current checkpoint with its values; pressing or dragging on a chart picks the checkpoint under it.
 *
 *   const curves = createCurves(host, checkpoints, { onPick: (i) => ... });
 *   curves.show(i);
 */

import { TRAINING_PAGE } from "./config.js";
import { el, svg } from "./dom.js";
import { formatTick } from "./format.js";
import { t } from "./i18n.js";
import { chartFrame, dragToPick, fitWidth, niceTicks } from "./training-chart.js";

const percent = (v) => `${Math.round(v * 1000) / 10}%`;

const SERIES = [
  {
    key: "train_loss",
    name: "loss",
    title: t("Training loss"),
    axis: t("loss"),
    color: TRAINING_PAGE.colors.loss,
    ticks: (values) => niceTicks(0, Math.max(...values), 5),
    format: formatTick,
    value: (v) => formatTick(v),
  },
  {
    key: "test_accuracy",
    name: "accuracy",
    title: t("Test accuracy"),
    axis: t("accuracy"),
    color: TRAINING_PAGE.colors.accuracy,
    ticks: () => [0, 0.5, 1],
    format: (v) => `${v * 100}%`,
    value: percent,
  },
];

/** One chart: its frame, the series' line and dots, and a cursor with a marker and the value beside it. */
function drawSeries(spec, checkpoints, width, onPick) {
  const steps = checkpoints.map((c) => c.step);
  const points = checkpoints.map((c, i) => [i, c[spec.key]]);
  const known = points.filter(([, v]) => typeof v === "number").map(([, v]) => v);
  const frame = chartFrame({ width, height: TRAINING_PAGE.curveHeight, count: checkpoints.length, label: t("{title} at each checkpoint", { title: spec.title }) });
  frame.svg.classList.add("tr-curve");
  frame.svg.dataset.series = spec.name;
  frame.yAxis(spec.ticks(known.length ? known : [1]), spec.format, spec.axis);
  frame.stepAxis(steps);
  const group = svg("g", { class: "tr-series", "data-series": spec.name });
  group.append(svg("path", { d: frame.line(points), stroke: spec.color, class: "tr-line", fill: "none" }));
  let dots = "";
  for (const [i, v] of points) if (typeof v === "number") dots += `M${frame.x(i)} ${frame.y(v)}m-2.5 0a2.5 2.5 0 1 0 5 0a2.5 2.5 0 1 0 -5 0`;
  group.append(svg("path", { d: dots, fill: spec.color, class: "tr-dots" }));
  frame.svg.append(group);
  const cursor = frame.cursor();
  const marker = svg("circle", { r: 5, class: "tr-marker", stroke: spec.color, visibility: "hidden" });
  const label = svg("text", { class: "tr-value", visibility: "hidden" });
  frame.svg.append(marker, label);
  dragToPick(frame.svg, (clientX) => onPick(frame.indexAt(clientX)));

  const move = (i) => {
    cursor.move(i);
    const v = checkpoints[i][spec.key];
    const has = typeof v === "number";
    for (const node of [marker, label]) node.setAttribute("visibility", has ? "visible" : "hidden");
    frame.svg.dataset.cursor = String(i);
    frame.svg.dataset.cursorX = String(frame.x(i));
    if (!has) {
      frame.svg.dataset.value = "";
      return;
    }
    const cx = frame.x(i);
    const cy = frame.y(v);
    marker.setAttribute("cx", String(cx));
    marker.setAttribute("cy", String(cy));
    const right = cx < (frame.plot.left + frame.plot.right) / 2; // the label goes to the side with more room
    label.setAttribute("x", String(right ? cx + 9 : cx - 9));
    label.setAttribute("y", String(Math.max(frame.plot.top + 12, Math.min(frame.plot.bottom - 6, cy - 8))));
    label.setAttribute("text-anchor", right ? "start" : "end");
    label.textContent = spec.value(v);
    frame.svg.dataset.value = String(v);
  };
  return { element: frame.svg, move };
}

/** Both curves in `host`; `show(i)` moves their cursors. */
export function createCurves(host, checkpoints, { onPick }) {
  host.textContent = "";
  const boxes = SERIES.map((spec) => {
    const figure = el("figure", "tr-figure");
    const caption = el("figcaption", "tr-caption");
    const swatch = el("span", "tr-swatch");
    swatch.style.background = spec.color;
    caption.append(swatch, spec.title);
    const plot = el("div", "tr-plot");
    figure.append(caption, plot);
    host.append(figure);
    return { spec, plot, chart: null };
  });
  let current = 0;
  for (const box of boxes) {
    fitWidth(box.plot, (width) => {
      box.plot.textContent = "";
      box.chart = drawSeries(box.spec, checkpoints, width, onPick);
      box.plot.append(box.chart.element);
      box.chart.move(current);
    });
  }
  return {
    show(i) {
      current = i;
      for (const box of boxes) box.chart?.move(i);
    },
  };
}
