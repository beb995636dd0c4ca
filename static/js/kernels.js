/**
 * The kernel lab (GET /kernels): draw a kernel (or two), slide it over an image through POST
 * /api/convolve, and step through any output pixel; pool the image or a feature map through POST
 * /api/pool; send the kernel into the network (the explorer, with a conv1 override). Two more tabs start
 * when first shown: the conv layer (conv-layer.js) and convolution in 1-D (signal-panel.js).
 *
 * The controls are checked against the server's own limits (GET /api/kernels/limits) before anything is
 * sent: settings it would refuse are explained in words, and the live formula shows no size for them.
 *
 * Every change of a control updates the live formula and the "what slides" grids at once, and asks the
 * server again after KERNEL_LAB.debounceMs; only the newest answer is shown, and a failed request leaves
 * the previous result on screen with the server's message. <main> carries data-state ("ready"),
 * data-renders (results shown), data-busy while a request is out, data-error, and data-last-ms (from
 * the change to the painted result; also a performance.measure "kernels:update").
 */

import { api } from "./api.js";
import { KERNEL_LAB } from "./config.js";
import { convRefusal, geometry } from "./conv-arithmetic.js";
import { errorBanner } from "./error-banner.js";
import { renderGallery } from "./gallery.js";
import { t } from "./i18n.js";
import { watchImageInputs } from "./input-sources.js";
import { kernelApi } from "./kernel-api.js";
import { AppliedView } from "./kernel-applied.js";
import { KernelEditor } from "./kernel-editor.js";
import { showFormula } from "./kernel-formula.js";
import { recallDigit, showNetworkLink } from "./kernel-handoff.js";
import { identity } from "./kernel-math.js";
import { displayFor, MapPanel, markTails } from "./kernel-output.js";
import { PoolSection } from "./kernel-pool.js";
import { createLabTabs } from "./kernel-lab-tabs.js";
import { explorerSource, fileSource, photoSource, sampleSource } from "./kernel-sources.js";
import { StepView, windowAt } from "./kernel-steps.js";

const $ = (id) => document.getElementById(id);
const main = $("main");
const maxUploadBytes = Number(main.dataset.maxUploadBytes) || 0;
const errors = errorBanner(main);

let editors = [];
let source = null;
let gallery = null;
let requested = 0;
let shown = null; // {result, spec} on screen
let renders = 0;
let timer = 0;
let changedAt = null; // time of the first change not yet on screen
let picked = null; // [y, x] of the output pixel being stepped through
let changes = 0; // counts changes: an answer to an older state of the controls is not shown
let lastKey = null; // the image and spec last asked for
let sourceVersion = 0;
let limits = null; // GET /api/kernels/limits

const appliedView = new AppliedView($("applied"), $("applied-hint"));
const steps = new StepView($("steps"));
const panels = {
  input: new MapPanel($("map-input"), { id: "map-input", title: t("Input") }),
  outputs: [
    new MapPanel($("map-a"), { id: "map-a", title: t("Kernel A"), onPick: (y, x) => pick(y, x) }),
    new MapPanel($("map-b"), { id: "map-b", title: t("Kernel B"), onPick: (y, x) => pick(y, x) }),
  ],
  combined: new MapPanel($("map-combined"), { id: "map-combined", title: t("Combined"), onPick: (y, x) => pick(y, x) }),
};
let poolRenders = 0;
const pool = new PoolSection({
  kernelA: () => (editors.length && !editors[0].problem ? { kernel: editors[0].kernel, mode: radio("mode") } : null),
  onError: (message) => showError(message, "pool"),
  onShown: () => {
    hideError("pool");
    poolRenders += 1;
    main.dataset.poolRenders = String(poolRenders);
  },
});

/* ---------------------------------------------------------------------------------------------- */
/* Errors                                                                                          */

/** Show `message`; `origin` ("kernel", "pool", "image") says which later success may hide it again. */
function showError(message, origin = "kernel") {
  errors.show(message, origin);
}

/** Hide the error if it came from one of `origins` (or whatever it was, with none). */
function hideError(...origins) {
  errors.hide(...origins);
}

/* ---------------------------------------------------------------------------------------------- */
/* The controls -> a spec                                                                          */

const radio = (name) => document.querySelector(`input[name="${name}"]:checked`).value;

/** `input` as a whole number from `lo` to `hi`, or {problem} naming the field (`field`: its name in words). */
function wholeNumber(input, field, lo, hi) {
  const v = Number(input.value);
  if (input.value.trim() === "" || !Number.isInteger(v)) return { problem: t("{field}: type a whole number from {lo} to {hi}.", { field, lo, hi }) };
  if (v < lo || v > hi) {
    const problem = t("{field}: {value} is out of range; the server takes {lo} to {hi}.", { field, value: v, lo, hi });
    return { problem, refusal: problem };
  }
  return { value: v };
}

function activeEditors() {
  return $("second-kernel").checked ? editors : editors.slice(0, 1);
}

/** {spec} for POST /api/convolve from the controls, or {problem} in words. */
function readSpec() {
  for (const editor of activeEditors()) if (editor.problem) return { problem: editor.problem };
  let padding = $("padding").value;
  if (padding === "explicit") {
    const p = wholeNumber($("padding-p"), t("Padding P"), 0, limits.max_padding);
    if (p.problem) return p;
    padding = p.value;
  }
  const stride = wholeNumber($("stride"), t("Stride S"), 1, limits.max_stride);
  if (stride.problem) return stride;
  const spec = {
    kernels: activeEditors().map((e) => e.kernel),
    mode: radio("mode"),
    padding,
    padding_mode: $("padding-mode").value,
    stride: stride.value,
    color: radio("color"),
    combine: $("combine").value,
    rounding: $("rounding").value,
  };
  if (source) {
    const refusal = convRefusal(
      {
        height: source.height,
        width: source.width,
        kernel: spec.kernels[0].length,
        stride: spec.stride,
        padding,
        paddingMode: spec.padding_mode,
        rounding: spec.rounding,
        channels: spec.color === "rgb" ? 3 : 1,
        maps: spec.kernels.length + (spec.combine !== "none"),
      },
      limits,
    );
    if (refusal) return { problem: refusal, refusal };
  }
  return { spec };
}

/* ---------------------------------------------------------------------------------------------- */
/* Reacting to a change                                                                            */

/** Something changed: update what can be shown at once, then ask the server (debounced). */
function changed() {
  if (!editors.length) return; // still starting
  $("padding-p").disabled = $("padding").value !== "explicit";
  appliedView.show(
    activeEditors().map((e) => ({ label: e.slot.toUpperCase(), slot: e.slot, kernel: e.kernel })),
    radio("mode"),
  );
  updateNetworkLink();
  pool.changed(); // it may pool kernel A's output
  const { spec, problem, refusal } = readSpec();
  if (problem) {
    changes += 1; // an answer still on its way is for controls that no longer hold
    lastKey = null;
    if (refusal) showFormula($("formula"), null, { refusal });
    showError(problem);
    return;
  }
  const key = JSON.stringify([sourceVersion, spec]);
  if (key === lastKey) return; // nothing new (a "change" event after "input", a blur)
  lastKey = key;
  changes += 1;
  if (changedAt === null) changedAt = performance.now();
  if (source) {
    const g = geometry(source.height, source.width, spec.kernels[0].length, spec.stride, spec.padding, spec.rounding);
    showFormula($("formula"), g, { live: true });
  }
  clearTimeout(timer);
  timer = setTimeout(() => send(spec), KERNEL_LAB.debounceMs);
}

async function send(spec) {
  if (!source) return;
  const id = ++requested;
  const version = changes;
  main.dataset.busy = "true";
  try {
    const result = await kernelApi.convolve(source, spec);
    if (id !== requested || version !== changes) return;
    shown = { result, spec };
    render();
    hideError("kernel", "image");
    await measure();
  } catch (error) {
    if (id === requested && version === changes) showError(error.message);
  } finally {
    if (id === requested) delete main.dataset.busy;
  }
}

async function measure() {
  await new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));
  if (changedAt === null) return;
  const entry = performance.measure("kernels:update", { start: changedAt, end: performance.now() });
  main.dataset.lastMs = entry.duration.toFixed(1);
  changedAt = null;
}

/* ---------------------------------------------------------------------------------------------- */
/* Showing a result                                                                                */

function render() {
  const { result, spec } = shown;
  const [top, bottom, left, right] = result.padded.pad;
  const [, h, w] = result.input_shape;
  const padded = result.padded;
  const size = `${padded.shape[1]} × ${padded.shape[2]}`;
  const pads = { size, h, w, top, bottom, left, right, mode: spec.padding_mode };
  panels.input.show(padded, {
    scale: "gray",
    domain: [0, 1],
    title: top + bottom + left + right ? t("Padded input") : t("Input"),
    note: top + bottom + left + right ? t("{size} (the {h} × {w} image, dashed, with padding {top} top, {bottom} bottom, {left} left, {right} right: {mode})", pads) : size,
  });
  panels.input.mark("image", top + bottom + left + right ? { y: top, x: left, h, w } : null);
  markTails(panels.input, result.arithmetic, padded.shape);
  const names = [t("Kernel A"), t("Kernel B")];
  panels.outputs.forEach((panel, i) => {
    const out = result.outputs[i];
    if (!out) {
      panel.hide();
      return;
    }
    const { scale, domain } = displayFor(out.min, out.max);
    panel.show(out, { scale, domain, title: names[i], note: noteFor(out) });
  });
  if (result.combined) {
    const { scale, domain } = displayFor(result.combined.min, result.combined.max);
    const how = spec.combine === "magnitude" ? "√(A² + B²)" : "A + B";
    panels.combined.show(result.combined, { scale, domain, title: t("Combined: {how}", { how }), note: noteFor(result.combined) });
  } else {
    panels.combined.hide();
  }
  showFormula($("formula"), result.arithmetic);
  $("step-channel-field").hidden = result.input_shape[0] !== 3;
  const [, oh, ow] = result.output_shape;
  if (picked && picked[0] < oh && picked[1] < ow) pick(...picked);
  else {
    picked = null;
    for (const panel of allOutputPanels()) panel.mark("pixel", null);
    panels.input.mark("window", null);
    steps.clear(t("Click an output pixel above (or focus a map and press an arrow key) to see its window, the products and their sum."));
  }
  $("maps").removeAttribute("aria-busy");
  renders += 1;
  main.dataset.renders = String(renders);
}

function noteFor(out) {
  const range = { shape: out.shape.slice(1).join(" × "), min: formatRange(out.min), max: formatRange(out.max) };
  return out.shape[0] === 3 ? t("{shape} × 3 channels, from {min} to {max}", range) : t("{shape}, from {min} to {max}", range);
}

function formatRange(v) {
  return String(Number(v.toPrecision(4))).replace("-", "\u2212");
}

function allOutputPanels() {
  return [...panels.outputs, panels.combined];
}

/** Step through output pixel (y, x) of the result on screen. */
function pick(y, x) {
  if (!shown) return;
  const { result, spec } = shown;
  picked = [y, x];
  const [channels, oh, ow] = result.output_shape;
  const channel = channels === 3 ? Number($("step-channel").value) : 0;
  const k = result.applied_kernels[0].length;
  for (const panel of allOutputPanels()) {
    panel.picked = [y, x];
    panel.mark("pixel", { y, x, h: 1, w: 1 });
  }
  const at = (channel * oh + y) * ow + x;
  const win = windowAt(result.padded, channel, k, spec.stride, y, x);
  panels.input.mark("window", { y: win.top, x: win.left, h: k, w: k });
  steps.showConvolution({
    y,
    x,
    channel,
    channels,
    top: win.top,
    left: win.left,
    combine: spec.combine,
    combined: result.combined ? result.combined.values[at] : null,
    blocks: result.applied_kernels.map((kernel, i) => ({
      label: spec.mode === "convolution" ? t("Kernel {slot} (flipped)", { slot: "AB"[i] }) : t("Kernel {slot}", { slot: "AB"[i] }),
      windowValues: win.values,
      kernel,
      output: result.outputs[i].values[at],
    })),
  });
}

$("step-channel").addEventListener("change", () => picked && pick(...picked));

/* ---------------------------------------------------------------------------------------------- */
/* Images                                                                                          */

async function useSource(next) {
  const got = await next;
  if (got.problem) {
    showError(got.problem, "image");
    return false;
  }
  source = got;
  sourceVersion += 1;
  hideError("image");
  const img = $("source-preview");
  img.src = got.preview;
  img.classList.toggle("crisp", Boolean(got.crisp));
  img.alt = got.caption;
  img.hidden = false;
  $("source-caption").textContent = `${got.caption} · ${got.width} × ${got.height}`;
  main.dataset.source = got.kind;
  gallery?.select(got.kind === "sample" ? got.sample : null);
  picked = null;
  pool.setImage(source, radio("color"));
  changed();
  return true;
}

$("source-photo").addEventListener("click", () => useSource(photoSource()));
$("source-explorer").addEventListener("click", () => useSource(explorerSource()));
watchImageInputs({
  fileInput: $("file"),
  overlay: null,
  onFile: (file) => useSource(fileSource(file, { maxBytes: maxUploadBytes })),
  onError: (message) => showError(message, "image"),
});
for (const input of document.querySelectorAll('input[name="color"]')) {
  input.addEventListener("change", () => {
    if (source) pool.setImage(source, radio("color"));
    changed();
  });
}

/* ---------------------------------------------------------------------------------------------- */
/* Kernel size, the second slot, the sliding controls                                              */

function setSize(k) {
  $("kernel-size").value = String(k);
  for (const editor of editors) editor.resize(k);
}

function editorChanged(editor) {
  if (editor.size !== Number($("kernel-size").value)) setSize(editor.size); // a preset of another size
  changed();
}

$("kernel-size").addEventListener("change", () => {
  setSize(Number($("kernel-size").value));
  changed();
});
$("second-kernel").addEventListener("change", () => {
  $("slot-b").hidden = !$("second-kernel").checked;
  changed();
});
for (const id of ["padding", "padding-p", "padding-mode", "stride", "combine", "rounding"]) {
  $(id).addEventListener("input", changed);
  $(id).addEventListener("change", changed);
}
for (const input of document.querySelectorAll('input[name="mode"]')) input.addEventListener("change", changed);

/** The Sobel demo: Sobel x and y on the photo, side by side, and their magnitude: the outline. */
async function sobelDemo() {
  const byName = (name) => editors[0].presets.find((p) => p.name === name);
  $("second-kernel").checked = true;
  $("slot-b").hidden = false;
  $("combine").value = "magnitude";
  $("padding").value = "same";
  $("stride").value = "1";
  $("rounding").value = "floor";
  document.querySelector('input[name="mode"][value="cross-correlation"]').checked = true;
  editors[0].set(byName("sobel x").kernel, "sobel x", { silent: true });
  editors[1].set(byName("sobel y").kernel, "sobel y", { silent: true });
  setSize(3);
  if (source && source.kind === "photo") changed();
  else await useSource(photoSource());
}

$("demo-sobel").addEventListener("click", sobelDemo);

/* ---------------------------------------------------------------------------------------------- */
/* Into the network                                                                                */

function updateNetworkLink() {
  const digit = source && source.sample !== undefined ? source.sample : (recallDigit()?.sample ?? null);
  showNetworkLink($("try-network"), $("network-note"), { editor: editors[0], mode: radio("mode"), channel: Number($("network-channel").value), digit });
}

$("network-channel").addEventListener("change", updateNetworkLink);

/* ---------------------------------------------------------------------------------------------- */
/* Start                                                                                           */

/** The test digit asked for by ?sample=ID, or null; a malformed one is explained (and stays up, tagged "link"). */
function deepLinkedSample() {
  const raw = new URLSearchParams(window.location.search).get("sample");
  if (raw === null) return null;
  if (!/^\s*\d+\s*$/.test(raw)) {
    showError(t("?sample={raw} is not a test digit id: use a whole number, e.g. /kernels?sample=7. Showing the bundled photo.", { raw }), "link");
    return null;
  }
  return Number(raw);
}

/** Show the server's limits beside the fields and as their min/max. */
function showLimits() {
  const ranges = { padding: [0, limits.max_padding], stride: [1, limits.max_stride] };
  for (const [id, [lo, hi]] of Object.entries({ "padding-p": ranges.padding, stride: ranges.stride })) {
    $(id).min = String(lo);
    $(id).max = String(hi);
  }
  for (const [name, [lo, hi]] of Object.entries(ranges)) {
    for (const span of document.querySelectorAll(`#panel-filter .settings-card [data-limit="${name}"]`)) span.textContent = `(${lo}–${hi})`;
  }
}

createLabTabs(document.querySelector(".lab-tabs"), $("to-layer-tab"), {
  onError: (message, origin) => showError(message, origin),
  onShown: (origin) => hideError(origin),
});

async function start() {
  for (const k of KERNEL_LAB.sizes) $("kernel-size").append(new Option(`${k}×${k}`, String(k)));
  for (let c = 0; c < KERNEL_LAB.conv1Filters; c++) $("network-channel").append(new Option(String(c), String(c)));
  let presets;
  let samples;
  let model;
  try {
    [presets, samples, limits, model] = await Promise.all([kernelApi.presets(), api.samples(), kernelApi.limits(), api.model()]);
  } catch (error) {
    showError(t("The lab could not start: {message}", { message: error.message }));
    main.dataset.state = "failed";
    return;
  }
  showLimits();
  pool.setLimits(limits, model);
  const byName = (name) => presets.find((p) => p.name === name);
  editors = [
    new KernelEditor($("slot-a"), { slot: "a", label: t("Kernel A"), presets, onChange: editorChanged }),
    new KernelEditor($("slot-b"), { slot: "b", label: t("Kernel B"), presets, onChange: editorChanged }),
  ];
  const first = byName("sobel x") || { kernel: identity(3), name: "" };
  const second = byName("sobel y") || { kernel: identity(3), name: "" };
  editors[0].set(first.kernel, first.name, { silent: true });
  editors[1].set(second.kernel, second.name, { silent: true });
  $("kernel-size").value = String(first.kernel.length);
  gallery = renderGallery($("gallery"), samples, { onPick: (sample) => useSource(sampleSource(sample)) });
  const wanted = deepLinkedSample();
  const known = wanted !== null ? samples.find((s) => s.id === wanted) || { id: wanted } : null;
  await useSource(known ? sampleSource(known) : photoSource());
  main.dataset.state = "ready";
}

start();
