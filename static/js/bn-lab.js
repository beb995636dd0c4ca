/**
 * The batch lab: pick a batch (N test digits or your images, plus optionally an image of your own to
 * inspect), run it through POST /api/batchnorm, and show the inspected image's eval-mode and train-mode
 * predictions, the batch itself, and each BatchNorm layer's batch statistics against the running ones.
 *
 * The section's data-state is "running" / "ready" / "failed"; data-eval-label, data-train-label and
 * data-batch-size describe the result on screen (the browser tests read them).
 */

import { api } from "./api.js";
import { bnApi } from "./bn-api.js";
import { channelBars } from "./bn-charts.js";
import { layerPick } from "./layer-pick.js";
import { BN_PAGE } from "./config.js";
import { el } from "./dom.js";
import { formatTick } from "./format.js";
import { formatList, formatNumber, t, tn } from "./i18n.js";
import { modelWords } from "./model-words.js";
import { PredictionView } from "./prediction.js";

const median = (values) => {
  const sorted = Array.from(values).sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
};

/** Words in a list: "a, b, c" (in Chinese "a、b、c"). */
const listOf = (items) => (items.length ? items.reduce((a, b) => t("{a}, {b}", { a, b })) : "");

function layerSummary(layer, batchSize) {
  const n = layer.batch_mean.length;
  let meanGap = 0;
  const ratios = [];
  for (let c = 0; c < n; c++) {
    meanGap += Math.abs(layer.batch_mean[c] - layer.running_mean[c]) / n;
    ratios.push(layer.batch_var[c] / layer.running_var[c]);
  }
  const perImage = layer.values_per_channel / batchSize;
  const values =
    perImage > 1
      ? tn("{values} values per channel ({n} image × {positions} positions)", "{values} values per channel ({n} images × {positions} positions)", batchSize, {
          values: formatNumber(layer.values_per_channel),
          n: batchSize,
          positions: perImage,
        })
      : tn("{n} value per unit (one per image)", "{n} values per unit (one per image)", batchSize, { n: layer.values_per_channel });
  const text = t("{layer}: {values}. Mean |batch μ − running μ| = {gap}; batch σ² / running σ²: median {median}.", {
    layer: layer.name,
    values,
    gap: formatTick(meanGap),
    median: formatTick(median(ratios)),
  });
  if (!layer.zero_variance_channels) return text;
  const zero = t("{zero} of {n} channels have batch variance exactly 0.", { zero: layer.zero_variance_channels, n });
  return t("{first} {second}", { first: text, second: zero });
}

/** What is special about this batch, in words (the API's `notes`, said in the page's language). */
function batchNotes(result) {
  const notes = [];
  const single = result.one_value_layers;
  if (single.length) {
    const probs = result.train.probabilities;
    const label = probs.indexOf(Math.max(...probs));
    const betas = listOf(single.map((layer) => t("{layer}'s beta", { layer })));
    notes.push(
      t(
        "A batch of one: {names} sees a single value per channel, so its batch mean is that value and its batch variance 0; (x - mean) / sqrt(var + eps) is exactly 0 and the layer outputs {betas} whatever the image. In train mode this network therefore gives every image the same answer: {label}, with {probability} probability. PyTorch refuses the case (\"Expected more than 1 value per channel when training\"); the lab evaluates the formula instead.",
        {
          names: formatList(single),
          betas,
          label,
          probability: `${(probs[label] * 100).toFixed(1)}%`,
        },
      ),
    );
  }
  const spatial = result.layers.filter((layer) => layer.values_per_channel > 1);
  if (result.batch_size === 1 && spatial.length) {
    notes.push(
      t(
        "{names} still see this image's pixels ({counts} values per channel), so they normalise away the image's own brightness and contrast instead of comparing it with other digits.",
        { names: formatList(spatial.map((layer) => layer.name)), counts: listOf(spatial.map((layer) => layer.values_per_channel)) },
      ),
    );
  }
  // a note this page does not know how to say is shown as the API wrote it
  return [...notes, ...result.notes.slice(notes.length)];
}

/** Wire the lab section; resolves after the first (default) batch is shown. Errors go to `onError`. */
export function initLab(section, { layers, defaultSamples, maxBatch, onError, words = modelWords(null), testSet = true }) {
  const $ = (selector) => section.querySelector(selector);
  const form = $("#lab-form");
  const samplesInput = $("#lab-samples");
  const filesInput = $("#lab-files");
  const fileInput = $("#lab-file");
  const charts = $("#lab-charts");
  const evalView = new PredictionView($("#eval-digit"), $("#eval-confidence"), $("#eval-probs"), { words });
  const trainView = new PredictionView($("#train-digit"), $("#train-confidence"), $("#train-probs"), { words });
  const { item, items, name } = words;
  let result = null;
  let spec = null;
  let urls = [];
  let layerName = layers[0];
  let requested = 0;

  const radio = (value) => form.querySelector(`input[name="source"][value="${value}"]`);
  samplesInput.addEventListener("focus", () => (radio("samples").checked = true));
  filesInput.addEventListener("change", () => (radio("files").checked = true));
  for (const button of section.querySelectorAll(".bn-size")) {
    button.addEventListener("click", () => {
      samplesInput.value = button.dataset.samples;
      radio("samples").checked = true;
      run(readForm());
    });
  }

  function readForm() {
    const file = fileInput.files[0] || null;
    if (radio("files").checked) {
      const files = Array.from(filesInput.files);
      if (!files.length) throw new Error(t("Choose one or more images for the batch (or use test {items}).", { items }));
      if (files.length > maxBatch) throw new Error(t("A batch holds at most {max} images; you chose {n}.", { max: maxBatch, n: files.length }));
      return { files, file };
    }
    const samples = Number(samplesInput.value);
    if (!Number.isInteger(samples) || samples < 1 || samples > maxBatch) throw new Error(t("Use 1 to {max} test {items}.", { max: maxBatch, items }));
    return { samples, file };
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    try {
      run(readForm());
    } catch (error) {
      onError(error);
    }
  });

  function objectUrl(blob) {
    const url = URL.createObjectURL(blob);
    urls.push(url);
    return url;
  }

  /** What image `i` of the batch is: {src, caption, truth}. */
  function batchImage(i) {
    const withFile = result.inspected_source === "file";
    if (withFile && i === 0) return { src: objectUrl(spec.file), caption: spec.file.name ? t("your image ({file})", { file: spec.file.name }) : t("your image") };
    const k = withFile ? i - 1 : i;
    if (result.source === "samples") {
      const id = result.sample_ids[k];
      return { src: api.sampleUrl(id), caption: t("test {item} #{id}, {a}", { item, id, a: words.a(result.sample_labels[k]) }), truth: result.sample_labels[k], crisp: true };
    }
    const f = spec.files[k];
    return { src: objectUrl(f), caption: f.name ? t("image {n} ({file})", { n: k + 1, file: f.name }) : t("image {n}", { n: k + 1 }) };
  }

  function drawBatch() {
    const strip = $("#lab-batch");
    strip.textContent = "";
    const clickable = result.inspected_source !== "file";
    const click = words.named ? t("click an image to inspect it") : t("click a digit to inspect it");
    $("#lab-batch-hint").textContent = clickable ? click : t("your image is first and is the one inspected");
    for (let i = 0; i < result.batch_size; i++) {
      const { src, caption, crisp } = batchImage(i);
      const item = el(clickable ? "button" : "span", "bn-batch-item");
      if (clickable) {
        item.type = "button";
        item.addEventListener("click", () => run({ ...spec, inspect: i }));
      }
      item.setAttribute("aria-label", caption);
      item.setAttribute("aria-pressed", String(i === result.inspected));
      item.dataset.index = String(i);
      const img = el("img");
      img.src = src;
      img.alt = "";
      img.width = 28;
      img.height = 28;
      img.loading = "lazy";
      if (crisp) img.className = "crisp";
      item.append(img);
      strip.append(item);
    }
  }

  function drawLayer(name) {
    layerName = name;
    if (!result) return;
    const layer = result.layers.find((l) => l.name === name);
    charts.textContent = "";
    const common = { name, height: BN_PAGE.barHeight, color: BN_PAGE.colors.batch, markColor: BN_PAGE.colors.running };
    charts.append(
      channelBars(layer.batch_mean, { ...common, label: t("mean: batch (bars) · running (ticks)"), marks: layer.running_mean }),
      channelBars(layer.batch_var, { ...common, label: t("variance: batch, biased (bars) · running (ticks)"), marks: layer.running_var }),
    );
    $("#lab-layer-summary").textContent = layerSummary(layer, result.batch_size);
    section.dataset.layer = name;
  }

  function render() {
    for (const url of urls) URL.revokeObjectURL(url);
    urls = [];
    const inspected = batchImage(result.inspected);
    const img = $("#lab-inspected");
    img.src = inspected.src;
    img.classList.toggle("crisp", Boolean(inspected.crisp));
    $("#lab-inspected-caption").textContent = t("Inspected: {caption}", { caption: inspected.caption });
    evalView.update(result.eval, { truth: inspected.truth });
    trainView.update(result.train, { truth: inspected.truth });
    const count = result.source === "samples" ? result.sample_ids.length : 0;
    const what =
      result.source === "samples" ? t("{n} test {noun}", { n: count, noun: count === 1 ? item : items }) : t("{n} of your images", { n: spec.files.length });
    const batch =
      result.inspected_source === "file"
        ? t("A batch of {size} ({what} plus your image) in train mode.", { size: result.batch_size, what })
        : t("A batch of {size} ({what}) in train mode.", { size: result.batch_size, what });
    const answer =
      result.eval.label === result.train.label
        ? t("Both modes say {label} for the inspected image, with different confidence.", { label: name(result.eval.label) })
        : t("Eval mode says {eval}, train mode {train}: the batch changed the answer.", { eval: name(result.eval.label), train: name(result.train.label) });
    $("#lab-summary").textContent = t("{first} {second}", { first: batch, second: answer });
    const notes = $("#lab-notes");
    notes.textContent = "";
    const said = batchNotes(result);
    for (const text of said) {
      const p = el("p", "", text);
      notes.append(p);
    }
    notes.hidden = said.length === 0;
    drawBatch();
    drawLayer(layerName);
    $("#lab-result").hidden = false;
    $(".bn-error").hidden = true; // an earlier error no longer applies
    delete section.dataset.error;
    Object.assign(section.dataset, {
      state: "ready",
      batchSize: String(result.batch_size),
      evalLabel: String(result.eval.label),
      trainLabel: String(result.train.label),
      oneValue: result.one_value_layers.join(","),
    });
  }

  async function run(next) {
    const id = ++requested;
    section.dataset.state = "running";
    try {
      const answer = await bnApi.lab(next);
      if (id !== requested) return;
      result = answer;
      spec = next;
      render();
    } catch (error) {
      if (id !== requested) return;
      section.dataset.state = "failed";
      onError(error);
    }
  }

  layerPick(section.querySelector(".bn-layer-pick"), layers, drawLayer);
  samplesInput.value = String(defaultSamples);
  if (!testSet) {
    // no test images to make a batch of: the reader's own images are the only batch
    const note = $("#lab-missing");
    note.textContent = t("This model is served without its test set, so a batch of test images cannot be made: choose images of your own for the batch and run it.");
    note.hidden = false;
    radio("files").checked = true;
    for (const box of section.querySelectorAll('input[name="source"][value="samples"], #lab-samples, .bn-size')) box.disabled = true;
    section.dataset.state = "idle";
    return Promise.resolve();
  }
  return run({ samples: defaultSamples });
}
