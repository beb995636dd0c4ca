/**
 * One editable kernel: a k x k grid of number fields (coloured by value), a preset menu, and tools:
 * normalise to sum 1, transpose, flip left-right / top-bottom, and -/+ steppers for the chosen cell
 * (the arrow keys Up/Down step the focused cell too).
 *
 *   const editor = new KernelEditor(host, { slot: "a", label: "Kernel A", presets, onChange });
 *   editor.set(preset.kernel, preset.name);    editor.resize(5);
 *   editor.kernel     // number[][] (the values as typed)        editor.problem  // words, or null
 *
 * `onChange(editor)` runs after every change. A cell that is not a number is marked invalid and
 * reported through `problem` (the page shows it and keeps the last result); the other cells still work.
 */

import { el } from "./dom.js";
import { colorOf } from "./heatmap.js";
import { t } from "./i18n.js";
import { copy, equal, flippedH, flippedV, formatWeight, normalised, parseWeight, resized, sum, transposed } from "./kernel-math.js";

const STEPS = [0.01, 0.1, 0.5, 1];
const DEFAULT_STEP = 1;

function button(text, { label, id, className = "button small" }) {
  const b = el("button", className, text);
  b.type = "button";
  if (label) b.setAttribute("aria-label", label);
  if (id) b.id = id;
  return b;
}

export class KernelEditor {
  constructor(host, { slot, label, presets, onChange }) {
    this.slot = slot;
    this.label = label;
    this.presets = presets;
    this.onChange = onChange;
    this.values = [[1]];
    this.problems = new Map(); // "i,j" -> words
    this.active = [0, 0];
    this.presetName = "";
    this.inputs = [];
    this.toolProblem = null;
    this.build(host);
  }

  /* ---- the DOM ------------------------------------------------------------------------------ */

  build(host) {
    const id = (name) => `kernel-${this.slot}-${name}`;
    host.textContent = "";
    host.classList.add("kernel-slot");
    host.dataset.slot = this.slot;

    const head = el("div", "slot-head");
    const title = el("h3", "slot-title", this.label);
    title.id = id("title");
    const presetLabel = el("label", "field inline", t("Preset "));
    this.presetSelect = el("select");
    this.presetSelect.id = id("preset");
    const custom = new Option(t("(your own)"), "");
    this.presetSelect.append(custom);
    for (const p of this.presets) this.presetSelect.append(new Option(`${p.title} (${p.kernel.length}×${p.kernel.length})`, p.name));
    this.presetSelect.addEventListener("change", () => {
      const preset = this.presets.find((p) => p.name === this.presetSelect.value);
      if (preset) this.set(preset.kernel, preset.name);
    });
    presetLabel.append(this.presetSelect);
    head.append(title, presetLabel);

    this.grid = el("div", "kernel-grid");
    this.grid.id = id("grid");
    this.grid.setAttribute("role", "group");
    this.grid.setAttribute("aria-labelledby", title.id);

    const tools = el("div", "slot-tools");
    const minus = button("−", { label: t("{kernel}: decrease the chosen cell", { kernel: this.label }), id: id("minus"), className: "button small stepper" });
    const plus = button("+", { label: t("{kernel}: increase the chosen cell", { kernel: this.label }), id: id("plus"), className: "button small stepper" });
    const stepLabel = el("label", "field inline", t("step "));
    this.stepSelect = el("select");
    this.stepSelect.id = id("step");
    for (const s of STEPS) this.stepSelect.append(new Option(String(s), String(s), s === DEFAULT_STEP, s === DEFAULT_STEP));
    stepLabel.append(this.stepSelect);
    minus.addEventListener("click", () => this.step(-1));
    plus.addEventListener("click", () => this.step(1));
    const normalise = button(t("Sum to 1"), { label: t("{kernel}: scale so the values sum to 1", { kernel: this.label }), id: id("normalise") });
    const transpose = button(t("Transpose"), { label: t("{kernel}: transpose (swap rows and columns)", { kernel: this.label }), id: id("transpose") });
    const flipH = button(t("Flip ↔"), { label: t("{kernel}: flip left-right", { kernel: this.label }), id: id("flip-h") });
    const flipV = button(t("Flip ↕"), { label: t("{kernel}: flip top-bottom", { kernel: this.label }), id: id("flip-v") });
    normalise.addEventListener("click", () => this.apply(normalised));
    transpose.addEventListener("click", () => this.apply(transposed));
    flipH.addEventListener("click", () => this.apply(flippedH));
    flipV.addEventListener("click", () => this.apply(flippedV));
    const stepper = el("span", "stepper-group");
    stepper.append(minus, plus, stepLabel);
    tools.append(stepper, normalise, transpose, flipH, flipV);

    this.info = el("p", "slot-info hint");
    this.info.id = id("info");
    this.info.setAttribute("aria-live", "polite");

    host.append(head, this.grid, tools, this.info);
  }

  /** (Re)build the k x k fields. */
  buildGrid() {
    const k = this.values.length;
    this.grid.textContent = "";
    this.grid.dataset.size = String(k);
    this.inputs = [];
    for (let i = 0; i < k; i++) {
      const row = [];
      for (let j = 0; j < k; j++) {
        const input = el("input", "kernel-cell");
        input.type = "text";
        input.inputMode = "decimal";
        input.autocomplete = "off";
        input.spellcheck = false;
        input.dataset.row = String(i);
        input.dataset.col = String(j);
        input.setAttribute("aria-label", t("{kernel}, row {row}, column {column}", { kernel: this.label, row: i + 1, column: j + 1 }));
        input.addEventListener("input", () => this.typed(i, j));
        input.addEventListener("focus", () => this.choose(i, j));
        input.addEventListener("blur", () => this.tidy(i, j));
        input.addEventListener("keydown", (e) => this.key(e, i, j));
        this.grid.append(input);
        row.push(input);
      }
      this.inputs.push(row);
    }
    this.active = [(k - 1) >> 1, (k - 1) >> 1];
  }

  /* ---- reading and writing values ---------------------------------------------------------- */

  get size() {
    return this.values.length;
  }

  /** The kernel as typed (cells with problems hold their last good value). */
  get kernel() {
    return copy(this.values);
  }

  /** The first problem in words, or null. */
  get problem() {
    if (this.problems.size) {
      const [key, message] = this.problems.entries().next().value;
      const [i, j] = key.split(",").map(Number);
      return t("{kernel}, row {row}, column {column}: {problem}", { kernel: this.label, row: i + 1, column: j + 1, problem: message });
    }
    return this.toolProblem;
  }

  /** Replace the whole kernel (a preset, a tool, a resize); `presetName` marks it as that preset. */
  set(kernel, presetName = "", { silent = false } = {}) {
    const rebuild = kernel.length !== this.values.length || !this.inputs.length;
    this.values = copy(kernel);
    this.problems.clear();
    this.toolProblem = null;
    this.presetName = presetName;
    if (rebuild) this.buildGrid();
    for (let i = 0; i < this.size; i++) for (let j = 0; j < this.size; j++) this.show(i, j);
    this.refresh();
    if (!silent) this.onChange(this);
  }

  resize(k) {
    if (k !== this.size) this.set(resized(this.values, k), "", { silent: true });
  }

  apply(tool) {
    if (this.problems.size) {
      this.refresh();
      this.onChange(this);
      return;
    }
    try {
      const out = tool(this.values);
      const preset = this.presets.find((p) => p.kernel.length === out.length && equal(p.kernel, out));
      this.set(out, preset ? preset.name : "");
    } catch (error) {
      this.toolProblem = t("{kernel}: {problem}", { kernel: this.label, problem: error.message });
      this.refresh();
      this.onChange(this);
      this.toolProblem = null; // shown once; the kernel itself is still fine
    }
  }

  show(i, j) {
    const input = this.inputs[i][j];
    input.value = formatWeight(this.values[i][j]);
    input.title = String(this.values[i][j]);
    input.removeAttribute("aria-invalid");
  }

  typed(i, j) {
    const input = this.inputs[i][j];
    const { value, problem } = parseWeight(input.value);
    const key = `${i},${j}`;
    if (problem) {
      this.problems.set(key, problem);
      input.setAttribute("aria-invalid", "true");
    } else {
      this.problems.delete(key);
      input.removeAttribute("aria-invalid");
      this.values[i][j] = value;
      input.title = String(value);
    }
    this.presetName = "";
    this.refresh();
    this.onChange(this);
  }

  /** On leaving a cell: show a good value in the standard form ("1/9" -> 0.1111). */
  tidy(i, j) {
    if (!this.problems.has(`${i},${j}`)) this.show(i, j);
  }

  choose(i, j) {
    this.active = [i, j];
    this.refresh();
  }

  key(event, i, j) {
    if (event.key === "ArrowUp" || event.key === "ArrowDown") {
      event.preventDefault();
      this.choose(i, j);
      this.step(event.key === "ArrowUp" ? 1 : -1);
    }
  }

  /** Add `direction` steps to the chosen cell. */
  step(direction) {
    const [i, j] = this.active;
    if (this.problems.has(`${i},${j}`)) return;
    const delta = Number(this.stepSelect.value) * direction;
    this.values[i][j] = Number((this.values[i][j] + delta).toFixed(6));
    this.show(i, j);
    this.presetName = "";
    this.refresh();
    this.onChange(this);
  }

  /* ---- looks ------------------------------------------------------------------------------- */

  refresh() {
    const m = Math.max(1e-12, ...this.values.flat().map(Math.abs));
    for (let i = 0; i < this.size; i++) {
      for (let j = 0; j < this.size; j++) {
        const input = this.inputs[i][j];
        const v = this.values[i][j];
        input.style.background = colorOf(v, "diverging", [-m, m]);
        input.classList.toggle("strong", Math.abs(v) > 0.6 * m);
        input.classList.toggle("active", i === this.active[0] && j === this.active[1]);
      }
    }
    this.presetSelect.value = this.presetName;
    const preset = this.presets.find((p) => p.name === this.presetName);
    const total = formatWeight(sum(this.values));
    const description = preset ? preset.description : t("Your own kernel.");
    this.info.textContent = t("{description} Sum of the weights: {total}.", { description, total });
    this.grid.dataset.values = JSON.stringify(this.values);
  }
}
