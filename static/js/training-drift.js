/**
 * The drift view (GET /api/training/drift): for a network with BatchNorm and one without, side by side, how
 * the distribution of a layer's output wanders while training. Per checkpoint, one panel shows the spread of
 * the channels' means and one the spread of their standard deviations: the full range over the channels (light
 * band), the middle half (dark band) and the median (line). For the BatchNorm network, the same for what its
 * BatchNorm hands on (`after`). Both networks share each panel's y range, so their drift compares directly.
 *
 *   const drift = createDrift(section, [bnModel, plainModel], { onError });   // entries of GET /api/models
 *   drift.show(step);       // the cursor at this step (hidden where a model has no such checkpoint)
 *
 * The layers offered are those both networks share that the drift API takes: every conv and linear layer but
 * the one giving the class scores (from their layer tables, GET /api/model).
 */

import { api } from "./api.js";
import { layerPick } from "./layer-pick.js";
import { TRAINING_PAGE } from "./config.js";
import { el, svg } from "./dom.js";
import { formatTick } from "./format.js";
import { formatList, formatNumber, t } from "./i18n.js";
import { chartFrame, fitWidth, niceTicks } from "./training-chart.js";

const STATS = [
  ["mean", t("channel means")],
  ["std", t("channel standard deviations")],
];

/** [min, lower quartile, median, upper quartile, max] of a list of numbers. */
export function spread(values) {
  const sorted = Float64Array.from(values).sort();
  const at = (p) => sorted[Math.round(p * (sorted.length - 1))];
  return [sorted[0], at(0.25), at(0.5), at(0.75), sorted[sorted.length - 1]];
}

/** Per checkpoint, the spread of each statistic of `output` and `after`: {output: {mean: [...], std: [...]}, after}. */
function summarize(response) {
  const part = (key) =>
    response.checkpoints[0][key]
      ? Object.fromEntries(STATS.map(([stat]) => [stat, response.checkpoints.map((c) => spread(c[key][stat]))]))
      : null;
  return { ...response, steps: response.checkpoints.map((c) => c.step), output: part("output"), after: part("after") };
}

/** The layers of `table` (GET /api/model) whose output drift is recorded: conv and linear, not the scores. */
export function driftLayers(table) {
  return table.layers.filter((l) => (l.kind === "conv" || l.kind === "linear") && l.name !== table.output).map((l) => l.name);
}

/** A statistic for the readout: 3 significant digits, float noise around zero (BatchNorm's means) shown as 0. */
const num = (v) => formatTick(Math.abs(v) < 5e-5 ? 0 : v);
const range = (s) => t("{min} to {max} (median {median})", { min: num(s[0]), max: num(s[4]), median: num(s[2]) });

/** One panel: the bands and medians of `series` ([{key, color, spreads}]) on the checkpoint axis. */
function panel(width, data, stat, title, yRange, series) {
  const count = data.steps.length;
  const frame = chartFrame({ width, height: TRAINING_PAGE.driftHeight, count, label: t("{model}: {title} of {layer}", { model: data.model, title, layer: data.layer }) });
  frame.yAxis(niceTicks(yRange[0], yRange[1], 3), formatTick, stat === "mean" ? t("mean") : t("std"));
  frame.stepAxis(data.steps);
  for (const { key, color, spreads } of series) {
    const group = svg("g", { class: "tr-drift-series", "data-series": key });
    const pts = (q) => spreads.map((s, i) => [i, s[q]]);
    group.append(
      svg("path", { d: frame.band(pts(0), pts(4)), fill: color, class: "tr-band-range" }),
      svg("path", { d: frame.band(pts(1), pts(3)), fill: color, class: "tr-band-middle" }),
      svg("path", { d: frame.line(pts(2)), stroke: color, class: "tr-line", fill: "none" }),
    );
    frame.svg.append(group);
  }
  const cursor = frame.cursor();
  frame.svg.dataset.stat = stat;
  return { element: frame.svg, cursor };
}

export function createDrift(section, models, { onError }) {
  const $ = (selector) => section.querySelector(selector);
  const host = $("#drift-charts");
  const legend = $("#drift-legend");
  for (const [key, text] of [
    ["output", t("the layer's output (before any BatchNorm)")],
    ["after", t("what its BatchNorm hands on")],
  ]) {
    const item = el("span", "tr-legend-item");
    const swatch = el("span", "tr-swatch");
    swatch.style.background = TRAINING_PAGE.colors[key];
    item.append(swatch, text);
    legend.append(item);
  }
  const cache = new Map(); // "model:layer" -> summarized response (or an Error)
  let layer = null;
  let step = null;
  let views = []; // {data, cursors: [], readout}

  const get = (model, name) => {
    const key = `${model}:${name}`;
    if (!cache.has(key)) {
      cache.set(
        key,
        api.drift(model, name).then(summarize, (error) => error),
      );
    }
    return cache.get(key);
  };

  const readoutText = (data, i) => {
    const at = (part, stat) => part[stat][i];
    const words = { step: formatNumber(data.steps[i]), layer: data.layer, means: range(at(data.output, "mean")), stds: range(at(data.output, "std")) };
    if (!data.after) return t("Step {step}: {layer}'s output, means {means}, std {stds}.", words);
    return t("Step {step}: {layer}'s output, means {means}, std {stds}; after {batchnorm}, means {afterMeans}, std {afterStds}.", {
      ...words,
      batchnorm: data.batchnorm,
      afterMeans: range(at(data.after, "mean")),
      afterStds: range(at(data.after, "std")),
    });
  };

  const summaryText = (data) => {
    const last = data.steps.length - 1;
    const med = (part, i) => part.std[i][2];
    const words = { step: formatNumber(data.steps[last]), layer: data.layer, from: num(med(data.output, 0)), to: num(med(data.output, last)) };
    if (!data.after) {
      return t(
        "From step 0 to step {step}, the median standard deviation of {layer}'s channels went from {from} to {to}, and the next layer receives it as it is (no BatchNorm).",
        words,
      );
    }
    return t(
      "From step 0 to step {step}, the median standard deviation of {layer}'s channels went from {from} to {to}; after {batchnorm} it went from {afterFrom} to {afterTo}.",
      { ...words, batchnorm: data.batchnorm, afterFrom: num(med(data.after, 0)), afterTo: num(med(data.after, last)) },
    );
  };

  function moveCursors() {
    for (const view of views) {
      // no step chosen (the page's model has no timeline): the numbers of the last checkpoint, no cursor
      const i = step === null ? view.data.steps.length - 1 : view.data.steps.indexOf(step);
      for (const c of view.cursors) c.move(i >= 0 && step !== null ? i : null);
      view.readout.textContent = i >= 0 ? readoutText(view.data, i) : t("{model} has no checkpoint at step {step}.", { model: view.data.model, step });
      view.figure.dataset.cursor = step === null ? "" : String(i);
    }
  }

  async function draw() {
    const wanted = layer;
    section.dataset.state = "loading";
    const found = await Promise.all(models.map((m) => get(m.name, wanted)));
    if (wanted !== layer) return;
    host.textContent = "";
    views = [];
    const good = found.filter((d) => !(d instanceof Error));
    const yRanges = Object.fromEntries(
      STATS.map(([stat]) => {
        const all = good.flatMap((d) => [d.output, d.after].filter(Boolean).flatMap((part) => part[stat].flatMap((s) => [s[0], s[4]])));
        const lo = Math.min(0, ...all);
        return [stat, [lo, Math.max(lo + 1e-6, ...all)]];
      }),
    );
    models.forEach((model, k) => {
      const data = found[k];
      const figure = el("figure", "tr-drift-figure");
      figure.dataset.model = model.name;
      const named = model.batchnorm ? t("{model} (with BatchNorm)", { model: model.name }) : t("{model} (without BatchNorm)", { model: model.name });
      const caption = el("figcaption", "tr-caption", named);
      figure.append(caption);
      host.append(figure);
      if (data instanceof Error) {
        figure.append(el("p", "tr-note", data.status === 404 ? t("{model} has no drift recorded: {detail}", { model: model.name, detail: data.message }) : data.message));
        if (data.status !== 404) onError(data);
        return;
      }
      figure.dataset.batchnorm = data.batchnorm || "";
      const plots = STATS.map(([stat, title]) => {
        const box = el("div", "tr-plot");
        const label = el("p", "tr-panel-title", title);
        figure.append(label, box);
        return { stat, title, box };
      });
      const readout = el("p", "tr-readout");
      const summary = el("p", "tr-summary", summaryText(data));
      figure.append(readout, summary);
      const view = { data, cursors: [], readout, figure };
      views.push(view);
      for (const plot of plots) {
        const series = [{ key: "output", color: TRAINING_PAGE.colors.output, spreads: data.output[plot.stat] }];
        if (data.after) series.push({ key: "after", color: TRAINING_PAGE.colors.after, spreads: data.after[plot.stat] });
        let slot = -1;
        fitWidth(plot.box, (width) => {
          plot.box.textContent = "";
          const drawn = panel(width, data, plot.stat, plot.title, yRanges[plot.stat], series);
          plot.box.append(drawn.element);
          if (slot < 0) slot = view.cursors.push(drawn.cursor) - 1;
          else view.cursors[slot] = drawn.cursor;
          moveCursors();
        });
      }
    });
    moveCursors();
    Object.assign(section.dataset, { state: "ready", layer });
  }

  /** The layers both networks share (the first's order), as the layer choice; the first is drawn. */
  async function start() {
    const tables = await Promise.all(models.map((m) => api.model({ model: m.name })));
    const shared = tables.map(driftLayers).reduce((a, b) => a.filter((name) => b.includes(name)));
    if (!shared.length) throw new Error(t("{models} share no conv or linear layer to compare", { models: formatList(models.map((m) => m.name)) }));
    let first = true;
    layerPick(section.querySelector("#drift-layer"), shared, (name) => {
      layer = name;
      if (first) return; // the first layer is drawn below, and `ready` waits for it
      draw().catch(onError);
    });
    first = false;
    await draw();
  }

  if (!models.length) {
    section.dataset.state = "missing";
    return { ready: Promise.resolve(), show() {} };
  }
  return {
    ready: start().catch((error) => {
      section.dataset.state = "failed";
      onError(error);
    }),
    show(s) {
      step = s;
      moveCursors();
    },
  };
}
