/**
 * The model page (GET /model): the architecture with its arithmetic, the model card (accuracy, curve,
 * confusion matrix with the misclassified digits), every conv filter and the 1x1 convolution demo.
 *
 * <main> carries data-state (loading, ready, failed), data-model (the model shown: ?model=, or the
 * switch, which changes it without a reload, so the 1x1 demo keeps its digit and matrix) and data-error
 * when something failed. ?sample=ID picks the 1x1 demo's test digit.
 */

import { errorBanner } from "./error-banner.js";
import { api, setModel } from "./api.js";
import { renderConfusion } from "./confusion.js";
import { colorbar } from "./heatmap.js";
import { layerDomain, renderConv1, renderConv2 } from "./filters.js";
import { createMixDemo } from "./mix-demo.js";
import { renderPerClass, renderCurve, renderStats } from "./model-card.js";
import { modelPicker, setAddress } from "./model-switch.js";
import { renderArchitecture } from "./model-table.js";
import { installReadout } from "./probe.js";
import { createShiftPanel } from "./shift-panel.js";
import { scrollCue, scrollCues } from "./scroll-cue.js";

const $ = (id) => document.getElementById(id);
const main = $("main");

installReadout($("readout"), $("tooltip"));
scrollCues(main, ".table-scroll");
scrollCue($("conv2-filters"), "conv2's filters");

const errors = errorBanner(main);
const { show: showError } = errors;
setModel(main.dataset.model || null);
if (main.dataset.sample !== undefined) $("mix-sample").value = main.dataset.sample;

async function architecture() {
  renderArchitecture($("arch-table"), await api.model());
}

async function modelCard() {
  const card = await api.card();
  renderStats($("card-stats"), card);
  renderPerClass($("per-class"), card);
  renderCurve($("curve"), $("curve-legend"), card);
  renderConfusion($("confusion"), $("cell-digits"), card);
}

async function filters() {
  const [conv1, conv2] = await Promise.all([api.weights("conv1"), api.weights("conv2")]);
  const d1 = layerDomain(conv1);
  const d2 = layerDomain(conv2);
  const bars = $("filters-scale");
  bars.textContent = "";
  for (const [name, domain] of [["conv1", d1], ["conv2", d2]]) {
    const bar = colorbar({ caption: `${name} weights` });
    bar.update("diverging", domain, `${name} weights`);
    bars.append(bar.element);
  }
  renderConv1($("conv1-filters"), conv1, d1);
  renderConv2($("conv2-filters"), conv2, d2);
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
  { onError: showError },
);

/** Draw every section for the model set with setModel. */
async function showAll() {
  main.dataset.state = "loading";
  const parts = [
    ["the architecture", architecture()],
    ["the model card", modelCard()],
    ["the filters", filters()],
    ["the 1x1 demo", mix.run()],
    ["the shift panel", createShiftPanel($("shift-section"), { onError: showError }).start()],
  ];
  const results = await Promise.allSettled(parts.map(([, p]) => p));
  const failed = results.map((r, i) => (r.status === "rejected" ? `${parts[i][0]}: ${r.reason.message}` : null)).filter(Boolean);
  if (failed.length) showError(`Could not load ${failed.join("; ")}`);
  main.dataset.state = failed.length === parts.length ? "failed" : "ready";
}

/** The model switch (when the server has more than one): redraws the page for the chosen model. */
async function installSwitch() {
  let models;
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

installSwitch();
showAll();
