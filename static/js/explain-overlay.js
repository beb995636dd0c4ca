/**
 * "Why this prediction?": an explanation map for the input on screen, laid over that input — gradient
 * saliency, Grad-CAM, HiResCAM or occlusion sensitivity (POST /api/explain) — for the predicted class or any
 * other, with an opacity control and one plain sentence on what the chosen method computes.
 *
 *   const panel = new ExplainPanel(document.getElementById("explain"), { source });
 *   panel.setWords(words);     // the model's classes (model-words.js): the "Explain" choices
 *   panel.update();            // a new result is on screen (asks the server after a short pause)
 *
 * `source()` returns {id, input, image, prediction}: see receptive-overlay.js. The section's
 * data-state is idle, loading, ready or error; data-method / data-target say what is shown.
 */

import { api } from "./api.js";
import { INSIGHT } from "./config.js";
import { formatPercent } from "./format.js";
import { colorbar } from "./heatmap.js";
import { LANG, t } from "./i18n.js";
import { maxOf, paintHeat, paintInput } from "./insight-draw.js";
import { modelWords } from "./model-words.js";
import { attachProbe, gridCell } from "./probe.js";

/** What each method computes, in one plain sentence. */
export const METHOD_TEXT = Object.freeze({
  saliency: t("Saliency: how much the class's score would change if each pixel alone were made a little brighter or darker (the size of the gradient), so bright spots are the pixels the score is most sensitive to."),
  gradcam: t("Grad-CAM: the feature maps of the last spatial layer before the classifier, each weighted by how much it raises the class's score and summed, so bright regions are where the features that argue for this class were found."),
  hirescam: t("HiResCAM: the same maps as Grad-CAM, but each value multiplied by its own gradient before they are summed, not by its map's mean gradient, so evidence that Grad-CAM's averages cancel out (in front of a fully connected layer) still shows."),
  occlusion: t("Occlusion: a small blank square is slid over the image and the drop in the class's probability is recorded, so red marks the pixels whose hiding hurts the prediction and blue those whose hiding helps it."),
});

/** The method as a word in a sentence ("saliency map for ..."); in English the API's own name. */
const METHOD_WORD = Object.freeze({ saliency: t("saliency"), gradcam: t("gradcam"), hirescam: t("hirescam"), occlusion: t("occlusion") });

/** The colour bar's caption for a method's map. */
const BAR_TEXT = Object.freeze({ occlusion: t("drop in probability"), gradcam: "Grad-CAM", hirescam: "HiResCAM" });

/**
 * What the map's values are. The API describes them in English (result.description, its own words); a page
 * in another language says the same from the answer's fields (the method and, for the CAMs, the layer).
 */
function computed(result) {
  if (LANG === "en") return t("Computed: {description}.", { description: result.description });
  const layer = result.layer || "";
  const local = {
    saliency: t("|d logit[target] / d pixel|: how strongly a small change of each input pixel moves the target's logit (vanilla gradient saliency; the largest over the colour channels)"),
    gradcam: t("Grad-CAM on {layer} (the last maps before the classifier): ReLU of the sum of its maps, each weighted by the mean gradient of the target's logit over that map; each {layer} unit is placed at the centre of its receptive field and interpolated linearly to the input's size", { layer }),
    hirescam: t("HiResCAM on {layer} (the last maps before the classifier): ReLU of the sum of its maps, each value multiplied by the gradient of the target's logit at that value (not averaged over the map first, as Grad-CAM does); each {layer} unit is placed at the centre of its receptive field and interpolated linearly to the input's size", { layer }),
    occlusion: t("occlusion sensitivity: a black patch (0) slides over the image; each pixel holds the mean drop in the target's probability over the patch positions that cover it (negative: hiding it helps)"),
  }[result.method];
  return t("Computed: {description}.", { description: local || result.description });
}

/** True when the model's test images are digits (the words' `item` may be in the page's language). */
const isDigits = (words) => words.digits || !words.named;

function absMax(values) {
  let m = 0;
  for (let i = 0; i < values.length; i++) m = Math.max(m, Math.abs(values[i]));
  return m;
}

export class ExplainPanel {
  constructor(root, { source }) {
    this.root = root;
    this.source = source;
    this.q = (selector) => root.querySelector(selector);
    this.inputCanvas = this.q(".explain-input");
    this.overlay = this.q(".explain-overlay");
    this.target = this.q(".explain-target");
    this.opacity = this.q(".explain-opacity");
    this.says = this.q(".explain-says");
    this.detail = this.q(".explain-detail");
    this.status = this.q(".explain-status");
    this.bar = colorbar();
    this.q(".explain-bar").append(this.bar.element);
    this.stage = this.q(".explain-stage");
    this.stage.style.setProperty("--explain-px", `${INSIGHT.explainPx}px`);
    this.timer = 0;
    this.controller = null;
    this.result = null;
    this.shownFor = null;
    this.setWords(modelWords(null));

    this.opacity.value = String(INSIGHT.opacity);
    this.applyOpacity();
    this.opacity.addEventListener("input", () => this.applyOpacity());
    for (const radio of root.querySelectorAll('input[name="explain-method"]')) {
      radio.addEventListener("change", () => {
        if (radio.checked) this.fetch();
      });
    }
    this.target.addEventListener("change", () => this.fetch());
    this.describe();
    attachProbe(this.overlay, ({ fx, fy }) => this.reading(fx, fy));
  }

  /** The model's classes: one "Explain" choice each, after "the prediction" (the choice is kept when it still exists). */
  setWords(words) {
    this.words = words;
    const kept = this.target.value;
    this.target.textContent = "";
    this.target.append(new Option(t("the prediction"), ""));
    words.classes.forEach((_, c) => this.target.append(new Option(words.name(c), String(c))));
    this.target.value = kept !== "" && Number(kept) < words.classes.length ? kept : "";
  }

  get method() {
    return this.root.querySelector('input[name="explain-method"]:checked').value;
  }

  applyOpacity() {
    const value = Number(this.opacity.value);
    this.overlay.style.opacity = String(value / 100);
    this.opacity.setAttribute("aria-valuetext", `${value}%`);
  }

  describe() {
    this.says.textContent = METHOD_TEXT[this.method];
  }

  /** A new result is on screen: draw its input now, the explanation after a short pause. */
  update() {
    const current = this.source();
    if (!current || !current.image) return;
    paintInput(this.inputCanvas, current.image.values, { height: current.image.shape[1], width: current.image.shape[2] });
    this.labelTargets(current.prediction);
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.fetch(), INSIGHT.explainDelayMs);
  }

  /** Nothing on screen (the pad was cleared): no picture, no explanation, and none still coming. */
  clear() {
    clearTimeout(this.timer);
    this.timer = 0;
    if (this.controller) this.controller.abort();
    this.controller = null;
    this.result = null;
    for (const canvas of [this.inputCanvas, this.overlay]) canvas.getContext("2d").clearRect(0, 0, canvas.width, canvas.height);
    this.status.textContent = isDigits(this.words) ? t("Give the network a digit first.") : t("Give the network an image first.");
    this.detail.textContent = "";
    this.root.dataset.state = "idle";
    this.root.removeAttribute("aria-busy");
  }

  /** The class picker's options carry the current probabilities; "" = the predicted class. */
  labelTargets(prediction) {
    if (!prediction) return;
    const { name } = this.words;
    for (const option of this.target.options) {
      if (option.value === "") option.textContent = t("the prediction ({name})", { name: name(prediction.label) });
      else option.textContent = `${name(Number(option.value))} (${formatPercent(prediction.probabilities[Number(option.value)])})`;
    }
  }

  fetch() {
    clearTimeout(this.timer);
    this.timer = 0;
    this.describe();
    const current = this.source();
    if (!current || !current.input) return;
    const method = this.method;
    const target = this.target.value === "" ? undefined : Number(this.target.value);
    if (this.controller) this.controller.abort();
    const controller = new AbortController();
    this.controller = controller;
    this.root.dataset.state = "loading";
    this.root.setAttribute("aria-busy", "true");
    api.explain(current.input, { method, target }, { signal: controller.signal }).then(
      (result) => {
        if (this.controller !== controller) return;
        this.controller = null;
        this.show(result, current);
      },
      (error) => {
        if (error.name === "AbortError" || this.controller !== controller) return;
        this.controller = null;
        this.root.dataset.state = "error";
        this.root.removeAttribute("aria-busy");
        this.status.textContent = t("No explanation: {message}", { message: error.message });
      },
    );
  }

  show(result, current) {
    const [height, width] = result.map.shape;
    const values = result.map.values;
    const signed = result.map.min < 0;
    const scale = signed ? "diverging" : "sequential";
    const top = signed ? absMax(values) : maxOf(values);
    const domain = signed ? [-(top || 1), top || 1] : [0, top || 1];
    paintHeat(this.overlay, values, { height, width, scale, domain, opaque: false });
    this.bar.update(scale, domain, BAR_TEXT[result.method] || t("|∂ score / ∂ pixel|"));
    this.result = result;
    this.detail.textContent = computed(result);
    const target = this.words.name(result.target);
    const named = this.words.named;
    const said = { name: target, probability: formatPercent(result.probability) };
    const predicted = this.target.value === "";
    let status = named
      ? predicted
        ? t("Explaining the predicted class, {name}: probability {probability}.", said)
        : t("Explaining the class {name}: probability {probability}.", said)
      : predicted
        ? t("Explaining the predicted digit, {name}: probability {probability}.", said)
        : t("Explaining the digit {name}: probability {probability}.", said);
    if (top === 0) status += this.emptyText(result);
    if (current.override) status += t(" (With the trained filters of the first conv layer: the kernel lab's filter is not used here.)");
    this.status.textContent = status;
    Object.assign(this.root.dataset, { state: "ready", method: result.method, target: String(result.target), input: String(current.id), empty: String(top === 0) });
    this.root.removeAttribute("aria-busy");
    const overlay = { method: METHOD_WORD[result.method] || result.method, name: target };
    this.overlay.setAttribute("aria-label", named ? t("{method} map for the class {name}, laid over the input", overlay) : t("{method} map for the digit {name}, laid over the input", overlay));
  }

  /** Why a map is 0 everywhere (a CAM keeps only the positive part of its weighted sum): one more sentence. */
  emptyText(result) {
    const layer = result.layer;
    if (result.method === "gradcam") {
      return layer
        ? t(" The map is 0 everywhere: the weighted sum of the {layer} maps is negative (or zero) at every position, and the map keeps only its positive part (HiResCAM, which weighs each value by its own gradient, may still find some).", { layer })
        : t(" The map is 0 everywhere: the weighted sum of the maps is negative (or zero) at every position, and the map keeps only its positive part (HiResCAM, which weighs each value by its own gradient, may still find some).");
    }
    if (result.method === "hirescam") {
      return layer
        ? t(" The map is 0 everywhere: the weighted sum of the {layer} maps is negative (or zero) at every position, and the map keeps only its positive part.", { layer })
        : t(" The map is 0 everywhere: the weighted sum of the maps is negative (or zero) at every position, and the map keeps only its positive part.");
    }
    return t(" The map is 0 everywhere.");
  }

  reading(fx, fy) {
    const r = this.result;
    if (!r) return null;
    const [h, w] = r.map.shape;
    const { y, x } = gridCell(fx, fy, h, w);
    return {
      label: t("{method} for {name} · (y {y}, x {x})", { method: METHOD_WORD[r.method] || r.method, name: this.words.name(r.target), y, x }),

      value: r.map.values[y * w + x],
      data: { layer: "input", tensor: r.method, y, x },
    };
  }
}
