/**
 * The kernel lab's pooling section: max or average pooling of the image through POST /api/pool, with
 * its own output-size formula, the pooled map with its colour bar, and a step-through of one window.
 *
 *   const pool = new PoolSection({ onError, onShown });
 *   pool.setImage(source, color);      // asks the server again (debounced) whenever anything changes
 */

import { KERNEL_LAB } from "./config.js";
import { geometry } from "./conv-arithmetic.js";
import { kernelApi } from "./kernel-api.js";
import { showFormula } from "./kernel-formula.js";
import { displayFor, MapPanel } from "./kernel-output.js";
import { StepView, windowAt } from "./kernel-steps.js";

const $ = (id) => document.getElementById(id);

function whole(input, name, lo, hi) {
  const v = Number(input.value);
  if (input.value.trim() === "" || !Number.isInteger(v)) return { problem: `Pooling ${name}: type a whole number from ${lo} to ${hi}.` };
  return { value: v };
}

export class PoolSection {
  constructor({ onError, onShown }) {
    this.onError = onError;
    this.onShown = onShown;
    this.source = null;
    this.color = "gray";
    this.requested = 0;
    this.timer = 0;
    this.shown = null;
    this.changes = 0; // an answer to an older state of the controls is not shown
    this.lastKey = null; // the image and spec last asked for
    this.sourceVersion = 0;
    this.panel = new MapPanel($("map-pool"), { id: "map-pool", title: "Pooled", onPick: (y, x) => this.step(y, x) });
    this.steps = new StepView($("pool-steps"));
    this.steps.clear("Click a pooled pixel to see its window.");
    for (const input of [$("pool-size"), $("pool-stride"), $("pool-padding"), ...document.querySelectorAll('input[name="pool-op"]')]) {
      input.addEventListener("input", () => this.changed());
      input.addEventListener("change", () => this.changed());
    }
  }

  get op() {
    return document.querySelector('input[name="pool-op"]:checked').value;
  }

  /** The spec from the controls, or {problem}. */
  spec() {
    const size = whole($("pool-size"), "window", 1, 32);
    const stride = whole($("pool-stride"), "stride", 1, 64);
    const padding = whole($("pool-padding"), "padding", 0, 16);
    const bad = [size, stride, padding].find((r) => r.problem);
    if (bad) return { problem: bad.problem };
    return { spec: { op: this.op, size: size.value, stride: stride.value, padding: padding.value, color: this.color } };
  }

  setImage(source, color) {
    this.source = source;
    this.color = color;
    this.sourceVersion = (this.sourceVersion || 0) + 1;
    this.changed();
  }

  changed() {
    const { spec, problem } = this.spec();
    if (problem) {
      this.changes += 1;
      this.lastKey = null;
      this.onError(problem);
      return;
    }
    const key = JSON.stringify([this.sourceVersion, spec]);
    if (key === this.lastKey) return; // nothing new (a "change" event after "input", a blur)
    this.lastKey = key;
    this.changes += 1;
    if (this.source) {
      showFormula($("pool-formula"), geometry(this.source.height, this.source.width, spec.size, spec.stride, spec.padding), { live: true });
    }
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.send(spec), KERNEL_LAB.debounceMs);
  }

  async send(spec) {
    if (!this.source) return;
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
    const { scale, domain } = displayFor(out.min, out.max);
    const title = `${spec.op === "max" ? "Max" : "Average"} pooling ${spec.size}×${spec.size}, stride ${spec.stride}`;
    const note = `${out.shape.slice(1).join(" × ")}${out.shape[0] === 3 ? " × 3 channels" : ""}, from ${out.min.toPrecision(4)} to ${out.max.toPrecision(4)}`;
    this.panel.show(out, { scale, domain, title, note });
    showFormula($("pool-formula"), result.arithmetic);
    const picked = this.panel.picked;
    if (picked && picked[0] < this.panel.height && picked[1] < this.panel.width) this.step(...picked);
    else {
      this.panel.picked = null;
      this.panel.mark("pixel", null);
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
    this.steps.showPool({ y, x, channel: 0, channels: out.shape[0], top: win.top, left: win.left, windowValues: win.values, op: spec.op, output: out.values[y * w + x] });
  }
}
