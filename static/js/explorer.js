/**
 * The explorer page (GET /): pick, drop, paste or draw a digit and see every layer of the network.
 *
 * Timing: every input that ends in painted maps leaves a performance.measure entry,
 *   "explorer:file"   from the moment a picked, dropped or pasted file starts being processed,
 *   "explorer:stroke" from the first pad event not yet shown to the maps that show it,
 *   "explorer:sample" from a click on a test digit,
 * each ending after the next frame is presented (marks "explorer:<kind>:start" / ":painted"). The
 * last durations are also on <main> as data-last-file-ms, data-last-stroke-ms, data-last-sample-ms,
 * and data-renders counts the results shown; data-dtype is the precision of the maps on screen (float16
 * while a stroke is being drawn, float32 once it ends: API_DEFAULTS.strokeDtype).
 *
 * The model switch changes the model without reloading: the digit on screen (a test digit, an upload, a
 * drawing) is sent again to the new model. "Side by side with" shows a second model's maps next to the
 * first's, layer by layer (layer-list.js). <main> carries data-model and data-compare.
 */

import { api, ApiError, setModel } from "./api.js";
import { API_DEFAULTS, SIZES, TIMING } from "./config.js";
import { errorBanner } from "./error-banner.js";
import { formatPercent } from "./format.js";
import { DrawPad } from "./draw-pad.js";
import { ExplainPanel } from "./explain-overlay.js";
import { renderGallery } from "./gallery.js";
import { paint } from "./heatmap.js";
import { t } from "./i18n.js";
import { readImageFile, watchImageInputs } from "./input-sources.js";
import { Inspector } from "./inspector.js";
import { createInspectorInsight } from "./inspector-insight.js";
import { clearOverrideFromUrl, overrideFromUrl, rememberDigit } from "./kernel-handoff.js";
import { overrideNotice } from "./kernel-override.js";
import { LayerList } from "./layer-list.js";
import { describeModel, modelPicker, setAddress } from "./model-switch.js";
import { applyWords, fillWords, modelWords, showFor } from "./model-words.js";
import { PredictionView, smoothingNote } from "./prediction.js";
import { installReadout } from "./probe.js";
import { SlidePanel } from "./slide-view.js";
import { topStrip } from "./top-panel.js";

const $ = (id) => document.getElementById(id);

const main = $("main");
const maxUploadBytes = Number(main.dataset.maxUploadBytes) || 0;
const layersList = $("layers");
/* The input on screen, for the model-insight views (receptive fields, explanations). */
let onScreen = null; // {id, input, image, prediction, override}
const insightSource = () => onScreen;
const openDigit = (example) => {
  inspector.close();
  setDeepLink(example.index);
  loadSample({ id: example.index, label: example.label });
};
const inspector = new Inspector($("inspector"), {
  insight: createInspectorInsight({ source: insightSource, onPick: openDigit }),
  slide: new SlidePanel({ previousOf: (view) => list.previousOf(view) }),
});
const explainPanel = new ExplainPanel($("explain"), { source: insightSource });
const verdict = new PredictionView($("predicted"), $("confidence"), $("probs"));
let gallery = null;
let mode = document.querySelector('input[name="scale"]:checked').value;
let requested = 0; // id of the latest request sent
let shown = 0; // id of the request whose result is on screen
let cleared = 0; // requests up to this id were sent before the pad was cleared: not shown
let models = []; // GET /api/models
let primary = main.dataset.model || null; // the model shown (and named by every api.js call)
let secondary = null; // the model shown beside it, or null
const infos = new Map(); // model -> GET /api/model
const cards = new Map(); // model -> GET /api/model/card (or null when it failed)
let renders = 0;
let objectUrl = null;
let conv1Override = null; // {channel, kernel} from the kernel lab, sent with every request while set
let lastRun = null; // the input on screen, to run again without the override
let words = modelWords(null); // the shown model's class names and what its test images are

installReadout($("readout"), $("tooltip"));

/* ---------------------------------------------------------------------------------------------- */
/* Errors                                                                                          */

/* A problem with the page's address (?sample=, ?model=, ?conv1_override=) is tagged "link": showing a
   digit hides the errors of earlier inputs, not that one (it is dismissed, or replaced by a newer error). */
const errors = errorBanner(main);
const { show: showError, hide: hideError } = errors;
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

const list = new LayerList(layersList, {
  inspect: (view, channel, unit) => inspector.open(view, channel, unit),
  filters: (view, on) => {
    if (!view.topStrip) {
      view.topStrip = topStrip(view, { onPick: openDigit });
      view.body.append(view.topStrip.element);
    }
    view.topStrip.show(on);
  },
  weights: (name, model) => api.weights(name, { model }),
  previousOf: (view) => list.previousOf(view),
  onError: showError,
});

function paintAll() {
  list.paint({ mode });
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

/** The second model's verdict in one line, beside the first's. */
function showCompareVerdict(result) {
  const line = $("compare-verdict");
  line.hidden = !result;
  if (!result) return;
  const { label, probabilities } = result.prediction;
  const name = modelWords(infos.get(secondary)).name(label);
  line.textContent = t("Side by side: {model} says {name}, {percent} sure.", { model: secondary, name, percent: formatPercent(probabilities[label]) });
  line.dataset.label = String(label);
}

/** results: one per shown model, the first model's first. */
function render(results, original) {
  const [result, other] = results;
  list.setData(primary, result);
  if (other) list.setData(secondary, other);
  paintAll();
  const input = result.layers.find((l) => l.name === "input");
  if (input) paint($("seen"), input.values, { height: input.shape[1], width: input.shape[2], scale: "sequential", domain: [0, Math.max(1, input.max)] });
  showOriginal(original);
  verdict.update(result.prediction, { truth: original.truth });
  showCompareVerdict(other);
  layersList.removeAttribute("aria-busy");
  renders += 1;
  main.dataset.renders = String(renders);
  main.dataset.source = original.kind;
  inspector.refresh();
}

/**
 * Send one input and show its result unless a newer one is already on screen. Resolves true when
 * it was shown. The previous result stays when this one fails. `dtype`: the maps' precision on the wire.
 */
async function run(input, original, since, dtype = API_DEFAULTS.dtype) {
  const id = ++requested;
  main.dataset.busy = "true";
  try {
    const names = secondary ? [primary, secondary] : [primary];
    const results = await Promise.all(names.map((model) => api.activations(input, { override: conv1Override, model, dtype })));
    if (id < shown || id <= cleared) return false;
    shown = id;
    lastRun = { input, original };
    const [result] = results;
    const received = performance.mark(`explorer:${original.kind}:received`).startTime;
    onScreen = { id, input, image: result.layers.find((l) => l.name === "input"), prediction: result.prediction, override: Boolean(conv1Override) };
    render(results, original);
    main.dataset.dtype = dtype; // the precision of the maps on screen
    explainPanel.update();
    rememberDigit(input, result.layers.find((l) => l.name === "input"), original.caption);
    hideError("input");
    const rendered = performance.mark(`explorer:${original.kind}:rendered`).startTime;
    performance.measure(`explorer:${original.kind}:request`, { start: since, end: received });
    performance.measure(`explorer:${original.kind}:render`, { start: received, end: rendered });
    measure(original.kind, since);
    return true;
  } catch (error) {
    if (id >= shown && id > cleared) showError(error);
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
  const caption = file.name ? t("Your image: {file}", { file: file.name }) : t("Your image");
  const shownOk = await run({ file }, { kind: "file", file, caption }, since);
  if (shownOk) {
    gallery?.select(null);
    setDeepLink(null);
  }
}

function loadSample(sample, since = performance.mark("explorer:sample:start").startTime) {
  gallery?.select(sample.id);
  const params = { item: words.item, id: sample.id };
  const caption = sample.label !== undefined ? t("Test {item} #{id}, {a_label}", { ...params, a_label: words.a(sample.label) }) : t("Test {item} #{id}", params);
  return run({ sample: sample.id }, { kind: "sample", src: api.sampleUrl(sample.id), crisp: true, truth: sample.label, caption }, since);
}

function setDeepLink(id) {
  const url = new URL(window.location.href);
  if (id === null) url.searchParams.delete("sample");
  else url.searchParams.set("sample", String(id));
  window.history.replaceState(null, "", url);
}

/* The pad: at most one request in flight and at least TIMING.strokeIntervalMs between two, always
   ending with the latest drawing. `dirtySince` is the time of the first change not yet sent. While a
   stroke is in progress the maps come as API_DEFAULTS.strokeDtype (half the bytes); its "end" is a change
   too, so the last answer after a stroke is always a full-precision one. */
let dirtySince = null;
let inFlight = false;
let lastSent = -Infinity;
let timer = 0;

function padChanged({ reason, time }) {
  if (reason === "clear" || pad.isEmpty) {
    forgetDrawing();
    return;
  }
  if (dirtySince === null) dirtySince = time;
  pump();
}

/** The pad was cleared (or undone to nothing): a drawing's result on screen goes, and none still coming is shown. */
function forgetDrawing() {
  dirtySince = null;
  clearTimeout(timer);
  timer = 0;
  if (main.dataset.source !== "stroke" && !inFlight) return;
  cleared = requested;
  if (main.dataset.source !== "stroke") return;
  inspector.close();
  onScreen = null;
  lastRun = null;
  list.clear();
  verdict.clear(t("Draw {a_item}, or pick one.", { a_item: fillWords("{a-item}", words) }));
  showCompareVerdict(null);
  $("seen").getContext("2d").clearRect(0, 0, $("seen").width, $("seen").height);
  $("original-pad").getContext("2d").clearRect(0, 0, $("original-pad").width, $("original-pad").height);
  $("original-caption").textContent = t("Nothing drawn");
  explainPanel.clear();
  main.dataset.source = "none";
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
  const dtype = pad.drawing ? API_DEFAULTS.strokeDtype : API_DEFAULTS.dtype;
  run({ pixels }, { kind: "stroke", pad: pad.canvas, caption: t("Your drawing") }, since, dtype).then((ok) => {
    inFlight = false;
    if (pad.isEmpty) return; // cleared while it was on its way
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

/** The layer cards of the shown model(s), from their GET /api/model (fetched once each). */
async function buildLayers() {
  const names = secondary ? [primary, secondary] : [primary];
  for (const name of names) if (!infos.has(name)) infos.set(name, await api.model({ model: name }));
  list.build(names.map((name) => ({ name, info: infos.get(name) })));
  useWords(infos.get(primary));
  main.dataset.model = primary;
  if (secondary) main.dataset.compare = secondary;
  else delete main.dataset.compare;
}

/** The shown model's words everywhere: the page's text, the verdict's classes, the explanation's choices, the input's size. */
function useWords(info) {
  words = modelWords(info);
  applyWords(main, words);
  showFor(main, info.input?.preprocess);
  verdict.setWords(words);
  explainPanel.setWords(words);
  const [, h, w] = info.input_shape;
  $("seen-caption").textContent = t("{h} × {w}, the pixels the network is given", { h, w });
  $("seen").setAttribute("aria-label", t("The {h} by {w} input the network saw", { h, w }));
}

/** The sentence under the probabilities: why the confidence stops short of 100% (label smoothing). */
async function showConfidenceNote() {
  if (!cards.has(primary)) cards.set(primary, await api.card({ model: primary }).catch(() => null));
  const note = $("confidence-note");
  note.textContent = smoothingNote(cards.get(primary), infos.get(primary)?.classes?.length || 10);
  note.hidden = !note.textContent;
}

/** The test images, with the shown model's verdict on each; a model served without its test set says so. */
async function showGallery() {
  let samples = [];
  const missing = $("gallery-missing");
  missing.hidden = true;
  const summary = models.find((m) => m.name === primary);
  try {
    if (summary && !summary.samples) throw new ApiError(t("{model} is served without its test set", { model: primary }), 404); // said, not asked
    samples = await api.samples();
  } catch (error) {
    if (error.status === 404) {
      missing.textContent = t("No test {items} to pick: {why}. Draw one or use an image of your own.", { items: words.items, why: error.message });
      missing.hidden = false;
    } else {
      showError(t("The test {items} could not be loaded: {why}", { items: words.items, why: error.message }));
    }
  }
  gallery = renderGallery($("gallery"), samples, {
    words,
    onPick: (sample) => {
      setDeepLink(sample.id);
      loadSample(sample);
    },
  });
  const onShow = lastRun?.input.sample;
  if (onShow !== undefined) gallery.select(onShow);
  return samples;
}

/** Show `name` (and `other` beside it, or nothing): the cards are rebuilt and the digit on screen is sent again. */
async function showModels(name, other) {
  inspector.close();
  const changed = name !== primary;
  primary = name;
  secondary = other && other !== name ? other : null;
  setModel(primary);
  const fallback = models.find((m) => m.default);
  setAddress({ model: fallback && primary === fallback.name ? null : primary, compare: secondary });
  main.dataset.state = "loading";
  try {
    await buildLayers();
  } catch (error) {
    showError(t("The network could not be loaded: {why}", { why: error.message }));
    main.dataset.state = "failed";
    return;
  }
  if (changed) await Promise.all([showGallery(), showConfidenceNote()]);
  if (lastRun) await run(lastRun.input, lastRun.original, performance.mark(`explorer:${lastRun.original.kind}:start`).startTime);
  main.dataset.state = "ready";
}

/** The two pickers: the model shown, and the one beside it. */
function installPickers(wanted) {
  if (models.length < 2) return;
  const picks = {};
  picks.model = modelPicker($("model-switch"), models, {
    current: primary,
    onChange: (name) => {
      errors.hide("link"); // the reader chose: a problem with the address's ?model= is answered
      if (name === secondary) picks.compare.set(null);
      showModels(name, name === secondary ? null : secondary);
    },
  });
  picks.compare = modelPicker($("compare-switch"), models, {
    current: wanted,
    label: t("Side by side with"),
    id: "compare-select",
    none: t("no other model"),
    onChange: (name) => showModels(primary, name),
  });
}

/** The test digit the address asks for (the server checked it: a bad one is explained in the banner). */
function deepLinkedSample() {
  return main.dataset.sample === undefined ? null : Number(main.dataset.sample);
}

/** The model the address asks to show beside the first (?compare=), or null; a name not served is explained. */
function deepLinkedCompare() {
  const raw = new URLSearchParams(window.location.search).get("compare");
  if (!raw) return null;
  const known = models.find((m) => m.name === raw);
  if (known && raw !== primary) return raw;
  // Translators: separates the served models in a list: "lenet_bn (...), lenet (...)"
  const params = { name: raw, models: models.map(describeModel).join(t(", ")) };
  showLinkProblem(
    known
      ? t("?compare={name} is the model already shown; nothing is shown beside it. The models: {models}.", params)
      : t("?compare={name} is not a served model; nothing is shown beside it. The models: {models}.", params),
  );
  return null;
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
  try {
    models = await api.models();
    const accuracy = (name) => models.find((m) => m.name === name)?.test_accuracy;
    if (accuracy("lenet_bn") != null && accuracy("lenet_bn_norelu") != null) {
      list.reluClaim = { with: accuracy("lenet_bn"), without: accuracy("lenet_bn_norelu") };
    }
  } catch {
    models = []; // the page still works with the address's model
  }
  primary = primary || models.find((m) => m.default)?.name || null;
  setModel(primary);
  secondary = deepLinkedCompare();
  installPickers(secondary);
  try {
    await buildLayers();
  } catch (error) {
    showError(t("The network could not be loaded: {why}", { why: error.message }));
    main.dataset.state = "failed";
    return;
  }
  const [samples] = await Promise.all([showGallery(), showConfidenceNote()]);
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
