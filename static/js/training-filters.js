/**
 * The filters at every checkpoint: every kernel of the model's first conv layer (LeNet's conv1: 20 of 5x5),
 * and one filter of its second conv layer (chosen by output channel) as its kernels, one per input channel;
 * both layers are the first two of kind conv in the layer table (GET /api/model). Every checkpoint's weights
 * are fetched up front (GET /api/layers/{name}/weights?checkpoint=STEP, the current step first), so scrubbing
 * repaints from memory. Each view has one diverging colour scale, symmetric around 0, whose range is either
 * the largest |weight| over the whole training (the default: the weights' growth shows) or at this checkpoint.
 * A network with one conv layer shows the first view only, one without any says so.
 *
 *   const filters = createFilters(section, checkpoints, { layers, onError });   // layers: GET /api/model's
 *   filters.show(i);                     // resolves when checkpoint i is painted
 *   await filters.loaded;                // every checkpoint fetched
 */

import { api } from "./api.js";
import { TRAINING_PAGE } from "./config.js";
import { el } from "./dom.js";
import { formatTick } from "./format.js";
import { colorbar, mosaicLayout, paint, paintMosaic } from "./heatmap.js";
import { formatNumber, t } from "./i18n.js";

const maxAbs = (values, offset = 0, count = values.length - offset) => {
  let m = 0;
  for (let i = offset; i < offset + count; i++) m = Math.max(m, Math.abs(values[i]));
  return m;
};

/** ‖a − b‖ / ‖b‖ over a slice: how far the weights have moved from the initialisation, relative to their size there. */
function moved(a, b, offset, count) {
  let d = 0;
  let n = 0;
  for (let i = offset; i < offset + count; i++) {
    d += (a[i] - b[i]) ** 2;
    n += b[i] ** 2;
  }
  return n ? Math.sqrt(d / n) : 0;
}

/** Fetch `jobs` (functions returning promises) with at most `limit` in flight. */
async function pool(jobs, limit) {
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) await jobs[next++]();
  };
  await Promise.all(Array.from({ length: Math.min(limit, jobs.length) }, worker));
}

/** The view a network without conv layers gets: a sentence instead of the filters. */
function noFilters(section, layers) {
  const note = section.querySelector("#filters-missing");
  const names = !layers.length
    ? ""
    : layers.map((l) => t("{name} ({kind})", { name: l.name, kind: l.kind })).reduce((a, b) => t("{a}, {b}", { a, b }));
  note.textContent = t("This network has no conv layers, so it has no filters to watch: its layers are {layers}.", { layers: names });
  note.hidden = false;
  section.querySelector(".tr-filter-views").hidden = true;
  section.dataset.state = "missing";
  return { loaded: Promise.resolve(), show: async () => {} };
}

export function createFilters(section, checkpoints, { layers, onError }) {
  const $ = (selector) => section.querySelector(selector);
  const convs = layers.filter((l) => l.kind === "conv").slice(0, 2);
  if (!convs.length) return noFilters(section, layers);
  const [first, second] = convs.map((l) => l.name); // `second` is undefined for a network with one conv layer
  const names = convs.map((l) => l.name);
  const steps = checkpoints.map((c) => c.step);
  const weights = new Map(); // step -> {first, second} (each {shape, values})
  const waiting = new Map(); // step -> promise of its weights
  let index = 0;
  let mode = section.querySelector('input[name="filter-range"]:checked').value;
  let channel = 0;
  Object.assign(section.dataset, { first, second: second || "" });

  const bars = { first: colorbar({ caption: t("{layer} weights", { layer: first }) }), second: colorbar({ caption: t("{layer} weights", { layer: second }) }) };
  $("#first-conv-bar").append(bars.first.element);
  $("#second-conv-bar").append(bars.second.element);
  if (!second) {
    const view = $("#second-conv-view");
    view.textContent = "";
    view.append(el("p", "not-applicable", t("{layer} is this network's only conv layer, so there is no second layer of filters to watch.", { layer: first })));
  }

  /* The headings, from the first weights that arrive: the layers' names and their kernels' sizes. */
  let titled = false;
  const describe = (entry) => {
    titled = true;
    const [count, cin, kh, kw] = entry.first.shape;
    $("#first-conv-title").textContent = t("{layer}: every filter, {size}", { layer: first, size: `${cin > 1 ? `${cin} × ` : ""}${kh} × ${kw}` });
    $("#first-conv-filters").setAttribute("aria-label", t("{layer}'s {count} filters", { layer: first, count }));
    if (!entry.second) return;
    const source = convs[1].inputs && convs[1].inputs.length === 1 ? convs[1].inputs[0] : t("its input");
    $("#second-conv-title").textContent = t("{layer}: one filter, by output channel", { layer: second });
    $("#second-conv-hint").textContent = t("Kernel i (left to right, top to bottom) is what this filter looks for in channel i of {source}.", { source });
    $("#second-conv-prev").setAttribute("aria-label", t("Previous {layer} filter", { layer: second }));
    $("#second-conv-next").setAttribute("aria-label", t("Next {layer} filter", { layer: second }));
  };

  const load = (step) => {
    if (!waiting.has(step)) {
      const promise = Promise.all(names.map((name) => api.weights(name, { checkpoint: step }))).then(([a, b]) => {
        const entry = { first: a.tensors.weight, second: b ? b.tensors.weight : null };
        if (step === steps[0] || !titled) describe(entry);
        weights.set(step, entry);
        return entry;
      });
      waiting.set(step, promise);
    }
    return waiting.get(step);
  };

  /** The colour range of a view: max |w| of `pick(entry)`'s slice, at this checkpoint or over all of them. */
  const range = (name, offset, count) => {
    const entries = mode === "training" ? [...weights.values()] : [weights.get(steps[index])];
    const m = Math.max(...entries.map((e) => maxAbs(e[name].values, offset, count)));
    return [-(m || 1), m || 1];
  };

  const rangeNote = () => (mode === "training" ? t("range: whole training") : t("range: step {step}", { step: formatNumber(steps[index]) }));

  /* The first layer: one canvas per filter, built once. */
  const firstGrid = $("#first-conv-filters");
  const tiles = [];
  const buildFirst = (shape) => {
    const [count, , kh, kw] = shape;
    const px = kh <= 3 ? TRAINING_PAGE.smallCellPx : TRAINING_PAGE.conv1CellPx;
    firstGrid.textContent = "";
    for (let f = 0; f < count; f++) {
      const figure = el("figure", "tr-filter");
      const canvas = el("canvas", "crisp tr-filter-canvas");
      canvas.style.width = `${kw * px}px`;
      canvas.style.height = `${kh * px}px`;
      canvas.setAttribute("role", "img");
      canvas.dataset.filter = String(f);
      figure.append(canvas, el("figcaption", "", `#${f}`));
      firstGrid.append(figure);
      tiles.push(canvas);
    }
  };

  const paintFirst = (entry) => {
    const { shape, values } = entry.first;
    const [count, cin, kh, kw] = shape;
    if (!tiles.length) buildFirst(shape);
    const domain = range("first", 0, values.length);
    for (let f = 0; f < count; f++) {
      // a colour network's first filters have one kernel per colour: the first one is drawn
      paint(tiles[f], values, { offset: f * cin * kh * kw, height: kh, width: kw, scale: "diverging", domain });
      tiles[f].setAttribute("aria-label", t("{layer} filter {f} at step {step}", { layer: first, f, step: steps[index] }));
    }
    bars.first.update("diverging", domain, rangeNote());
    const start = weights.get(steps[0]);
    const change = start ? moved(values, start.first.values, 0, values.length) : null;
    $("#first-conv-moved").textContent =
      change === null
        ? ""
        : t("At step {step}, {layer}'s weights have moved {pct}% of their initial size away from the initialisation (‖W − W₀‖ / ‖W₀‖).", {
            step: formatNumber(steps[index]),
            layer: first,
            pct: formatTick(change * 100),
          });
    Object.assign(firstGrid.dataset, { layer: first, step: String(steps[index]), range: String(domain[1]) });
  };

  const secondCanvas = $("#second-conv-kernels");
  const paintSecond = (entry) => {
    if (!entry.second) return;
    const { shape, values } = entry.second;
    const [count, cin, kh, kw] = shape;
    channel = Math.max(0, Math.min(count - 1, channel));
    const offset = channel * cin * kh * kw;
    const domain = range("second", offset, cin * kh * kw);
    const columns = Math.min(cin, TRAINING_PAGE.kernelsPerRow);
    const layout = mosaicLayout(cin, kh, kw, columns, 1);
    paintMosaic(secondCanvas, values, { offset, count: cin, h: kh, w: kw, columns, gap: 1, scale: "diverging", domain });
    const px = kh <= 3 ? TRAINING_PAGE.smallKernelCellPx : TRAINING_PAGE.conv2CellPx;
    secondCanvas.style.width = `${layout.width * px}px`;
    secondCanvas.setAttribute(
      "aria-label",
      t("{layer} filter {c} at step {step}: {cin} kernels of {kh} by {kw}, one per input channel", { layer: second, c: channel, step: steps[index], cin, kh, kw }),
    );
    bars.second.update("diverging", domain, rangeNote());
    const start = weights.get(steps[0]);
    const change = start ? moved(values, start.second.values, offset, cin * kh * kw) : null;
    $("#second-conv-moved").textContent = change === null ? "" : t("Moved {pct}% of its initial size away from the initialisation.", { pct: formatTick(change * 100) });
    const input = $("#second-conv-channel");
    input.max = String(count - 1);
    Object.assign(secondCanvas.dataset, { layer: second, step: String(steps[index]), channel: String(channel), range: String(domain[1]) });
  };

  const paintAll = () => {
    const entry = weights.get(steps[index]);
    if (!entry) return false;
    paintFirst(entry);
    paintSecond(entry);
    section.dataset.step = String(steps[index]);
    return true;
  };

  /* Fetch the current checkpoint, then the rest (nearest first). */
  const order = () => [...steps.keys()].sort((a, b) => Math.abs(a - index) - Math.abs(b - index)).map((i) => steps[i]);
  const loaded = pool(
    order().map((step) => () => load(step)),
    TRAINING_PAGE.prefetch,
  )
    .then(() => {
      section.dataset.loaded = String(weights.size);
      paintAll(); // a range over the whole training is final only now
      section.dataset.state = "ready";
    })
    .catch((error) => {
      onError(t("The filters could not be loaded: {detail}", { detail: error.message }));
      section.dataset.state = "failed";
    });

  for (const radio of section.querySelectorAll('input[name="filter-range"]')) {
    radio.addEventListener("change", () => {
      if (!radio.checked) return;
      mode = radio.value;
      section.dataset.range = mode;
      paintAll();
    });
  }
  if (second) {
    const input = $("#second-conv-channel");
    const choose = (c) => {
      channel = Math.max(0, Math.min(Number(input.max) || 0, c));
      input.value = String(channel);
      paintAll();
    };
    input.addEventListener("change", () => {
      const c = Number.parseInt(input.value, 10);
      choose(Number.isFinite(c) ? c : channel);
    });
    $("#second-conv-prev").addEventListener("click", () => choose(channel - 1));
    $("#second-conv-next").addEventListener("click", () => choose(channel + 1));
  }
  section.dataset.range = mode;

  return {
    loaded,
    /** Show checkpoint i (waiting for its weights if they are still on their way). */
    async show(i) {
      index = i;
      if (paintAll()) return;
      try {
        await load(steps[i]);
      } catch (error) {
        onError(t("The filters at step {step} could not be loaded: {detail}", { step: steps[i], detail: error.message }));
        return;
      }
      if (index === i) paintAll();
    },
  };
}
