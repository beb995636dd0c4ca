/**
 * The receptive field of one unit, for the enlarged view of a map: the input image with the square of
 * pixels the unit can see outlined (its theoretical field from the layer arithmetic, clipped at the
 * image's edges; the part that falls in the zero padding is drawn dashed, outside the image), the
 * arithmetic that gives that square, and beside it the effective field |d unit / d input pixel| for this
 * image as a heat map (from POST /api/receptive-field).
 *
 *   const panel = new ReceptivePanel({ source: () => ({ id, input, image }) });
 *   panel.show(host, { layer: "conv2", channel: 3, y: 4, x: 5 });   // fetches, then draws
 *   panel.show(host, { model: "lenet", layer: "conv2", ... });        // another model's unit
 *
 * `source()` describes the input on screen: `id` changes with every new result, `input` is what was
 * sent ({file}, {sample} or {pixels}), `image` the decoded `input` layer (1 x 28 x 28).
 */

import { api } from "./api.js";
import { INSIGHT } from "./config.js";
import { el } from "./dom.js";
import { formatTick, formatValue } from "./format.js";
import { colorbar } from "./heatmap.js";
import { maxOf, paintHeat, paintInput, placeBox } from "./insight-draw.js";
import { attachProbe, gridCell } from "./probe.js";
import { scrollCue } from "./scroll-cue.js";

const CACHE_SIZE = 32;

/** "4.5" / "−2" with a true minus sign. */
const num = (v) => formatTick(Number(v.toFixed(4)));

function stage(className) {
  const holder = el("div", `rf-stage ${className}`);
  holder.style.setProperty("--rf-px", `${INSIGHT.fieldPx}px`);
  const canvas = el("canvas", "rf-canvas crisp");
  holder.append(canvas);
  return { holder, canvas };
}

/** The recurrence as a table: one row per layer from the input to this one. */
function stepsTable(steps) {
  const table = el("table", "rf-steps");
  table.append(el("caption", "", "Layer by layer: size += (kernel − 1) × jump; start += ((kernel − 1) / 2 − padding) × jump; jump ×= stride"));
  const head = el("tr");
  for (const h of ["layer", "kernel", "stride", "padding", "size", "jump", "start"]) head.append(el("th", "", h));
  table.append(head);
  for (const s of steps) {
    const tr = el("tr");
    for (const v of [s.layer, s.kernel, s.stride, s.padding, s.size, s.jump, num(s.start)]) tr.append(el("td", "", String(v)));
    table.append(tr);
  }
  return table;
}

/** One axis of the box in words: centre, half-width, bounds, and what clipping did. */
function axisText(word, index, field, lo, hi, clippedLo, clippedHi, extent) {
  const centre = field.start + index * field.jump;
  const half = (field.size - 1) / 2;
  let text = `${word}: centre = start + ${word === "rows" ? "y" : "x"} × jump = ${num(field.start)} + ${index} × ${field.jump} = ${num(centre)}; `;
  text += `${num(centre)} ± (${field.size} − 1) / 2 = ${num(centre)} ± ${num(half)} → ${num(lo)} to ${num(hi)}`;
  if (clippedLo !== lo || clippedHi !== hi) {
    const out = [];
    if (lo < 0) out.push(`${-lo} in the padding before the image`);
    if (hi > extent - 1) out.push(`${hi - extent + 1} past its end`);
    text += `; ${out.join(" and ")}, so clipped to ${clippedLo} to ${clippedHi}`;
  }
  return `${text}.`;
}

/** How much of the effective field lies inside the box (it must be all of it). */
function effectiveSummary(grad, box, width) {
  let nonzero = 0;
  let outside = 0;
  let best = 0;
  const values = grad.values;
  for (let i = 0; i < values.length; i++) {
    if (values[i] !== 0) {
      nonzero += 1;
      const y = Math.floor(i / width);
      const x = i % width;
      if (y < box.y0 || y > box.y1 || x < box.x0 || x > box.x1) outside += 1;
    }
    if (values[i] > values[best]) best = i;
  }
  return { nonzero, outside, best: { y: Math.floor(best / width), x: best % width, value: values[best] } };
}

export class ReceptivePanel {
  constructor({ source }) {
    this.source = source;
    this.cache = new Map();
    this.controller = null;
    this.section = null;
  }

  /** Show unit {layer, channel, y, x} of the input on screen in `host` (the panel is created once per host). */
  show(host, unit) {
    if (!this.section || !host.contains(this.section)) {
      this.section = el("section", "rf-panel");
      host.append(this.section);
    }
    const section = this.section;
    const current = this.source();
    Object.assign(section.dataset, { layer: unit.layer, channel: String(unit.channel), y: String(unit.y), x: String(unit.x) });
    if (!current || !current.input) {
      section.dataset.state = "empty";
      section.textContent = "";
      section.append(el("p", "hint", "Give the network a digit first."));
      return Promise.resolve(null);
    }
    const key = `${current.id}|${unit.model}|${unit.layer}|${unit.channel}|${unit.y}|${unit.x}`;
    this.key = key;
    const cached = this.cache.get(key);
    if (cached) {
      this.draw(section, cached, current);
      return Promise.resolve(cached);
    }
    section.dataset.state = "loading";
    if (this.controller) this.controller.abort();
    const controller = new AbortController();
    this.controller = controller;
    return api.receptiveField(current.input, unit, { signal: controller.signal, model: unit.model }).then(
      (field) => {
        this.remember(key, field);
        if (this.key === key && section.isConnected) this.draw(section, field, current);
        return field;
      },
      (error) => {
        if (error.name === "AbortError" || this.key !== key) return null;
        section.dataset.state = "error";
        section.textContent = "";
        section.append(el("p", "rf-error", `The receptive field could not be computed: ${error.message}`));
        return null;
      },
    );
  }

  remember(key, field) {
    this.cache.set(key, field);
    if (this.cache.size > CACHE_SIZE) this.cache.delete(this.cache.keys().next().value);
  }

  draw(section, field, current) {
    section.textContent = "";
    section.dataset.state = "ready";
    section.dataset.size = String(field.size);
    const [height, width] = field.gradient.shape;
    const margin = INSIGHT.paddingCells;
    const geometry = { height, width, margin };
    const { box, unclipped } = field;
    const clipped = box.y0 !== unclipped.y0 || box.x0 !== unclipped.x0 || box.y1 !== unclipped.y1 || box.x1 !== unclipped.x1;
    const boxH = box.y1 - box.y0 + 1;
    const boxW = box.x1 - box.x0 + 1;

    section.append(el("h3", "", `What ${field.layer} channel ${field.channel} at (y ${field.y}, x ${field.x}) can see`));
    const figures = el("div", "rf-figures");

    // The theoretical field on the input, with the padding around it.
    const theory = el("figure", "rf-theory");
    const input = stage("rf-input-stage");
    paintInput(input.canvas, current.image.values, { height, width, margin });
    input.canvas.setAttribute("role", "img");
    input.canvas.setAttribute("aria-label", `The input with the ${field.size} by ${field.size} field of this unit outlined: rows ${box.y0} to ${box.y1}, columns ${box.x0} to ${box.x1}.`);
    const edge = el("span", "rf-image-edge");
    placeBox(edge, { y0: 0, x0: 0, y1: height - 1, x1: width - 1 }, geometry);
    input.holder.append(edge);
    if (clipped) {
      const full = el("span", "rf-box-full");
      placeBox(full, unclipped, geometry);
      input.holder.append(full);
    }
    const outline = el("span", "rf-box");
    placeBox(outline, box, geometry);
    input.holder.append(outline);
    theory.append(
      input.holder,
      el(
        "figcaption",
        "",
        clipped
          ? `Theoretical field: ${field.size} × ${field.size} pixels, of which ${boxH} rows × ${boxW} columns fall on the image (solid); the dashed part is zero padding.`
          : `Theoretical field: ${field.size} × ${field.size} input pixels, rows ${box.y0}–${box.y1}, columns ${box.x0}–${box.x1}.`,
      ),
    );

    // The effective field: |d unit / d pixel| for this image.
    const effective = el("figure", "rf-effective");
    const heat = stage("rf-gradient-stage");
    const top = maxOf(field.gradient.values);
    const domain = [0, top || 1];
    paintHeat(heat.canvas, field.gradient.values, { height, width, scale: "sequential", domain, margin });
    heat.canvas.setAttribute("role", "img");
    heat.canvas.setAttribute("aria-label", "The effective receptive field: how strongly each input pixel moves this unit.");
    const outline2 = el("span", "rf-box rf-box-thin");
    placeBox(outline2, box, geometry);
    heat.holder.append(outline2);
    const cells = height + 2 * margin;
    attachProbe(heat.canvas, ({ fx, fy }) => {
      const cell = gridCell(fx, fy, cells, cells);
      const y = cell.y - margin;
      const x = cell.x - margin;
      if (y < 0 || x < 0 || y >= height || x >= width) return null;
      return {
        label: `|∂ ${field.layer}[${field.channel}, ${field.y}, ${field.x}] / ∂ input(y ${y}, x ${x})|`,
        value: field.gradient.values[y * width + x],
        data: { layer: "input", y, x, tensor: "gradient" },
      };
    });
    const bar = colorbar();
    bar.update("sequential", domain, "|∂ unit / ∂ pixel|");
    const summary = effectiveSummary(field.gradient, box, width);
    effective.append(
      heat.holder,
      bar.element,
      el(
        "figcaption",
        "",
        `Effective field for this image: non-zero on ${summary.nonzero} of ${height * width} pixels, ${summary.outside === 0 ? "all inside the box" : `${summary.outside} outside the box`}; strongest at (y ${summary.best.y}, x ${summary.best.x}).${current.override ? " Computed with the trained conv1 filters, not the kernel lab's." : ""}`,
      ),
    );
    figures.append(theory, effective);

    // The arithmetic, in words and numbers.
    const math = el("div", "rf-math");
    math.append(
      el("p", "", `size = ${field.size}, jump = ${field.jump}, start = ${num(field.start)}: the unit sees a ${field.size} × ${field.size} square; neighbouring units are ${field.jump} input pixel${field.jump === 1 ? "" : "s"} apart; unit (0, 0) is centred on input pixel ${num(field.start)}.`),
      el("p", "rf-axis", axisText("rows", field.y, field, unclipped.y0, unclipped.y1, box.y0, box.y1, height)),
      el("p", "rf-axis", axisText("columns", field.x, field, unclipped.x0, unclipped.x1, box.x0, box.x1, width)),
      el("p", "", `The unit's value for this image: ${formatValue(field.activation)}. Pixels outside the box cannot change it at all: their gradient is exactly 0.`),
    );
    if (field.steps.length > 1) {
      const steps = stepsTable(field.steps);
      math.append(steps);
      scrollCue(steps, "The receptive field, layer by layer");
    }
    section.append(figures, math);
  }
}
