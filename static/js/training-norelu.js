/**
 * The ReLU comparison: `lenet_bn` against `lenet_bn_norelu` (the same network and recipe without the ReLUs
 * after the convolutions), from their model cards (GET /api/models) and layer tables (GET /api/model): both
 * test-error curves on one chart, the conv parts side by side, and what the lecture's claim comes to in
 * numbers. Nothing is written into the page: every number comes from the API.
 *
 *   const compare = await createComparison(section, models, { onError });
 *   compare.show(step);    // the cursor at this step, where both curves have it
 */

import { api } from "./api.js";
import { TRAINING_PAGE } from "./config.js";
import { el, svg } from "./dom.js";
import { formatList, t, tn } from "./i18n.js";
import { chartFrame, fitWidth } from "./training-chart.js";

const LOG_TICKS = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1];
const pct = (v, digits = 2) => `${(v * 100).toFixed(digits)}%`;

/** The layers before the flatten step (the conv part), as "conv1 → bn1 → …". */
function convPart(model) {
  const names = [];
  for (const layer of model.layers) {
    if (layer.name === "input") continue;
    if (!layer.output_shape || layer.output_shape.length < 3) break;
    names.push(layer.name);
  }
  return names;
}

/** What the lecture's claim comes to, from the two final test accuracies. */
export function verdict(withAcc, withoutAcc) {
  const errWith = 1 - withAcc;
  const errWithout = 1 - withoutAcc;
  const gap = withAcc - withoutAcc;
  if (Math.abs(gap) < TRAINING_PAGE.sameWithin) {
    return t("The two are within {gap} of each other: here ReLU after the convolutions is indeed not needed, max pooling's non-linearity is enough.", { gap: pct(TRAINING_PAGE.sameWithin, 1) });
  }
  if (gap < 0) {
    return t("Without those ReLUs the network is even {gap} points better: here the claim holds, max pooling's non-linearity is enough.", { gap: pct(-gap) });
  }
  const removed = errWithout > 0 ? 1 - errWith / errWithout : 0;
  return t(
    "The claim holds in part: with max pooling as the only non-linearity of its conv part the network still learns to {without}, but the ReLUs remove {removed} of its remaining mistakes (test error {errWithout} without them, {errWith} with them).",
    { without: pct(withoutAcc), removed: pct(removed, 0), errWithout: pct(errWithout), errWith: pct(errWith) },
  );
}

function chart(width, runs, steps) {
  const index = new Map(steps.map((s, i) => [s, i]));
  const errors = runs.flatMap((r) => r.curve.map((p) => Math.max(1 - p.test_accuracy, 1e-4)));
  const lo = LOG_TICKS.filter((t) => t <= Math.min(...errors)).pop() || LOG_TICKS[0];
  const hi = LOG_TICKS.find((t) => t >= Math.max(...errors)) || 1;
  const frame = chartFrame({ width, height: TRAINING_PAGE.compareHeight, count: steps.length, label: t("Test error at each checkpoint, with and without ReLU after the convolutions") });
  const ticks = LOG_TICKS.filter((t) => t >= lo && t <= hi);
  const log = (v) => Math.log10(Math.min(Math.max(v, lo), hi));
  frame.yAxis(ticks.map(log), (v) => `${Math.round(10 ** v * 1000) / 10}%`, t("test error (log)"), log(lo), log(hi));
  frame.stepAxis(steps);
  for (const run of runs) {
    const points = run.curve.map((p) => [index.get(p.step), log(Math.max(1 - p.test_accuracy, 1e-4))]);
    const group = svg("g", { class: "tr-series", "data-model": run.name });
    group.append(svg("path", { d: frame.line(points), stroke: run.color, class: "tr-line", fill: "none" }));
    for (const [i, v] of points) group.append(svg("circle", { cx: frame.x(i), cy: frame.y(v), r: 2.5, fill: run.color }));
    frame.svg.append(group);
  }
  return { element: frame.svg, cursor: frame.cursor() };
}

export async function createComparison(section, models, { onError }) {
  const $ = (selector) => section.querySelector(selector);
  const find = (name) => models.find((m) => m.name === name);
  const withRelu = find(TRAINING_PAGE.withRelu);
  const withoutRelu = find(TRAINING_PAGE.withoutRelu);
  if (!withRelu || !withoutRelu) {
    const missing = [TRAINING_PAGE.withRelu, TRAINING_PAGE.withoutRelu].filter((n) => !find(n));
    $("#norelu-result").textContent = tn(
      "{models} is not served here, so the comparison cannot be made.",
      "{models} are not served here, so the comparison cannot be made.",
      missing.length,
      { models: formatList(missing) },
    );
    section.dataset.state = "missing";
    return { show() {} };
  }
  let layers = [null, null];
  try {
    layers = await Promise.all([withRelu, withoutRelu].map((m) => api.model({ model: m.name })));
  } catch (error) {
    onError(t("The two networks' layers could not be loaded: {detail}", { detail: error.message }));
  }
  const runs = [
    { ...withRelu, color: TRAINING_PAGE.colors.withRelu, parts: layers[0] && convPart(layers[0]) },
    { ...withoutRelu, color: TRAINING_PAGE.colors.withoutRelu, parts: layers[1] && convPart(layers[1]) },
  ];
  const removed = runs[0].parts && runs[1].parts ? runs[0].parts.filter((n) => !runs[1].parts.includes(n)) : [];

  /* The table: conv part, final accuracy, accuracy after the first epoch. */
  const table = $("#norelu-table");
  table.textContent = "";
  const head = table.createTHead().insertRow();
  for (const text of [t("model and its conv part"), t("test accuracy"), t("after epoch 1")]) {
    const th = el("th", "", text);
    th.scope = "col";
    head.append(th);
  }
  const body = table.createTBody();
  for (const run of runs) {
    const row = body.insertRow();
    row.dataset.model = run.name;
    const name = el("th", "", run.name);
    name.scope = "row";
    const swatch = el("span", "tr-swatch");
    swatch.style.background = run.color;
    name.prepend(swatch);
    name.append(el("span", "tr-layers", run.parts ? run.parts.join(" → ") : ""));
    row.append(name);
    const cell = row.insertCell();
    cell.textContent = pct(run.test_accuracy);
    cell.dataset.accuracy = String(run.test_accuracy);
    const first = run.history.find((h) => h.epoch === 1);
    row.insertCell().textContent = first ? pct(first.test_accuracy) : "–";
  }

  const setup = { without: withoutRelu.name, with: withRelu.name, removed: formatList(removed), epochs: withoutRelu.epochs };
  $("#norelu-setup").textContent = removed.length
    ? t(
        "{without} is {with} without {removed}, trained with the same recipe ({epochs} epochs, the same seed), so max pooling is the only non-linearity between its convolutions; the ReLU after fc1 stays.",
        setup,
      )
    : t(
        "{without} is {with} without the ReLUs after its convolutions, trained with the same recipe ({epochs} epochs, the same seed), so max pooling is the only non-linearity between its convolutions; the ReLU after fc1 stays.",
        setup,
      );
  const measured = t("Measured on the test set: {without} without them, {with} with them.", { without: pct(withoutRelu.test_accuracy), with: pct(withRelu.test_accuracy) });
  $("#norelu-result").textContent = t("{first} {second}", { first: measured, second: verdict(withRelu.test_accuracy, withoutRelu.test_accuracy) });

  const steps = [...new Set(runs.flatMap((r) => r.curve.map((p) => p.step)))].sort((a, b) => a - b);
  const plot = $("#norelu-chart");
  let drawn = null;
  let step = null;
  const move = () => drawn?.cursor.move(step === null ? null : steps.indexOf(step));
  fitWidth(plot, (width) => {
    plot.textContent = "";
    drawn = chart(width, runs, steps);
    plot.append(drawn.element);
    move();
  });
  Object.assign(section.dataset, { state: "ready", with: withRelu.name, without: withoutRelu.name });
  return {
    show(s) {
      step = s;
      move();
    },
  };
}
