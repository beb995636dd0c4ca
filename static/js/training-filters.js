/**
 * The filters at every checkpoint: conv1's 20 kernels, and one conv2 filter (chosen by output channel) as
 * its 20 kernels, one per input channel. Every checkpoint's weights are fetched up front
 * (GET /api/layers/{conv1,conv2}/weights?checkpoint=STEP, the current step first), so scrubbing repaints
 * from memory. Each view has one diverging colour scale, symmetric around 0, whose range is either the
 * largest |weight| over the whole training (the default: the weights' growth shows) or at this checkpoint.
 *
 *   const filters = createFilters(section, checkpoints, { onError });
 *   filters.show(i);                     // resolves when checkpoint i is painted
 *   await filters.loaded;                // every checkpoint fetched
 */

import { api } from "./api.js";
import { TRAINING_PAGE } from "./config.js";
import { el } from "./dom.js";
import { formatTick } from "./format.js";
import { colorbar, mosaicLayout, paint, paintMosaic } from "./heatmap.js";

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

export function createFilters(section, checkpoints, { onError }) {
  const $ = (selector) => section.querySelector(selector);
  const steps = checkpoints.map((c) => c.step);
  const weights = new Map(); // step -> {conv1, conv2} (each {shape, values})
  const waiting = new Map(); // step -> promise of its weights
  let index = 0;
  let mode = section.querySelector('input[name="filter-range"]:checked').value;
  let channel = 0;

  const bars = { conv1: colorbar({ caption: "conv1 weights" }), conv2: colorbar({ caption: "conv2 weights" }) };
  $("#conv1-bar").append(bars.conv1.element);
  $("#conv2-bar").append(bars.conv2.element);

  const load = (step) => {
    if (!waiting.has(step)) {
      const promise = Promise.all(["conv1", "conv2"].map((name) => api.weights(name, { checkpoint: step }))).then(([conv1, conv2]) => {
        const entry = { conv1: conv1.tensors.weight, conv2: conv2.tensors.weight };
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

  const rangeNote = () => (mode === "training" ? "range: whole training" : `range: step ${steps[index].toLocaleString("en-US")}`);

  /* conv1: one canvas per filter, built once. */
  const conv1Grid = $("#conv1-filters");
  const tiles = [];
  const buildConv1 = (shape) => {
    const [count, , k] = shape;
    conv1Grid.textContent = "";
    for (let f = 0; f < count; f++) {
      const figure = el("figure", "tr-filter");
      const canvas = el("canvas", "crisp tr-filter-canvas");
      canvas.style.width = `${k * TRAINING_PAGE.conv1CellPx}px`;
      canvas.style.height = `${k * TRAINING_PAGE.conv1CellPx}px`;
      canvas.setAttribute("role", "img");
      canvas.dataset.filter = String(f);
      figure.append(canvas, el("figcaption", "", `#${f}`));
      conv1Grid.append(figure);
      tiles.push(canvas);
    }
  };

  const paintConv1 = (entry) => {
    const { shape, values } = entry.conv1;
    const [count, cin, k] = shape;
    if (!tiles.length) buildConv1(shape);
    const domain = range("conv1", 0, values.length);
    for (let f = 0; f < count; f++) {
      paint(tiles[f], values, { offset: f * cin * k * k, height: k, width: k, scale: "diverging", domain });
      tiles[f].setAttribute("aria-label", `conv1 filter ${f} at step ${steps[index]}`);
    }
    bars.conv1.update("diverging", domain, rangeNote());
    const first = weights.get(steps[0]);
    const change = first ? moved(values, first.conv1.values, 0, values.length) : null;
    $("#conv1-moved").textContent =
      change === null ? "" : `At step ${steps[index].toLocaleString("en-US")}, conv1's weights have moved ${formatTick(change * 100)}% of their initial size away from the initialisation (‖W − W₀‖ / ‖W₀‖).`;
    Object.assign(conv1Grid.dataset, { step: String(steps[index]), range: String(domain[1]) });
  };

  const conv2Canvas = $("#conv2-kernels");
  const paintConv2 = (entry) => {
    const { shape, values } = entry.conv2;
    const [count, cin, k] = shape;
    channel = Math.max(0, Math.min(count - 1, channel));
    const offset = channel * cin * k * k;
    const domain = range("conv2", offset, cin * k * k);
    const columns = Math.min(cin, 10);
    const layout = mosaicLayout(cin, k, k, columns, 1);
    paintMosaic(conv2Canvas, values, { offset, count: cin, h: k, w: k, columns, gap: 1, scale: "diverging", domain });
    conv2Canvas.style.width = `${layout.width * TRAINING_PAGE.conv2CellPx}px`;
    conv2Canvas.setAttribute("aria-label", `conv2 filter ${channel} at step ${steps[index]}: ${cin} kernels of ${k} by ${k}, one per input channel`);
    bars.conv2.update("diverging", domain, rangeNote());
    const first = weights.get(steps[0]);
    const change = first ? moved(values, first.conv2.values, offset, cin * k * k) : null;
    $("#conv2-moved").textContent = change === null ? "" : `Moved ${formatTick(change * 100)}% of its initial size away from the initialisation.`;
    const input = $("#conv2-channel");
    input.max = String(count - 1);
    Object.assign(conv2Canvas.dataset, { step: String(steps[index]), channel: String(channel), range: String(domain[1]) });
  };

  const paintAll = () => {
    const entry = weights.get(steps[index]);
    if (!entry) return false;
    paintConv1(entry);
    paintConv2(entry);
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
      onError(`The filters could not be loaded: ${error.message}`);
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
  const input = $("#conv2-channel");
  const choose = (c) => {
    channel = Math.max(0, Math.min(Number(input.max) || 0, c));
    input.value = String(channel);
    paintAll();
  };
  input.addEventListener("change", () => {
    const c = Number.parseInt(input.value, 10);
    choose(Number.isFinite(c) ? c : channel);
  });
  $("#conv2-prev").addEventListener("click", () => choose(channel - 1));
  $("#conv2-next").addEventListener("click", () => choose(channel + 1));
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
        onError(`The filters at step ${steps[i]} could not be loaded: ${error.message}`);
        return;
      }
      if (index === i) paintAll();
    },
  };
}
