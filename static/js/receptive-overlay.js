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
 *   panel.show(host, { layer: "add", note: "the branches ... have different strides", ... });  // says why there is no box
 *
 * `source()` describes the input on screen: `id` changes with every new result, `input` is what was
 * sent ({file}, {sample} or {pixels}), `image` the decoded `input` layer (C x H x W).
 *
 * A layer without a receptive-field box (the table's `receptive_field_note`, or the API's 422) gets a
 * sentence saying why instead of a picture: the panel's data-state is then "missing".
 */

import { api } from "./api.js";
import { INSIGHT } from "./config.js";
import { el } from "./dom.js";
import { formatTick, formatValue } from "./format.js";
import { colorbar } from "./heatmap.js";
import { t, tn } from "./i18n.js";
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
  table.append(el("caption", "", t("Layer by layer: size += (kernel − 1) × jump; start += ((kernel − 1) / 2 − padding) × jump; jump ×= stride")));
  const head = el("tr");
  for (const h of [t("layer"), t("kernel"), t("stride"), t("padding"), t("size"), t("jump"), t("start")]) head.append(el("th", "", h));
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
  const values = { start: num(field.start), index, jump: field.jump, centre: num(centre), size: field.size, half: num(half), lo: num(lo), hi: num(hi) };
  let text =
    word === "rows"
      ? t("rows: centre = start + y × jump = {start} + {index} × {jump} = {centre}; {centre} ± ({size} − 1) / 2 = {centre} ± {half} → {lo} to {hi}", values)
      : t("columns: centre = start + x × jump = {start} + {index} × {jump} = {centre}; {centre} ± ({size} − 1) / 2 = {centre} ± {half} → {lo} to {hi}", values);
  if (clippedLo !== lo || clippedHi !== hi) {
    const clip = { before: -lo, after: hi - extent + 1, from: clippedLo, to: clippedHi };
    if (lo < 0 && hi > extent - 1) text += t("; {before} in the padding before the image and {after} past its end, so clipped to {from} to {to}", clip);
    else if (lo < 0) text += t("; {before} in the padding before the image, so clipped to {from} to {to}", clip);
    else text += t("; {after} past its end, so clipped to {from} to {to}", clip);
  }
  return t("{text}.", { text });
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

/**
 * Padding cells drawn around the image: enough for the whole unclipped field (a deep layer's reaches far
 * past the edge), at least INSIGHT.paddingCells and at most the image's own side.
 */
export function marginFor(unclipped, height, width) {
  const past = Math.max(-unclipped.y0, -unclipped.x0, unclipped.y1 - (height - 1), unclipped.x1 - (width - 1));
  return Math.min(Math.max(INSIGHT.paddingCells, Math.ceil(past)), Math.max(height, width));
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
    if (unit.note) {
      this.key = null;
      this.missing(section, t("No receptive-field box for {layer}: {note}.", { layer: unit.layer, note: unit.note }));
      return Promise.resolve(null);
    }
    if (!current || !current.input) {
      section.dataset.state = "empty";
      section.textContent = "";
      section.append(el("p", "hint", t("Give the network an image first.")));
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
        if (error.status === 422) {
          this.missing(section, t("No receptive-field box for {layer}: {message}", { layer: unit.layer, message: error.message }));
          return null;
        }
        section.dataset.state = "error";
        section.textContent = "";
        section.append(el("p", "rf-error", t("The receptive field could not be computed: {message}", { message: error.message })));
        return null;
      },
    );
  }

  /** The view does not apply to this unit: say why, in words. */
  missing(section, text) {
    section.textContent = "";
    section.dataset.state = "missing";
    section.append(el("p", "not-applicable", text));
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
    const { box, unclipped } = field;
    const margin = marginFor(unclipped, height, width);
    const geometry = { height, width, margin };
    const clipped = box.y0 !== unclipped.y0 || box.x0 !== unclipped.x0 || box.y1 !== unclipped.y1 || box.x1 !== unclipped.x1;
    const boxH = box.y1 - box.y0 + 1;
    const boxW = box.x1 - box.x0 + 1;

    section.append(el("h3", "", t("What {layer} channel {channel} at (y {y}, x {x}) can see", { layer: field.layer, channel: field.channel, y: field.y, x: field.x })));
    const figures = el("div", "rf-figures");

    // The theoretical field on the input, with the padding around it.
    const theory = el("figure", "rf-theory");
    const input = stage("rf-input-stage");
    paintInput(input.canvas, current.image.values, { height, width, margin });
    input.canvas.setAttribute("role", "img");
    const bounds = { size: field.size, y0: box.y0, y1: box.y1, x0: box.x0, x1: box.x1, rows: boxH, columns: boxW };
    input.canvas.setAttribute("aria-label", t("The input with the {size} by {size} field of this unit outlined: rows {y0} to {y1}, columns {x0} to {x1}.", bounds));
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
          ? t("Theoretical field: {size} × {size} pixels, of which {rows} rows × {columns} columns fall on the image (solid); the dashed part is zero padding.", bounds)
          : t("Theoretical field: {size} × {size} input pixels, rows {y0}–{y1}, columns {x0}–{x1}.", bounds),
      ),
    );

    // The effective field: |d unit / d pixel| for this image.
    const effective = el("figure", "rf-effective");
    const heat = stage("rf-gradient-stage");
    const top = maxOf(field.gradient.values);
    const domain = [0, top || 1];
    paintHeat(heat.canvas, field.gradient.values, { height, width, scale: "sequential", domain, margin });
    heat.canvas.setAttribute("role", "img");
    heat.canvas.setAttribute("aria-label", t("The effective receptive field: how strongly each input pixel moves this unit."));
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
        label: t("|∂ {layer}[{channel}, {uy}, {ux}] / ∂ input(y {y}, x {x})|", { layer: field.layer, channel: field.channel, uy: field.y, ux: field.x, y, x }),
        value: field.gradient.values[y * width + x],
        data: { layer: "input", y, x, tensor: "gradient" },
      };
    });
    const bar = colorbar();
    bar.update("sequential", domain, t("|∂ unit / ∂ pixel|"));
    const summary = effectiveSummary(field.gradient, box, width);
    const counts = { nonzero: summary.nonzero, total: height * width, outside: summary.outside, y: summary.best.y, x: summary.best.x };
    let caption =
      summary.outside === 0
        ? t("Effective field for this image: non-zero on {nonzero} of {total} pixels, all inside the box; strongest at (y {y}, x {x}).", counts)
        : t("Effective field for this image: non-zero on {nonzero} of {total} pixels, {outside} outside the box; strongest at (y {y}, x {x}).", counts);
    if (current.override) caption += t(" Computed with the first conv layer's trained filters, not the kernel lab's.");
    effective.append(heat.holder, bar.element, el("figcaption", "", caption));
    figures.append(theory, effective);

    // The arithmetic, in words and numbers.
    const math = el("div", "rf-math");
    const sizes = { size: field.size, jump: field.jump, start: num(field.start) };
    math.append(
      el(
        "p",
        "",
        tn(
          "size = {size}, jump = {jump}, start = {start}: the unit sees a {size} × {size} square; neighbouring units are {jump} input pixel apart; unit (0, 0) is centred on input pixel {start}.",
          "size = {size}, jump = {jump}, start = {start}: the unit sees a {size} × {size} square; neighbouring units are {jump} input pixels apart; unit (0, 0) is centred on input pixel {start}.",
          field.jump,
          sizes,
        ),
      ),
      el("p", "rf-axis", axisText("rows", field.y, field, unclipped.y0, unclipped.y1, box.y0, box.y1, height)),
      el("p", "rf-axis", axisText("columns", field.x, field, unclipped.x0, unclipped.x1, box.x0, box.x1, width)),
      el("p", "", t("The unit's value for this image: {value}. Pixels outside the box cannot change it at all: their gradient is exactly 0.", { value: formatValue(field.activation) })),
    );
    if (field.steps.length > 1) {
      const steps = stepsTable(field.steps);
      math.append(steps);
      scrollCue(steps, t("The receptive field, layer by layer"));
    }

    section.append(figures, math);
  }
}
