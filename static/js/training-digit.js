/**
 * One digit through the network as it was at the current checkpoint: its maps in a chosen layer and its
 * prediction. The digit is a test digit from the gallery, a drawing (sent when the pen lifts) or an image
 * (picked, dropped or pasted), and goes to POST /api/activations?checkpoint=STEP. Only the full checkpoints
 * keep the whole network, so between them the nearest full checkpoint answers, and the page says so. The
 * answers at every full checkpoint are fetched when the digit changes, so scrubbing shows them at once.
 *
 *   const digit = createDigit(section, checkpoints, { layers, words, samples, maxUploadBytes, onError, initial });
 *   digit.show(i);   await digit.ready;
 *
 * The maps offered are those of the model's conv and pooling layers (from its layer table, `layers`), the
 * classes and the test images are named by `words` (model-words.js); `noSamples` says why there is no gallery.
 */

import { api } from "./api.js";
import { SIZES, TRAINING_PAGE } from "./config.js";
import { el } from "./dom.js";
import { DrawPad } from "./draw-pad.js";
import { formatNumber, t } from "./i18n.js";
import { renderGallery } from "./gallery.js";
import { cellPx, colorbar, domainFor, paint, scaleFor } from "./heatmap.js";
import { readImageFile, watchImageInputs } from "./input-sources.js";
import { layerPick } from "./layer-pick.js";
import { modelWords } from "./model-words.js";
import { PredictionView } from "./prediction.js";

/** The layers whose maps are offered: every conv and pooling layer with maps larger than one pixel. */
export function mapLayersOf(layers) {
  const kinds = new Set(["conv", "maxpool", "avgpool"]);
  return layers.filter((l) => kinds.has(l.kind) && l.output_shape.length === 3 && l.output_shape[1] * l.output_shape[2] > 1).map((l) => l.name);
}

/** The full checkpoint nearest checkpoint i (by steps; the earlier one on a tie). */
export function nearestFull(checkpoints, i) {
  const step = checkpoints[i].step;
  let best = -1;
  checkpoints.forEach((c, k) => {
    if (c.full && (best < 0 || Math.abs(c.step - step) < Math.abs(checkpoints[best].step - step))) best = k;
  });
  return best;
}

const listSteps = (steps) => {
  const text = steps.map((s) => formatNumber(s));
  if (text.length < 2) return text.join("");
  const list = text.slice(0, -1).reduce((a, b) => t("{a}, {b}", { a, b }));
  return t("{list} and {last}", { list, last: text[text.length - 1] });
};

/** Why the maps are (or are not) those of this very step. */
function noteFor(checkpoints, i, k) {
  const step = formatNumber(checkpoints[i].step);
  if (i === k) return t("Step {step} keeps the whole network: these are its maps and its answer.", { step });
  const fulls = listSteps(checkpoints.filter((c) => c.full).map((c) => c.step));
  return t(
    "Step {step} keeps only the conv and BatchNorm layers (the filters above), so the maps and the answer shown are those of step {shown}, the nearest checkpoint that keeps the whole network (steps {fulls}).",
    { step, shown: formatNumber(checkpoints[k].step), fulls },
  );
}

export function createDigit(section, checkpoints, { layers, words = modelWords(null), samples, noSamples = null, maxUploadBytes, onError, initial = 0 }) {
  const $ = (selector) => section.querySelector(selector);
  const verdict = new PredictionView($("#predicted"), $("#confidence"), $("#probs"), { words });
  const bar = colorbar({ caption: t("maps") });
  $("#maps-bar").append(bar.element);
  const mapLayers = mapLayersOf(layers);
  let layer = mapLayers[0];
  let index = initial;
  let digit = null; // {id, input, truth, caption}
  let nextId = 0;
  const results = new Map(); // full step -> activations, for the digit on screen
  const pending = new Map(); // full step -> promise
  let settle = null;
  const ready = new Promise((resolve) => {
    settle = resolve;
  });

  /* The layer choice (radio buttons, or a list when the names are long). */
  if (mapLayers.length) {
    layerPick($("#map-layer"), mapLayers, (name) => {
      if (name === layer) return; // the first call: nothing to redraw yet
      layer = name;
      render();
    });
  }

  const fetchAt = (step) => {
    const key = `${digit.id}:${step}`;
    if (!pending.has(key)) {
      const id = digit.id;
      const promise = api.activations(digit.input, { checkpoint: step, layers: ["input", ...mapLayers] }).then((result) => {
        if (digit.id === id) results.set(step, result);
        return result;
      });
      pending.set(key, promise);
    }
    return pending.get(key);
  };

  function paintMaps(result, step) {
    if (!layer) {
      $("#maps").textContent = t("This network has no conv or pooling layer with maps to show; its answer is above.");
      return;
    }
    const data = result.layers.find((l) => l.name === layer);
    const host = $("#maps");
    const [count, h, w] = data.shape;
    const scale = scaleFor(data.kind, data.min);
    const domain = domainFor(scale, data.min, data.max);
    const px = cellPx(h, TRAINING_PAGE.mapPx);
    if (host.childElementCount !== count || host.dataset.layer !== layer) {
      host.textContent = "";
      for (let c = 0; c < count; c++) {
        const canvas = el("canvas", "crisp tr-map");
        canvas.style.width = `${w * px}px`;
        canvas.style.height = `${h * px}px`;
        canvas.setAttribute("role", "img");
        host.append(canvas);
      }
    }
    [...host.children].forEach((canvas, c) => {
      paint(canvas, data.values, { offset: c * h * w, height: h, width: w, scale, domain });
      canvas.setAttribute("aria-label", t("{layer} map {c} at step {step}", { layer, c, step }));
    });
    bar.update(scale, domain, t("{layer}, all {count} maps", { layer, count }));
    Object.assign(host.dataset, { layer, step: String(step), min: String(data.min), max: String(data.max) });
  }

  /** Show what is known for checkpoint `index` (the nearest full one's answer), fetching it if needed. */
  async function render() {
    if (!digit) return;
    const k = nearestFull(checkpoints, index);
    const step = checkpoints[k].step;
    $("#digit-note").textContent = noteFor(checkpoints, index, k);
    section.dataset.step = String(checkpoints[index].step);
    let result = results.get(step);
    if (!result) {
      section.dataset.busy = "true";
      const id = digit.id;
      try {
        result = await fetchAt(step);
      } catch (error) {
        if (digit.id === id) onError(error);
        settle();
        return;
      } finally {
        delete section.dataset.busy;
      }
      if (digit.id !== id || nearestFull(checkpoints, index) !== k) return; // a newer digit or step is on screen
    }
    const input = result.layers.find((l) => l.name === "input");
    paint($("#seen"), input.values, { height: input.shape[1], width: input.shape[2], scale: "sequential", domain: [0, Math.max(1, input.max)] });
    $("#seen-caption").textContent = digit.caption;
    paintMaps(result, step);
    verdict.update(result.prediction, { truth: digit.truth });
    $("#answer-step").textContent = t("at step {step}", { step: formatNumber(step) });
    Object.assign(section.dataset, { shownStep: String(step), label: String(result.prediction.label), digit: String(digit.id), state: "ready" });
    settle();
  }

  /** A new digit: forget the old answers, show this one at the current step, fetch the other full steps. */
  async function use(input, { truth = null, caption }) {
    digit = { id: ++nextId, input, truth, caption };
    results.clear();
    const id = digit.id;
    await render();
    for (const c of checkpoints) {
      if (!c.full || digit.id !== id) continue;
      try {
        await fetchAt(c.step);
      } catch {
        return; // render() reports errors for the step on screen
      }
    }
  }

  /* The inputs. */
  let gallery = null;
  const pickSample = (sample) => {
    gallery?.select(sample.id);
    use({ sample: sample.id }, { truth: sample.label, caption: t("Test {item} #{id}, {a}", { item: words.item, id: sample.id, a: words.a(sample.label) }) });
  };
  gallery = renderGallery($("#gallery"), samples, { onPick: pickSample, words });
  if (noSamples) {
    $("#gallery-missing").textContent = noSamples;
    $("#gallery-missing").hidden = false;
  }

  const pad = new DrawPad($("#pad"), {
    brush: SIZES.brush.initial,
    onChange: ({ reason }) => {
      if (reason === "draw" || reason === "clear" || pad.isEmpty) return;
      gallery.select(null);
      use({ pixels: pad.toPixels(SIZES.padGrid) }, { caption: t("Your drawing") });
    },
  });
  $("#undo").addEventListener("click", () => pad.undo());
  $("#clear").addEventListener("click", () => pad.clear());

  watchImageInputs({
    fileInput: $("#file"),
    overlay: null,
    onError,
    onFile: async (picked) => {
      const { file, problem } = await readImageFile(picked, maxUploadBytes);
      if (problem) {
        onError(problem);
        return;
      }
      gallery.select(null);
      use({ file }, { caption: file.name ? t("Your image: {file}", { file: file.name }) : t("Your image") });
    },
  });

  if (samples.length) pickSample(samples[0]);
  else settle();

  return {
    ready,
    show(i) {
      index = i;
      render();
    },
  };
}
