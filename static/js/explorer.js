/**
 * The explorer page (GET /): pick, drop, paste or draw a digit and see every layer of the network.
 *
 * Timing: every input that ends in painted maps leaves a performance.measure entry,
 *   "explorer:file"   from the moment a picked, dropped or pasted file starts being processed,
 *   "explorer:stroke" from the first pad event not yet shown to the maps that show it,
 *   "explorer:sample" from a click on a test digit,
 * each ending after the next frame is presented (marks "explorer:<kind>:start" / ":painted"). The
 * last durations are also on <main> as data-last-file-ms, data-last-stroke-ms, data-last-sample-ms,
 * and data-renders counts the results shown.
 */

import { api } from "./api.js";
import { SIZES, TIMING } from "./config.js";
import { errorBanner } from "./error-banner.js";
import { DrawPad } from "./draw-pad.js";
import { ExplainPanel } from "./explain-overlay.js";
import { renderGallery } from "./gallery.js";
import { paint } from "./heatmap.js";
import { readImageFile, watchImageInputs } from "./input-sources.js";
import { Inspector } from "./inspector.js";
import { createInspectorInsight } from "./inspector-insight.js";
import { clearOverrideFromUrl, overrideFromUrl, rememberDigit } from "./kernel-handoff.js";
import { overrideNotice } from "./kernel-override.js";
import { createLayerView } from "./layer-view.js";
import { installModelSwitch } from "./model-switch.js";
import { PredictionView } from "./prediction.js";
import { installReadout } from "./probe.js";
import { topStrip } from "./top-panel.js";

const $ = (id) => document.getElementById(id);

const main = $("main");
const maxUploadBytes = Number(main.dataset.maxUploadBytes) || 0;
const layersList = $("layers");
const views = new Map();
/* The input on screen, for the model-insight views (receptive fields, explanations). */
let onScreen = null; // {id, input, image, prediction, override}
const insightSource = () => onScreen;
const openDigit = (example) => {
  inspector.close();
  setDeepLink(example.index);
  loadSample({ id: example.index, label: example.label });
};
const inspector = new Inspector($("inspector"), { insight: createInspectorInsight({ source: insightSource, onPick: openDigit }) });
const explainPanel = new ExplainPanel($("explain"), { source: insightSource });
const verdict = new PredictionView($("predicted"), $("confidence"), $("probs"));
let gallery = null;
let mode = document.querySelector('input[name="scale"]:checked').value;
let networkMax = 1;
let requested = 0; // id of the latest request sent
let shown = 0; // id of the request whose result is on screen
let renders = 0;
let objectUrl = null;
let conv1Override = null; // {channel, kernel} from the kernel lab, sent with every request while set
let lastRun = null; // the input on screen, to run again without the override

installReadout($("readout"), $("tooltip"));

/* ---------------------------------------------------------------------------------------------- */
/* Errors                                                                                          */

/* A problem with the page's address (?sample=, ?model=, ?conv1_override=) is tagged "link": showing a
   digit hides the errors of earlier inputs, not that one (it is dismissed, or replaced by a newer error). */
const { show: showError, hide: hideError } = errorBanner(main);
const showLinkProblem = (message) => showError(message, "link");

/* ---------------------------------------------------------------------------------------------- */
/* Timing                                                                                          */

const nextFrame = () => new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));

async function measure(kind, since) {
  await nextFrame();
  const end = performance.mark(`explorer:${kind}:painted`);
  const entry = performance.measure(`explorer:${kind}`, { start: since, end: end.startTime });
  main.dataset[`last${kind[0].toUpperCase()}${kind.slice(1)}Ms`] = entry.duration.toFixed(1);
}

/* ---------------------------------------------------------------------------------------------- */
/* Showing a result                                                                                */

function paintAll() {
  const ctx = { mode, networkMax };
  for (const view of views.values()) view.paint(ctx);
}

function showOriginal(original) {
  const img = $("original-img");
  const padCopy = $("original-pad");
  if (original.pad) {
    const ctx = padCopy.getContext("2d");
    ctx.imageSmoothingQuality = "high";
    ctx.drawImage(original.pad, 0, 0, padCopy.width, padCopy.height);
    padCopy.hidden = false;
    img.hidden = true;
  } else {
    if (original.file) {
      if (objectUrl) URL.revokeObjectURL(objectUrl);
      objectUrl = URL.createObjectURL(original.file);
    }
    img.src = original.file ? objectUrl : original.src;
    img.alt = original.caption;
    img.classList.toggle("crisp", Boolean(original.crisp));
    img.hidden = false;
    padCopy.hidden = true;
  }
  $("original-caption").textContent = original.caption;
}

function render(result, original) {
  let max = 0;
  for (const layer of result.layers) {
    const view = views.get(layer.name);
    if (view) view.setData(layer);
    max = Math.max(max, Math.abs(layer.min), Math.abs(layer.max));
  }
  networkMax = max || 1;
  paintAll();
  const input = result.layers.find((l) => l.name === "input");
  if (input) paint($("seen"), input.values, { height: input.shape[1], width: input.shape[2], scale: "sequential", domain: [0, Math.max(1, input.max)] });
  showOriginal(original);
  verdict.update(result.prediction, { truth: original.truth });
  layersList.removeAttribute("aria-busy");
  renders += 1;
  main.dataset.renders = String(renders);
  main.dataset.source = original.kind;
  inspector.refresh();
}

/**
 * Send one input and show its result unless a newer one is already on screen. Resolves true when
 * it was shown. The previous result stays when this one fails.
 */
async function run(input, original, since) {
  const id = ++requested;
  main.dataset.busy = "true";
  try {
    const result = await api.activations(input, { override: conv1Override });
    if (id < shown) return false;
    shown = id;
    lastRun = { input, original };
    const received = performance.mark(`explorer:${original.kind}:received`).startTime;
    onScreen = { id, input, image: result.layers.find((l) => l.name === "input"), prediction: result.prediction, override: Boolean(conv1Override) };
    render(result, original);
    explainPanel.update();
    rememberDigit(input, result.layers.find((l) => l.name === "input"), original.caption);
    hideError("input");
    const rendered = performance.mark(`explorer:${original.kind}:rendered`).startTime;
    performance.measure(`explorer:${original.kind}:request`, { start: since, end: received });
    performance.measure(`explorer:${original.kind}:render`, { start: received, end: rendered });
    measure(original.kind, since);
    return true;
  } catch (error) {
    if (id >= shown) showError(error);
    return false;
  } finally {
    if (id === requested) delete main.dataset.busy;
  }
}

/* ---------------------------------------------------------------------------------------------- */
/* Inputs                                                                                          */

async function loadFile(picked, how) {
  const since = performance.mark("explorer:file:start", { detail: how }).startTime;
  const { file, problem } = await readImageFile(picked, maxUploadBytes);
  performance.mark("explorer:file:checked");
  if (problem) {
    showError(problem);
    return;
  }
  const shownOk = await run({ file }, { kind: "file", file, caption: `Your image${file.name ? `: ${file.name}` : ""}` }, since);
  if (shownOk) {
    gallery?.select(null);
    setDeepLink(null);
  }
}

function loadSample(sample, since = performance.mark("explorer:sample:start").startTime) {
  gallery?.select(sample.id);
  return run(
    { sample: sample.id },
    { kind: "sample", src: api.sampleUrl(sample.id), crisp: true, truth: sample.label, caption: `Test digit #${sample.id}${sample.label !== undefined ? `, a ${sample.label}` : ""}` },
    since,
  );
}

function setDeepLink(id) {
  const url = new URL(window.location.href);
  if (id === null) url.searchParams.delete("sample");
  else url.searchParams.set("sample", String(id));
  window.history.replaceState(null, "", url);
}

/* The pad: at most one request in flight and at least TIMING.strokeIntervalMs between two, always
   ending with the latest drawing. `dirtySince` is the time of the first change not yet sent. */
let dirtySince = null;
let inFlight = false;
let lastSent = -Infinity;
let timer = 0;

function padChanged({ reason, time }) {
  if (reason === "clear" || pad.isEmpty) return;
  if (dirtySince === null) dirtySince = time;
  pump();
}

function pump() {
  if (inFlight || timer || dirtySince === null) return;
  const wait = lastSent + TIMING.strokeIntervalMs - performance.now();
  if (wait > 0) {
    timer = setTimeout(() => {
      timer = 0;
      pump();
    }, wait);
    return;
  }
  const since = dirtySince;
  dirtySince = null;
  inFlight = true;
  lastSent = performance.now();
  performance.mark("explorer:stroke:start", { startTime: since });
  const pixels = pad.toPixels(SIZES.padGrid);
  run({ pixels }, { kind: "stroke", pad: pad.canvas, caption: "Your drawing" }, since).then((ok) => {
    inFlight = false;
    if (ok) {
      gallery?.select(null);
      setDeepLink(null);
    }
    pump();
  });
}

const pad = new DrawPad($("pad"), { brush: SIZES.brush.initial, onChange: padChanged });
const brush = $("brush");
brush.min = String(SIZES.brush.min);
brush.max = String(SIZES.brush.max);
brush.value = String(SIZES.brush.initial);
brush.addEventListener("input", () => {
  pad.brush = Number(brush.value);
});
$("undo").addEventListener("click", () => pad.undo());
$("clear").addEventListener("click", () => pad.clear());

watchImageInputs({ fileInput: $("file"), overlay: $("drop-overlay"), onFile: loadFile, onError: showError });

for (const radio of document.querySelectorAll('input[name="scale"]')) {
  radio.addEventListener("change", () => {
    if (!radio.checked) return;
    mode = radio.value;
    main.dataset.scaleMode = mode;
    paintAll();
    inspector.refresh();
  });
}

/* ---------------------------------------------------------------------------------------------- */
/* Start                                                                                           */

function buildLayers(model) {
  layersList.textContent = "";
  const hooks = {
    inspect: (view, channel, unit) => inspector.open(view, channel, unit),
    filters: (view, on) => {
      if (!view.topStrip) {
        view.topStrip = topStrip(view, { onPick: openDigit });
        view.body.append(view.topStrip.element);
      }
      view.topStrip.show(on);
    },
    weights: (name) => api.weights(name),
    onError: showError,
  };
  model.layers.forEach((info, i) => {
    const view = createLayerView({ ...info, previous: i > 0 ? model.layers[i - 1].name : null }, hooks);
    views.set(info.name, view);
    layersList.append(view.element);
  });
}

function deepLinkedSample() {
  const raw = new URLSearchParams(window.location.search).get("sample");
  if (raw === null) return null;
  if (!/^\s*\d+\s*$/.test(raw)) {
    showLinkProblem(`?sample=${raw} is not a test digit id: use a whole number, e.g. /?sample=7.`);
    return null;
  }
  return Number(raw);
}

/** A conv1 filter sent from the kernel lab (?conv1_override=...): say so, and offer the trained one back. */
function useOverride() {
  const { override, problem } = overrideFromUrl();
  if (problem) showLinkProblem(problem);
  if (!override) return;
  conv1Override = override;
  main.dataset.override = String(override.channel);
  main.prepend(
    overrideNotice(override, {
      onClear: () => {
        conv1Override = null;
        delete main.dataset.override;
        clearOverrideFromUrl();
        if (lastRun) run(lastRun.input, lastRun.original, performance.mark(`explorer:${lastRun.original.kind}:start`).startTime);
      },
    }),
  );
}

async function start() {
  main.dataset.scaleMode = mode;
  useOverride();
  const switched = await installModelSwitch($("model-switch"));
  if (switched.problem) showLinkProblem(switched.problem);
  let model;
  try {
    model = await api.model();
  } catch (error) {
    showError(`The network could not be loaded: ${error.message}`);
    main.dataset.state = "failed";
    return;
  }
  buildLayers(model);
  let samples = [];
  try {
    samples = await api.samples();
  } catch (error) {
    showError(`The test digits could not be loaded: ${error.message}`);
  }
  gallery = renderGallery($("gallery"), samples, {
    onPick: (sample) => {
      setDeepLink(sample.id);
      loadSample(sample);
    },
  });
  const wanted = deepLinkedSample();
  if (wanted !== null) {
    const known = samples.find((s) => s.id === wanted);
    await loadSample(known || { id: wanted });
  } else if (samples.length) {
    await loadSample(samples[0]);
  }
  main.dataset.state = "ready";
}

start();
