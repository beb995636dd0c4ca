/**
 * The 1x1 convolution demo of the model page: a C_out x C_in matrix, edited by hand or filled by a
 * preset, mixes the maps of one layer of a test digit through POST /api/mix; the mixed maps are drawn
 * and the parameter and multiply-add counts are compared with a 5x5 layer of the same width. The layers,
 * the largest C_out and the largest weight come from GET /api/mix/limits: a value out of range is refused
 * with a sentence (never changed in silence). Below it, the lecture's bottleneck (mix-bottleneck.js).
 *
 *   const mix = createMixDemo({ form, matrixTable, inputs, outputs, counts, ... }, { onError, words: () => words });
 *   mix.run();      // mix (the limits and layers are fetched first, once per model)
 *   mix.prepare();  // the limits, the layers and the bottleneck only
 *   mix.reset();    // the page's model changed: its own limits and layers next time
 */

import { api, apiUrl, decodeArray, request } from "./api.js";
import { MODEL_PAGE } from "./config.js";
import { el } from "./dom.js";
import { formatTick } from "./format.js";
import { domainFor, extent, paint, scaleFor } from "./heatmap.js";
import { formatNumber, t } from "./i18n.js";
import { createBottleneck } from "./mix-bottleneck.js";
import { pageUrl } from "./model-switch.js";
import { modelWords } from "./model-words.js";
import { attachProbe, gridCell } from "./probe.js";

const TIMES = "\u00d7";
const int = (n) => formatNumber(n);

/** Matrix presets: (C_out, C_in) -> rows. */
export const PRESETS = {
  /** row o keeps channel o */
  pick: (rows, cols) => Array.from({ length: rows }, (_, o) => Array.from({ length: cols }, (_, c) => (c === o % cols ? 1 : 0))),
  /** row o = channel o minus channel o + 1 */
  difference: (rows, cols) =>
    Array.from({ length: rows }, (_, o) => Array.from({ length: cols }, (_, c) => (c === o % cols ? 1 : c === (o + 1) % cols ? -1 : 0))),
  /** row o = the mean of the channels c with c mod C_out = o */
  mean: (rows, cols) =>
    Array.from({ length: rows }, (_, o) => {
      const members = Array.from({ length: cols }, (_, c) => c).filter((c) => c % rows === o).length || 1;
      return Array.from({ length: cols }, (_, c) => (c % rows === o ? Math.round((1 / members) * 1000) / 1000 : 0));
    }),
  /** values in [-1, 1], one decimal */
  random: (rows, cols) => Array.from({ length: rows }, () => Array.from({ length: cols }, () => Math.round((Math.random() * 2 - 1) * 10) / 10)),
};

function mapCanvas(values, offset, h, w, scale, domain, label) {
  const figure = el("figure", "mix-map");
  const canvas = el("canvas", "crisp");
  canvas.style.width = `${MODEL_PAGE.mixMapPx}px`;
  canvas.style.height = `${MODEL_PAGE.mixMapPx}px`;
  paint(canvas, values, { offset, height: h, width: w, scale, domain });
  attachProbe(canvas, ({ fx, fy }) => {
    const { y, x } = gridCell(fx, fy, h, w);
    return { label: t("{map} · (y {y}, x {x})", { map: label, y, x }), value: values[offset + y * w + x], data: { y, x } };
  });
  const caption = el("figcaption", "", label);
  figure.append(canvas, caption);
  return figure;
}

export function countsText(c, cin, cout, h, w) {
  const k = c.kernel;
  const ratio = c.params_kxk / c.params_1x1;
  const weights = `${cout}${TIMES}${cin}`;
  const params1 = int(c.params_1x1);
  const madds1 = `${cout}${TIMES}${cin}${TIMES}${h}${TIMES}${w} = ${int(c.madds_1x1)}`;
  const paramsK = `${cout}${TIMES}${cin}${TIMES}${k}${TIMES}${k} + ${cout} = ${int(c.params_kxk)}`;
  const maddsK = `${cout}${TIMES}${cin}${TIMES}${k}${TIMES}${k}${TIMES}${h}${TIMES}${w} = ${int(c.madds_kxk)}`;
  const params = { cin, cout, weights, params1, madds1, k, paramsK, maddsK, times: c.madds_kxk / c.madds_1x1, k2: k * k, ratio: ratio.toFixed(1) };
  return t(
    "This 1 × 1 layer ({cin} → {cout} channels): {weights} weights + {cout} biases = {params1} parameters; {madds1} multiply-adds. A {k} × {k} layer of the same width: {paramsK} parameters; {maddsK} multiply-adds: {times} times the multiply-adds (k² = {k2}) and {ratio} times the parameters.",
    params,
  );
}

export function createMixDemo(ui, { onError, words = () => modelWords(null) }) {
  let limits = null; // GET /api/mix/limits
  let bottleneck = null; // the lecture's example: the same for every model
  let cin = 20;
  let matrix = PRESETS.pick(MODEL_PAGE.mixOutputs, cin);
  let requested = 0;
  ui.outputsInput.value = String(MODEL_PAGE.mixOutputs);

  /** The limits, the layers to mix and the bottleneck, once. */
  async function load() {
    if (limits) return;
    const fresh = await request(apiUrl("/api/mix/limits"));
    if (!fresh.layers.length) throw new Error(t("this network has no maps (C × H × W) to mix with a 1 × 1 convolution"));
    limits = fresh;
    ui.outputsInput.min = "1";
    ui.outputsInput.max = String(limits.max_outputs);
    ui.outputsLimit.textContent = `(1–${limits.max_outputs})`;
    const wanted = ui.layerSelect.value;
    ui.layerSelect.textContent = "";
    for (const layer of limits.layers) ui.layerSelect.append(new Option(`${layer.name} (${layer.shape.join(TIMES)})`, layer.name));
    const first = limits.layers.find((l) => l.kind === "relu") || limits.layers[0]; // the first maps after a bend
    ui.layerSelect.value = limits.layers.some((l) => l.name === wanted) ? wanted : first.name;
    layerChanged();
    if (!bottleneck) bottleneck = createBottleneck(ui.bottleneck, limits, { onError });
  }

  /** The layer's channel count is C_in: a new one rebuilds the matrix. */
  function layerChanged() {
    const layer = limits.layers.find((l) => l.name === ui.layerSelect.value);
    if (layer.shape[0] !== cin) {
      cin = layer.shape[0];
      matrix = PRESETS.pick(matrix.length, cin);
    }
    ui.inputsTitle.textContent = t("The {n} input maps", { n: cin });
    buildMatrix();
  }

  function buildMatrix() {
    const table = ui.matrixTable;
    table.textContent = "";
    const head = el("tr");
    const corner = el("th", "", t("out \\ in"));
    head.append(corner);
    for (let c = 0; c < cin; c++) {
      const th = el("th", "", String(c));
      th.scope = "col";
      head.append(th);
    }
    const thead = el("thead");
    thead.append(head);
    const tbody = el("tbody");
    matrix.forEach((row, o) => {
      const tr = el("tr");
      const th = el("th", "", String(o));
      th.scope = "row";
      tr.append(th);
      row.forEach((v, c) => {
        const td = el("td");
        const input = el("input");
        input.type = "number";
        input.step = "0.1";
        input.value = String(v);
        input.dataset.row = String(o);
        input.dataset.col = String(c);
        input.setAttribute("aria-label", t("weight of input channel {c} in output {o}", { c, o }));
        input.classList.toggle("nonzero", v !== 0);
        td.append(input);
        tr.append(td);
      });
      tbody.append(tr);
    });
    table.append(thead, tbody);
  }

  ui.matrixTable.addEventListener("change", (event) => {
    const input = event.target;
    if (!(input instanceof HTMLInputElement) || input.dataset.row === undefined) return;
    const v = Number(input.value);
    if (input.value.trim() === "" || !Number.isFinite(v)) {
      onError(t("Weight ({row}, {col}) must be a number.", { row: input.dataset.row, col: input.dataset.col }));
      return;
    }
    if (limits && Math.abs(v) > limits.max_value) {
      onError(t("Weight ({row}, {col}): {value} is outside ±{max}, the most POST /api/mix takes.", { row: input.dataset.row, col: input.dataset.col, value: v, max: limits.max_value }));
      return;
    }
    matrix[Number(input.dataset.row)][Number(input.dataset.col)] = v;
    input.classList.toggle("nonzero", v !== 0);
    run();
  });

  /** C_out as typed, or null after saying why it is refused (the field keeps what was typed). */
  function outputs() {
    const text = ui.outputsInput.value.trim();
    const rows = Number(text);
    const most = limits.max_outputs;
    if (text === "" || !Number.isInteger(rows)) {
      onError(t("Outputs C_out: type a whole number from 1 to {most}.", { most }));
      return null;
    }
    if (rows < 1 || rows > most) {
      onError(t("Outputs C_out: {n} is out of range; the 1 × 1 layer takes 1 to {most} output maps.", { n: rows, most }));
      return null;
    }
    ui.outputsInput.removeAttribute("aria-invalid");
    return rows;
  }

  /** A new C_out: keep the rows there are, add "pick" rows. */
  function resize() {
    const rows = outputs();
    if (rows === null) {
      ui.outputsInput.setAttribute("aria-invalid", "true");
      return false;
    }
    const fresh = PRESETS.pick(rows, cin);
    matrix = fresh.map((row, o) => (o < matrix.length ? matrix[o] : row));
    buildMatrix();
    return true;
  }

  function sampleId() {
    const id = Number(ui.sampleInput.value);
    return Number.isInteger(id) && id >= 0 ? id : null;
  }

  async function showInputs(id, layer, ticket) {
    const result = await api.activations({ sample: id }, { layers: layer });
    if (ticket !== requested) return;
    const maps = result.layers[0];
    const [c, h, w] = maps.shape;
    const scale = scaleFor(maps.kind, maps.min);
    const domain = domainFor(scale, maps.min, maps.max);
    ui.inputs.textContent = "";
    for (let i = 0; i < c; i++) ui.inputs.append(mapCanvas(maps.values, i * h * w, h, w, scale, domain, `${layer} ${i}`));
    const range = { layer, item: words().item, id, lo: formatTick(domain[0]), hi: formatTick(domain[1]) };
    ui.inputNote.textContent = t("{layer} of {item} #{id}, one scale for all ({lo} to {hi})", range);
  }

  async function run() {
    await load();
    if (outputs() === null || matrix.length !== Number(ui.outputsInput.value)) return;
    const id = sampleId();
    if (id === null) {
      onError(t("Pick a test {item}: a whole number from 0 up.", { item: words().item }));
      return;
    }
    const layer = ui.layerSelect.value;
    const ticket = ++requested;
    ui.root.dataset.busy = "true";
    ui.digit.src = api.sampleUrl(id);
    ui.digit.alt = t("test {item} {id}", { item: words().item, id });
    ui.explore.href = pageUrl("/", { sample: id });
    const form = new FormData();
    form.append("sample", String(id));
    form.append("layer", layer);
    form.append("matrix", JSON.stringify(matrix));
    try {
      const [body] = await Promise.all([request(apiUrl("/api/mix"), { form }), showInputs(id, layer, ticket)]);
      if (ticket !== requested) return;
      const values = decodeArray(body.output.data, body.output.dtype);
      const [cout, h, w] = body.output.shape;
      ui.outputs.textContent = "";
      for (let o = 0; o < cout; o++) {
        const [lo, hi] = extent(values, o * h * w, h * w);
        const scale = lo < 0 ? "diverging" : "sequential";
        const figure = mapCanvas(values, o * h * w, h, w, scale, domainFor(scale, lo, hi), t("mixed {o}", { o }));
        figure.querySelector("figcaption").textContent = t("mixed {o}: {lo} to {hi}", { o, lo: formatTick(lo), hi: formatTick(hi) });
        ui.outputs.append(figure);
      }
      ui.counts.textContent = countsText(body.counts, body.input_shape[0], cout, h, w);
      ui.root.dataset.mixed = String(cout);
      ui.root.dataset.renders = String(Number(ui.root.dataset.renders || 0) + 1);
    } catch (error) {
      if (ticket === requested) onError(error);
    } finally {
      if (ticket === requested) delete ui.root.dataset.busy;
    }
  }

  ui.form.addEventListener("submit", (event) => {
    event.preventDefault();
    run();
  });
  ui.layerSelect.addEventListener("change", () => {
    layerChanged();
    run();
  });
  ui.sampleInput.addEventListener("change", run);
  ui.outputsInput.addEventListener("change", () => {
    if (resize()) run();
  });
  for (const button of ui.form.querySelectorAll("[data-preset]")) {
    button.addEventListener("click", () => {
      matrix = PRESETS[button.dataset.preset](matrix.length, cin);
      buildMatrix();
      run();
    });
  }
  buildMatrix();
  return {
    run,
    /** The limits, the layers and the bottleneck only (a model without a test set has no image to mix). */
    prepare: load,
    /** The page's model changed: fetch its limits and layers on the next run (the matrix is kept where it fits). */
    reset() {
      limits = null;
    },
  };
}
