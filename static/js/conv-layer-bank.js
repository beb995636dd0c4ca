/**
 * The conv-layer tab's filter bank: Cout filters, each with one K x K grid of weights per input channel (R,
 * G, B, or grey) and a bias, a preset menu and a remove button. Cells take numbers as the kernel editor's
 * do (fractions, a decimal comma, a true minus); a cell that is not a number is marked and reported.
 *
 *   const bank = new FilterBank(host, { maxFilters: 16, onChange });
 *   bank.setShape(5, 3);   bank.add("luminance");
 *   bank.weight   // Cout x Cin x K x K        bank.bias  // Cout        bank.problem  // words or null
 */

import { el } from "./dom.js";
import { colorOf } from "./heatmap.js";
import { CHANNEL_NAMES, makeFilter, presetsFor } from "./conv-layer-presets.js";
import { t } from "./i18n.js";
import { formatWeight, parseWeight, resized } from "./kernel-math.js";

export class FilterBank {
  constructor(host, { maxFilters, onChange }) {
    this.host = host;
    this.maxFilters = maxFilters;
    this.onChange = onChange;
    this.k = 5;
    this.cin = 3;
    this.filters = []; // {weights: Cin x K x K, bias, preset, problems: Map}
  }

  get weight() {
    return this.filters.map((f) => f.weights.map((kernel) => kernel.map((row) => row.slice())));
  }

  get bias() {
    return this.filters.map((f) => f.bias);
  }

  get problem() {
    for (const [o, f] of this.filters.entries()) {
      for (const [where, message] of f.problems) return t("Filter {filter}, {where}: {problem}", { filter: o, where, problem: message });
    }
    return null;
  }

  /** New K or depth: every filter made again from its preset, or resized (its first channels kept). */
  setShape(k, cin) {
    this.k = k;
    this.cin = cin;
    for (const f of this.filters) {
      const usable = presetsFor(cin).some((p) => p.name === f.preset);
      if (usable) f.weights = makeFilter(f.preset, k, cin);
      else {
        f.weights = Array.from({ length: cin }, (_, c) => resized(f.weights[Math.min(c, f.weights.length - 1)], k));
        f.preset = "";
      }
      f.problems.clear();
    }
    this.render();
  }

  add(preset) {
    if (this.filters.length >= this.maxFilters) return false;
    const name = presetsFor(this.cin).some((p) => p.name === preset) ? preset : "Sobel on all channels";
    this.filters.push({ weights: makeFilter(name, this.k, this.cin), bias: 0, preset: name, problems: new Map() });
    this.render();
    return true;
  }

  remove(o) {
    this.filters.splice(o, 1);
    this.render();
    this.onChange();
  }

  render() {
    this.host.textContent = "";
    this.filters.forEach((f, o) => this.host.append(this.card(f, o)));
    this.host.dataset.filters = String(this.filters.length);
  }

  card(f, o) {
    const card = el("article", "layer-filter");
    card.dataset.filter = String(o);
    const head = el("div", "layer-filter-head");
    const title = el("h3", "slot-title", t("Filter {filter}", { filter: o }));
    title.id = `layer-filter-${o}-title`;
    const presetLabel = el("label", "field inline", t("Preset "));
    const select = el("select");
    select.id = `layer-filter-${o}-preset`;
    select.append(new Option(t("(your own)"), ""));
    for (const p of presetsFor(this.cin)) select.append(new Option(p.title, p.name));
    select.value = f.preset;
    select.addEventListener("change", () => {
      if (!select.value) return;
      f.preset = select.value;
      f.weights = makeFilter(f.preset, this.k, this.cin);
      f.problems.clear();
      this.render();
      this.onChange();
      document.getElementById(select.id)?.focus();
    });
    presetLabel.append(select);
    const biasLabel = el("label", "field inline", t("bias "));
    const bias = el("input", "layer-bias");
    bias.type = "text";
    bias.inputMode = "decimal";
    bias.id = `layer-filter-${o}-bias`;
    bias.value = formatWeight(f.bias);
    bias.addEventListener("input", () => {
      const { value, problem } = parseWeight(bias.value);
      this.mark(f, t("bias"), bias, problem, () => (f.bias = value));
    });
    biasLabel.append(bias);
    const remove = el("button", "button small", t("Remove"));
    remove.type = "button";
    remove.setAttribute("aria-label", t("Remove filter {filter}", { filter: o }));
    remove.disabled = this.filters.length === 1;
    remove.addEventListener("click", () => this.remove(o));
    head.append(title, presetLabel, biasLabel, remove);
    const depth = el("div", "layer-depth");
    const names = CHANNEL_NAMES[this.cin];
    f.weights.forEach((kernel, c) => depth.append(this.grid(f, o, c, names[c], kernel)));
    const preset = presetsFor(this.cin).find((p) => p.name === f.preset);
    const words = { description: preset ? preset.description : t("Your own filter."), cin: this.cin, k: this.k };
    const info = el("p", "hint layer-filter-info", t("{description} {cin} × {k} × {k} weights and a bias.", words));
    card.append(head, depth, info);
    return card;
  }

  grid(f, o, c, name, kernel) {
    const figure = el("figure", "layer-channel");
    const grid = el("div", "kernel-grid layer-grid");
    grid.style.setProperty("--k", String(this.k));
    grid.id = `layer-filter-${o}-c${c}`;
    grid.setAttribute("role", "group");
    grid.setAttribute("aria-label", t("Filter {filter}, input channel {channel}", { filter: o, channel: name }));
    grid.dataset.values = JSON.stringify(kernel);
    const m = Math.max(1e-12, ...kernel.flat().map(Math.abs));
    kernel.forEach((row, i) =>
      row.forEach((v, j) => {
        const input = el("input", "kernel-cell");
        input.type = "text";
        input.inputMode = "decimal";
        input.autocomplete = "off";
        input.spellcheck = false;
        input.value = formatWeight(v);
        input.style.background = colorOf(v, "diverging", [-m, m]);
        input.classList.toggle("strong", Math.abs(v) > 0.6 * m);
        input.setAttribute("aria-label", t("Filter {filter}, {channel}, row {row}, column {column}", { filter: o, channel: name, row: i + 1, column: j + 1 }));
        input.addEventListener("input", () => {
          const { value, problem } = parseWeight(input.value);
          this.mark(f, t("{channel} row {row}, column {column}", { channel: name, row: i + 1, column: j + 1 }), input, problem, () => {
            kernel[i][j] = value;
            grid.dataset.values = JSON.stringify(kernel);
          });
        });
        grid.append(input);
      }),
    );
    figure.append(grid, el("figcaption", "", name));
    return figure;
  }

  /** A typed value: keep it (and drop the preset's name) or mark the field with the problem. */
  mark(f, where, input, problem, keep) {
    if (problem) {
      f.problems.set(where, problem);
      input.setAttribute("aria-invalid", "true");
    } else {
      f.problems.delete(where);
      input.removeAttribute("aria-invalid");
      keep();
      f.preset = "";
      const select = input.closest(".layer-filter").querySelector("select");
      select.value = "";
    }
    this.onChange();
  }
}
