/**
 * The model page (GET /model): the architecture with its arithmetic, the model card (accuracy, curve,
 * confusion matrix with the misclassified test images), every conv layer's filters and the 1x1
 * convolution demo, for any served model: the layers, their names and the class names all come from the
 * API (GET /api/model), and a section that does not apply to the model says why in words.
 *
 * <main> carries data-state (loading, ready, failed), data-model (the model shown: ?model=, or the
 * switch, which changes it without a reload, so the 1x1 demo keeps its image and matrix) and data-error
 * when something failed. ?sample=ID picks the 1x1 demo's test image.
 */

import { errorBanner } from "./error-banner.js";
import { api, setModel } from "./api.js";
import { renderConfusion } from "./confusion.js";
import { colorbar } from "./heatmap.js";
import { layerDomain, renderFilterLayer } from "./filters.js";
import { formatNumber, t } from "./i18n.js";
import { createMixDemo } from "./mix-demo.js";
import { renderPerClass, renderCurve, renderStats } from "./model-card.js";
import { modelPicker, setAddress } from "./model-switch.js";
import { renderArchitecture } from "./model-table.js";
import { applyWords, modelWords } from "./model-words.js";
import { installReadout } from "./probe.js";
import { createShiftPanel } from "./shift-panel.js";
import { scrollCue, scrollCues } from "./scroll-cue.js";

const $ = (id) => document.getElementById(id);
const main = $("main");

installReadout($("readout"), $("tooltip"));
scrollCues(main, ".table-scroll");

const errors = errorBanner(main);
const { show: showError } = errors;
setModel(main.dataset.model || null);
if (main.dataset.sample !== undefined) $("mix-sample").value = main.dataset.sample;

let info = null; // GET /api/model of the model shown
let words = modelWords(null);
let models = []; // GET /api/models

/** The architecture table; the page's words and the model everything else needs. */
async function architecture() {
  info = await api.model();
  words = modelWords(info);
  applyWords(main, words);
  renderArchitecture($("arch-table"), info);
  return info;
}

async function modelCard() {
  const card = await api.card();
  renderStats($("card-stats"), card, words);
  renderPerClass($("per-class"), card, words);
  $("per-class-hint").textContent = card.test_images ? t("on the {n} test {items}", { n: formatNumber(card.test_images), items: words.items }) : "";
  renderCurve($("curve"), $("curve-legend"), card);
  renderConfusion($("confusion"), $("cell-digits"), card, { words });
}

/** Every conv layer of the table, each with its own colour bar; a network without one says so. */
async function filters(model) {
  const convs = model.layers.filter((l) => l.kind === "conv");
  const host = $("filter-layers");
  const bars = $("filters-scale");
  host.textContent = "";
  bars.textContent = "";
  const none = $("filters-none");
  none.hidden = convs.length > 0;
  const layers = model.layers.map((l) => `${l.name} (${l.kind})`).join(t(", "));
  none.textContent = convs.length ? "" : t("{model} has no conv layers, so it has no filters to draw: its layers are {layers}.", { model: model.name, layers });
  const all = await Promise.all(convs.map((layer) => api.weights(layer.name)));
  convs.forEach((layer, i) => {
    const domain = layerDomain(all[i]);
    const caption = t("{layer} weights", { layer: layer.name });
    const bar = colorbar({ caption });
    bar.update("diverging", domain, caption);
    bars.append(bar.element);
    const section = document.createElement("div");
    section.className = "filter-layer";
    host.append(section);
    const box = renderFilterLayer(section, layer, all[i], domain);
    if (box.classList.contains("conv2-filters")) scrollCue(box, t("{layer}'s filters", { layer: layer.name }));
  });
}

const mix = createMixDemo(
  {
    root: $("mix-form").closest("section"),
    form: $("mix-form"),
    sampleInput: $("mix-sample"),
    layerSelect: $("mix-layer"),
    outputsInput: $("mix-outputs"),
    outputsLimit: $("mix-outputs-limit"),
    inputsTitle: $("mix-inputs-title"),
    bottleneck: $("mix-bottleneck"),
    matrixTable: $("mix-matrix"),
    digit: $("mix-digit"),
    explore: $("mix-explore"),
    inputs: $("mix-inputs"),
    inputNote: $("mix-input-note"),
    outputs: $("mix-outputs-maps"),
    counts: $("mix-counts"),
  },
  { onError: showError, words: () => words },
);

const shifts = createShiftPanel($("shift-section"), { onError: showError, words: () => words });
let shiftsStarted = false;

/**
 * Whether the model shown has its test set here (GET /api/models says); if not, the two panels that work on
 * a test image say so instead (true: they can run).
 */
function testImages(name) {
  const summary = models.find((m) => m.name === name);
  const served = !summary || summary.samples;
  const about = { model: name, item: words.item };
  for (const [id, what] of [
    ["mix", t("{model} is served without its test set, so there is no test {item} to mix the maps of. The bottleneck below is the lecture's example, the same for every model.", about)],
    ["shift", t("{model} is served without its test set, so there is no test {item} to move.", about)],
  ]) {
    $(`${id}-missing`).textContent = served ? "" : what;
    $(`${id}-missing`).hidden = served;
    $(`${id}-body`).hidden = !served;
  }
  return served;
}

/** Draw every section for the model set with setModel. */
async function showAll() {
  main.dataset.state = "loading";
  mix.reset();
  const network = architecture();
  const shift = shiftsStarted ? shifts.restart : shifts.start; // the keys and buttons are wired once
  const images = network.then(() => testImages(main.dataset.model));
  const parts = [
    [t("the architecture"), network],
    [t("the model card"), network.then(modelCard)],
    [t("the filters"), network.then(filters)],
    [t("the 1x1 demo"), images.then((ok) => (ok ? mix.run() : mix.prepare()))],
    [t("the shift panel"), images.then((ok) => (ok ? shift() : null))],
  ];
  images.then((ok) => {
    shiftsStarted ||= ok;
  });
  const results = await Promise.allSettled(parts.map(([, p]) => p));
  const failed = results.map((r, i) => (r.status === "rejected" ? t("{part}: {reason}", { part: parts[i][0], reason: r.reason.message }) : null)).filter(Boolean);
  const separator = t("; ");
  if (failed.length) showError(t("Could not load {parts}", { parts: failed.join(separator) }));
  main.dataset.state = failed.length === parts.length ? "failed" : "ready";
}

/** The model switch (when the server has more than one): redraws the page for the chosen model. */
async function installSwitch() {
  try {
    models = await api.models();
  } catch {
    return; // the page still shows the address's model
  }
  if (models.length < 2) return;
  const fallback = models.find((m) => m.default);
  modelPicker($("model-switch"), models, {
    current: main.dataset.model || fallback?.name,
    onChange: (name) => {
      errors.hide("link"); // the reader chose: a problem with the address's ?model= is answered
      setModel(name);
      main.dataset.model = name;
      setAddress({ model: fallback && name === fallback.name ? null : name });
      showAll();
    },
  });
}

installSwitch().then(showAll);
