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
import { modelWords } from "./model-words.js";
import { PredictionView } from "./prediction.js";

const median = (values) => {
  const sorted = Array.from(values).sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
};

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
      ? `${layer.values_per_channel.toLocaleString("en")} values per channel (${batchSize} image${batchSize > 1 ? "s" : ""} × ${perImage} positions)`
      : `${layer.values_per_channel} value${batchSize > 1 ? "s" : ""} per unit (one per image)`;
  let text = `${layer.name}: ${values}. Mean |batch μ − running μ| = ${formatTick(meanGap)}; batch σ² / running σ²: median ${formatTick(median(ratios))}.`;
  if (layer.zero_variance_channels) text += ` ${layer.zero_variance_channels} of ${n} channels have batch variance exactly 0.`;
  return text;
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
      if (!files.length) throw new Error(`Choose one or more images for the batch (or use test ${items}).`);
      if (files.length > maxBatch) throw new Error(`A batch holds at most ${maxBatch} images; you chose ${files.length}.`);
      return { files, file };
    }
    const samples = Number(samplesInput.value);
    if (!Number.isInteger(samples) || samples < 1 || samples > maxBatch) throw new Error(`Use 1 to ${maxBatch} test ${items}.`);
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
    if (withFile && i === 0) return { src: objectUrl(spec.file), caption: `your image${spec.file.name ? ` (${spec.file.name})` : ""}` };
    const k = withFile ? i - 1 : i;
    if (result.source === "samples") {
      const id = result.sample_ids[k];
      return { src: api.sampleUrl(id), caption: `test ${item} #${id}, ${words.a(result.sample_labels[k])}`, truth: result.sample_labels[k], crisp: true };
    }
    const f = spec.files[k];
    return { src: objectUrl(f), caption: `image ${k + 1}${f.name ? ` (${f.name})` : ""}` };
  }

  function drawBatch() {
    const strip = $("#lab-batch");
    strip.textContent = "";
    const clickable = result.inspected_source !== "file";
    $("#lab-batch-hint").textContent = clickable ? `click ${item === "digit" ? "a digit" : "an image"} to inspect it` : "your image is first and is the one inspected";
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
      channelBars(layer.batch_mean, { ...common, label: "mean: batch (bars) · running (ticks)", marks: layer.running_mean }),
      channelBars(layer.batch_var, { ...common, label: "variance: batch, biased (bars) · running (ticks)", marks: layer.running_var }),
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
    $("#lab-inspected-caption").textContent = `Inspected: ${inspected.caption}`;
    evalView.update(result.eval, { truth: inspected.truth });
    trainView.update(result.train, { truth: inspected.truth });
    const what = result.source === "samples" ? `${result.sample_ids.length} test ${result.sample_ids.length === 1 ? item : items}` : `${spec.files.length} of your images`;
    const extra = result.inspected_source === "file" ? " plus your image" : "";
    const same = result.eval.label === result.train.label;
    $("#lab-summary").textContent =
      `A batch of ${result.batch_size} (${what}${extra}) in train mode. ` +
      (same
        ? `Both modes say ${name(result.eval.label)} for the inspected image, with different confidence.`
        : `Eval mode says ${name(result.eval.label)}, train mode ${name(result.train.label)}: the batch changed the answer.`);
    const notes = $("#lab-notes");
    notes.textContent = "";
    for (const text of result.notes) {
      const p = el("p", "", text);
      notes.append(p);
    }
    notes.hidden = result.notes.length === 0;
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
    note.textContent = "This model is served without its test set, so a batch of test images cannot be made: choose images of your own for the batch and run it.";
    note.hidden = false;
    radio("files").checked = true;
    for (const box of section.querySelectorAll('input[name="source"][value="samples"], #lab-samples, .bn-size')) box.disabled = true;
    section.dataset.state = "idle";
    return Promise.resolve();
  }
  return run({ samples: defaultSamples });
}
