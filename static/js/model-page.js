/**
 * The model page (GET /model): the architecture with its arithmetic, the model card (accuracy, curve,
 * confusion matrix with the misclassified digits), every conv filter and the 1x1 convolution demo.
 *
 * <main> carries data-state (loading, ready, failed) and data-error when something failed.
 */

import { errorBanner } from "./error-banner.js";
import { api } from "./api.js";
import { renderConfusion } from "./confusion.js";
import { colorbar } from "./heatmap.js";
import { layerDomain, renderConv1, renderConv2 } from "./filters.js";
import { createMixDemo } from "./mix-demo.js";
import { renderPerClass, renderCurve, renderStats } from "./model-card.js";
import { renderArchitecture } from "./model-table.js";
import { installReadout } from "./probe.js";
import { createShiftPanel } from "./shift-panel.js";

const $ = (id) => document.getElementById(id);
const main = $("main");

installReadout($("readout"), $("tooltip"));

const { show: showError } = errorBanner(main);

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

async function start() {
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

start();
