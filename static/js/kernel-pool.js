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

function whole(input, name, lo, hi) {
  const v = Number(input.value);
  if (input.value.trim() === "" || !Number.isInteger(v)) return { problem: `Pooling ${name}: type a whole number from ${lo} to ${hi}.` };
  if (v < lo || v > hi) {
    const problem = `Pooling ${name}: ${v} is out of range; the server takes ${lo} to ${hi}.`;
    return { problem, refusal: problem };
  }
  return { value: v };
}

export class PoolSection {
  constructor({ kernelA, onError, onShown }) {
    this.kernelA = kernelA;
    this.onError = onError;
    this.onShown = onShown;
    this.limits = null;
    this.layerShape = null; // [C, H, W] of relu1, from the served model's table
    this.source = null;
    this.color = "gray";
    this.requested = 0;
    this.timer = 0;
    this.shown = null;
    this.changes = 0; // an answer to an older state of the controls is not shown
    this.lastKey = null; // the image and spec last asked for
    this.sourceVersion = 0;
    this.inputPanel = new MapPanel($("map-pool-input"), { id: "map-pool-input", title: "What is pooled" });
    this.panel = new MapPanel($("map-pool"), { id: "map-pool", title: "Pooled", onPick: (y, x) => this.step(y, x) });
    this.steps = new StepView($("pool-steps"));
    this.steps.clear("Click a pooled pixel to see its window.");
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
    this.layerShape = model.layers.find((l) => l.name === LAYER).output_shape;
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
    if (choice === "image") return { source: { kind: "image" }, size: [this.source.height, this.source.width], note: "Pooling the image itself." };
    if (choice === "layer") {
      const [channels, height, width] = this.layerShape;
      const channel = whole($("pool-channel"), `${LAYER} channel`, 0, channels - 1);
      if (channel.problem) return channel;
      const note = this.source.kind === "sample" || this.source.kind === "explorer" ? "" : " (the network reads digits: your image is made to look like one first)";
      return { source: { kind: "layer", layer: LAYER, channel: channel.value }, size: [height, width], note: `Pooling ${LAYER} channel ${channel.value} of the network for this image${note}: max pooling 2×2, stride 2 gives exactly pool1.` };
    }
    const a = this.kernelA();
    // A kernel the page or the server refuses is reported by the kernel's own section: wait quietly for it.
    if (!a || a.kernel.flat().some((v) => Math.abs(v) > this.limits.max_value)) return { problem: "Pooling kernel A's output: fix kernel A first.", quiet: true };
    const relu = choice === "kernel-relu";
    const k = a.kernel.length;
    const source = { kind: "kernel", kernel: a.kernel, mode: a.mode, padding: "same", relu };
    return { source, size: [this.source.height, this.source.width], note: `Pooling kernel A's ${k}×${k} output (padding “same”, so the image's size)${relu ? " after a ReLU, as a conv layer's maps are before the network pools them" : ""}.` };
  }

  /** The spec from the controls, or {problem} (and {refusal} when the server would refuse it). */
  spec() {
    const limits = this.limits;
    const size = whole($("pool-size"), "window", 1, limits.max_pool);
    const stride = whole($("pool-stride"), "stride", 1, limits.max_stride);
    const padding = whole($("pool-padding"), "padding", 0, limits.max_pool);
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
    const title = `${spec.op === "max" ? "Max" : "Average"} pooling ${spec.size}×${spec.size}, stride ${spec.stride}`;
    const note = `${out.shape.slice(1).join(" × ")}${out.shape[0] === 3 ? " × 3 channels" : ""}, from ${out.min.toPrecision(4)} to ${out.max.toPrecision(4)}`;
    const inputScale = displayFor(...finiteRange(padded.values));
    const [, hp, wp] = padded.shape;
    const pads = padded.pad.reduce((a, b) => a + b, 0);
    this.inputPanel.show(padded, {
      ...inputScale,
      title: `What is pooled: ${result.source.kind === "image" ? "the image" : result.source.kind === "layer" ? `${LAYER} channel ${spec.source.channel}` : "kernel A's output"}`,
      note: `${result.source.shape.slice(1).join(" × ")}${pads ? `, shown with its padding (${hp} × ${wp})` : ""}: ${result.source.description}`,
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
      this.steps.clear("Click a pooled pixel to see its window.");
    }
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
