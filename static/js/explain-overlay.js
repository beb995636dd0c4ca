/**
 * "Why this prediction?": an explanation map for the input on screen, laid over that input — gradient
 * saliency, Grad-CAM or occlusion sensitivity (POST /api/explain) — for the predicted digit or any
 * other, with an opacity control and one plain sentence on what the chosen method computes.
 *
 *   const panel = new ExplainPanel(document.getElementById("explain"), { source });
 *   panel.update();            // a new result is on screen (asks the server after a short pause)
 *
 * `source()` returns {id, input, image, prediction}: see receptive-overlay.js. The section's
 * data-state is idle, loading, ready or error; data-method / data-target say what is shown.
 */

import { api } from "./api.js";
import { INSIGHT } from "./config.js";
import { formatPercent } from "./format.js";
import { colorbar } from "./heatmap.js";
import { maxOf, paintHeat, paintInput } from "./insight-draw.js";
import { attachProbe, gridCell } from "./probe.js";

/** What each method computes, in one plain sentence. */
export const METHOD_TEXT = Object.freeze({
  saliency: "Saliency: how much the digit's score would change if each pixel alone were made a little brighter or darker (the size of the gradient), so bright spots are the pixels the score is most sensitive to.",
  gradcam: "Grad-CAM: the last convolutional block's 50 feature maps, each weighted by how much it raises the digit's score and summed, so bright regions are where the features that argue for this digit were found.",
  occlusion: "Occlusion: a small blank square is slid over the image and the drop in the digit's probability is recorded, so red marks the pixels whose hiding hurts the prediction and blue those whose hiding helps it.",
});

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
    this.status.textContent = "Give the network a digit first.";
    this.detail.textContent = "";
    this.root.dataset.state = "idle";
    this.root.removeAttribute("aria-busy");
  }

  /** The class picker's options carry the current probabilities; "" = the predicted digit. */
  labelTargets(prediction) {
    if (!prediction) return;
    for (const option of this.target.options) {
      if (option.value === "") option.textContent = `the prediction (${prediction.label})`;
      else option.textContent = `${option.value} (${formatPercent(prediction.probabilities[Number(option.value)])})`;
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
        this.status.textContent = `No explanation: ${error.message}`;
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
    this.bar.update(scale, domain, result.method === "occlusion" ? "drop in probability" : result.method === "gradcam" ? "Grad-CAM" : "|∂ score / ∂ pixel|");
    this.result = result;
    this.detail.textContent = `Computed: ${result.description}.`;
    const which = this.target.value === "" ? `the predicted digit, ${result.target}` : `the digit ${result.target}`;
    this.status.textContent = `Explaining ${which}: probability ${formatPercent(result.probability)}.`;
    if (top === 0) this.status.textContent += ` The map is 0 everywhere${result.method === "gradcam" ? ": the weighted sum of the relu2 maps is negative (or zero) at every position, and Grad-CAM keeps only its positive part" : ""}.`;
    if (current.override) this.status.textContent += " (With the trained conv1 filters: the kernel lab's filter is not used here.)";
    Object.assign(this.root.dataset, { state: "ready", method: result.method, target: String(result.target), input: String(current.id), empty: String(top === 0) });
    this.root.removeAttribute("aria-busy");
    this.overlay.setAttribute("aria-label", `${result.method} map for the digit ${result.target}, laid over the input`);
  }

  reading(fx, fy) {
    const r = this.result;
    if (!r) return null;
    const [h, w] = r.map.shape;
    const { y, x } = gridCell(fx, fy, h, w);
    return {
      label: `${r.method} for ${r.target} · (y ${y}, x ${x})`,
      value: r.map.values[y * w + x],
      data: { layer: "input", tensor: r.method, y, x },
    };
  }
}
