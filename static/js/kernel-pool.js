/**
 * The kernel lab's pooling section: max or average pooling through POST /api/pool, of the image, of kernel
 * A's output (optionally after a ReLU) or of a relu1 map of the network; its own output-size formula, what
 * is pooled and the pooled map side by side at the same scale (one cell is as many screen pixels in both,
 * so stride 2 visibly halves each side), and a step-through of one window.
 *
 *   const pool = new PoolSection({ kernelA: () => ({ kernel, mode }), onError, onShown });
 *   pool.setLimits(limits, model);     // GET /api/kernels/limits (the server's rules), GET /api/model (relu1's shape)
 *   pool.setImage(source, color);      // asks the server again (debounced) whenever anything changes
 */

import { KERNEL_LAB } from "./config.js";
import { geometry, poolRefusal } from "./conv-arithmetic.js";
import { t } from "./i18n.js";
import { kernelApi } from "./kernel-api.js";
import { showFormula } from "./kernel-formula.js";
import { displayFor, MapPanel, markTails } from "./kernel-output.js";
import { StepView, windowAt } from "./kernel-steps.js";

const $ = (id) => document.getElementById(id);
const LAYER = "relu1"; // the network's map offered for pooling

/** [min, max] of the finite values (padding is -inf for max pooling, the overhang NaN). */
function finiteRange(values) {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (Number.isFinite(v)) {
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  return lo <= hi ? [lo, hi] : [0, 1];
}

/** `input` as a whole number from `lo` to `hi`, or {problem} naming the field (`field`: its name in words). */
function whole(input, field, lo, hi) {
  const v = Number(input.value);
  if (input.value.trim() === "" || !Number.isInteger(v)) return { problem: t("{field}: type a whole number from {lo} to {hi}.", { field, lo, hi }) };
  if (v < lo || v > hi) {
    const problem = t("{field}: {value} is out of range; the server takes {lo} to {hi}.", { field, value: v, lo, hi });
    return { problem, refusal: problem };
  }
  return { value: v };
}

/** The convolution mode as the API spells it, in words. */
const modeWords = (mode) => (mode === "convolution" ? t("convolution") : t("cross-correlation"));

export class PoolSection {
  constructor({ kernelA, onError, onShown }) {
    this.kernelA = kernelA;
    this.onError = onError;
    this.onShown = onShown;
    this.limits = null;
    this.layerShape = null; // [C, H, W] of relu1, from the served model's table
    this.layerKind = ""; // relu1's kind and the model's name, as the API spells them
    this.modelName = "";
    this.source = null;
    this.color = "gray";
    this.requested = 0;
    this.timer = 0;
    this.shown = null;
    this.changes = 0; // an answer to an older state of the controls is not shown
    this.lastKey = null; // the image and spec last asked for
    this.sourceVersion = 0;
    this.inputPanel = new MapPanel($("map-pool-input"), { id: "map-pool-input", title: t("What is pooled") });
    this.panel = new MapPanel($("map-pool"), { id: "map-pool", title: t("Pooled"), onPick: (y, x) => this.step(y, x) });
    this.steps = new StepView($("pool-steps"));
    this.steps.clear(t("Click a pooled pixel to see its window."));
    const inputs = [$("pool-size"), $("pool-stride"), $("pool-padding"), $("pool-channel"), $("pool-source"), $("pool-rounding")];
    for (const input of [...inputs, ...document.querySelectorAll('input[name="pool-op"]')]) {
      input.addEventListener("input", () => this.changed());
      input.addEventListener("change", () => this.changed());
    }
  }

  get op() {
    return document.querySelector('input[name="pool-op"]:checked').value;
  }

  setLimits(limits, model) {
    this.limits = limits;
    const layer = model.layers.find((l) => l.name === LAYER);
    this.layerShape = layer.output_shape;
    this.layerKind = layer.kind;
    this.modelName = model.name;
    $("pool-size").max = String(limits.max_pool);
    $("pool-stride").max = String(limits.max_stride);
    $("pool-channel").max = String(this.layerShape[0] - 1);
    this.showLimits();
    this.changed();
  }

  /** The ranges beside the fields; the padding's follows the window (at most half of it). */
  showLimits() {
    if (!this.limits) return;
    const size = Number($("pool-size").value);
    const most = Number.isInteger(size) && size >= 1 && size <= this.limits.max_pool ? this.limits.max_pool_padding[size] : null;
    if (most !== null) $("pool-padding").max = String(most);
    const text = { "pool-size": `(1–${this.limits.max_pool})`, "pool-stride": `(1–${this.limits.max_stride})`, "pool-padding": most === null ? "" : `(0–${most})`, "pool-channel": `(0–${this.layerShape[0] - 1})` };
    for (const [name, words] of Object.entries(text)) document.querySelector(`[data-limit="${name}"]`).textContent = words;
  }

  /** What to pool: {source} for the API and the input's height and width, or {problem}. */
  pooled() {
    const choice = $("pool-source").value;
    $("pool-channel-field").hidden = choice !== "layer";
    if (choice === "image") return { source: { kind: "image" }, size: [this.source.height, this.source.width], note: t("Pooling the image itself.") };
    if (choice === "layer") {
      const [channels, height, width] = this.layerShape;
      const channel = whole($("pool-channel"), t("Pooling {layer} channel", { layer: LAYER }), 0, channels - 1);
      if (channel.problem) return channel;
      const params = { layer: LAYER, channel: channel.value };
      const digit = this.source.kind === "sample" || this.source.kind === "explorer";
      const note = digit
        ? t("Pooling {layer} channel {channel} of the network for this image: max pooling 2×2, stride 2 gives exactly pool1.", params)
        : t("Pooling {layer} channel {channel} of the network for this image (the network reads digits: your image is made to look like one first): max pooling 2×2, stride 2 gives exactly pool1.", params);
      return { source: { kind: "layer", layer: LAYER, channel: channel.value }, size: [height, width], note };
    }
    const a = this.kernelA();
    // A kernel the page or the server refuses is reported by the kernel's own section: wait quietly for it.
    if (!a || a.kernel.flat().some((v) => Math.abs(v) > this.limits.max_value)) return { problem: t("Pooling kernel A's output: fix kernel A first."), quiet: true };
    const relu = choice === "kernel-relu";
    const k = a.kernel.length;
    const source = { kind: "kernel", kernel: a.kernel, mode: a.mode, padding: "same", relu };
    const note = relu
      ? t("Pooling kernel A's {k}×{k} output (padding “same”, so the image's size) after a ReLU, as a conv layer's maps are before the network pools them.", { k })
      : t("Pooling kernel A's {k}×{k} output (padding “same”, so the image's size).", { k });
    return { source, size: [this.source.height, this.source.width], note };
  }

  /** The spec from the controls, or {problem} (and {refusal} when the server would refuse it). */
  spec() {
    const limits = this.limits;
    const size = whole($("pool-size"), t("Pooling window"), 1, limits.max_pool);
    const stride = whole($("pool-stride"), t("Pooling stride"), 1, limits.max_stride);
    const padding = whole($("pool-padding"), t("Pooling padding"), 0, limits.max_pool);
    const bad = [size, stride, padding].find((r) => r.problem);
    if (bad) return bad;
    const what = this.pooled();
    if (what.problem) return what;
    const spec = { op: this.op, size: size.value, stride: stride.value, padding: padding.value, color: this.color, rounding: $("pool-rounding").value, source: what.source };
    const channels = what.source.kind === "layer" || this.color === "gray" ? 1 : 3;
    const [height, width] = what.size;
    const refusal = poolRefusal({ height, width, size: spec.size, stride: spec.stride, padding: spec.padding, rounding: spec.rounding, channels }, limits);
    if (refusal) return { problem: refusal, refusal };
    return { spec, size: what.size, note: what.note };
  }

  setImage(source, color) {
    this.source = source;
    this.color = color;
    this.sourceVersion += 1;
    this.changed();
  }

  changed() {
    if (!this.source || !this.limits) return;
    this.showLimits();
    const { spec, problem, refusal, quiet, size, note } = this.spec();
    if (problem) {
      this.changes += 1;
      this.lastKey = null;
      if (refusal) showFormula($("pool-formula"), null, { refusal });
      if (!quiet) this.onError(problem);
      else $("pool-source-note").textContent = problem;
      return;
    }
    const key = JSON.stringify([this.sourceVersion, spec]);
    if (key === this.lastKey) return; // nothing new (a "change" event after "input", a blur)
    this.lastKey = key;
    this.changes += 1;
    $("pool-source-note").textContent = note;
    showFormula($("pool-formula"), geometry(size[0], size[1], spec.size, spec.stride, spec.padding, spec.rounding), { live: true });
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.send(spec), KERNEL_LAB.debounceMs);
  }

  async send(spec) {
    const id = ++this.requested;
    const version = this.changes;
    try {
      const result = await kernelApi.pool(this.source, spec);
      if (id !== this.requested || version !== this.changes) return;
      this.shown = { result, spec };
      this.render();
      this.onShown();
    } catch (error) {
      if (id === this.requested && version === this.changes) this.onError(error.message);
    }
  }

  render() {
    const { result, spec } = this.shown;
    const out = result.outputs[0];
    const padded = result.padded;
    const { scale, domain } = displayFor(out.min, out.max);
    const words = { size: spec.size, stride: spec.stride };
    const title = spec.op === "max" ? t("Max pooling {size}×{size}, stride {stride}", words) : t("Average pooling {size}×{size}, stride {stride}", words);
    const range = { shape: out.shape.slice(1).join(" × "), min: out.min.toPrecision(4), max: out.max.toPrecision(4) };
    const note = out.shape[0] === 3 ? t("{shape} × 3 channels, from {min} to {max}", range) : t("{shape}, from {min} to {max}", range);
    const inputScale = displayFor(...finiteRange(padded.values));
    const [, hp, wp] = padded.shape;
    const pads = padded.pad.reduce((a, b) => a + b, 0);
    const kind = result.source.kind;
    const pooledTitle =
      kind === "image"
        ? t("What is pooled: the image")
        : kind === "layer"
          ? t("What is pooled: {layer} channel {channel}", { layer: LAYER, channel: spec.source.channel })
          : t("What is pooled: kernel A's output");
    const shown = { shape: result.source.shape.slice(1).join(" × "), hp, wp, description: this.described(result.source, spec.source) };
    this.inputPanel.show(padded, {
      ...inputScale,
      title: pooledTitle,
      note: pads ? t("{shape}, shown with its padding ({hp} × {wp}): {description}", shown) : t("{shape}: {description}", shown),
    });
    markTails(this.inputPanel, result.arithmetic, padded.shape);
    this.panel.show(out, { scale, domain, title, note });
    // The same screen pixels per cell in both (kernels.css works them out from these): the pooled map is as
    // much smaller as it has fewer cells.
    this.inputPanel.frame.parentElement.parentElement.style.setProperty("--max-cells", String(Math.max(wp, hp)));
    this.inputPanel.frame.style.setProperty("--cells", String(wp));
    this.panel.frame.style.setProperty("--cells", String(out.shape[2]));
    showFormula($("pool-formula"), result.arithmetic);
    const picked = this.panel.picked;
    if (picked && picked[0] < this.panel.height && picked[1] < this.panel.width) this.step(...picked);
    else {
      this.panel.picked = null;
      this.panel.mark("pixel", null);
      this.inputPanel.mark("window", null);
      this.steps.clear(t("Click a pooled pixel to see its window."));
    }
  }

  /** What was pooled, in words (the server's `source.description`, in the page's language). */
  described(answered, asked) {
    if (answered.kind === "image") return t("the image");
    if (answered.kind === "layer") {
      const shape = this.layerShape.join("x");
      return t("channel {channel} of {layer} ({kind}, {shape}) of {model} for this image", { channel: asked.channel, layer: LAYER, kind: this.layerKind, shape, model: this.modelName });
    }
    if (answered.kind === "kernel") {
      const k = asked.kernel.length;
      const params = { k, mode: modeWords(asked.mode) };
      return asked.relu ? t("the {k}x{k} kernel's output ({mode}, padding 'same'), then ReLU", params) : t("the {k}x{k} kernel's output ({mode}, padding 'same')", params);
    }
    return answered.description; // a source this page does not know: the server's words
  }

  step(y, x) {
    if (!this.shown) return;
    const { result, spec } = this.shown;
    const out = result.outputs[0];
    const w = out.shape[2];
    const win = windowAt(result.padded, 0, spec.size, spec.stride, y, x);
    this.panel.mark("pixel", { y, x, h: 1, w: 1 });
    this.inputPanel.mark("window", { y: win.top, x: win.left, h: spec.size, w: spec.size });
    this.steps.showPool({ y, x, channel: 0, channels: out.shape[0], top: win.top, left: win.left, windowValues: win.values, op: spec.op, output: out.values[y * w + x] });
  }
}
