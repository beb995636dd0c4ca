/**
 * What the conv-layer tab shows of an answer of POST /api/conv-layer: the tensors' shapes, the output
 * stack (one row per image: the image, then one map per filter) and one unit's sum, channel by channel.
 *
 *   const view = new LayerView({ stack, unit, onPick: (n, c, y, x) => ... });
 *   view.showShapes(dl, result.shapes);   view.showStack(result);   view.showUnit(result.unit, result.shapes);
 */

import { decodeArray } from "./api.js";
import { KERNEL_LAB } from "./config.js";
import { CHANNEL_NAMES } from "./conv-layer-presets.js";
import { el } from "./dom.js";
import { formatValue } from "./format.js";
import { colorOf, paint } from "./heatmap.js";
import { t, tn } from "./i18n.js";
import { formatWeight } from "./kernel-math.js";
import { paintRgb } from "./kernel-output.js";

const TIMES = "\u00d7";
const MAP_PX = 132; // on-screen width of one map, CSS px
const fmt = (v) => formatValue(v, KERNEL_LAB.stepDecimals);
const dims = (shape) => shape.join(` ${TIMES} `);

/** A batch of `n` images, each `c` channels deep (one sentence for every singular/plural pair). */
function batchWords(n, c, h, w) {
  const params = { n, c, h, w };
  if (n === 1) return c === 1 ? t("4-D: a batch of {n} image, each {c} channel deep, {h} × {w}", params) : t("4-D: a batch of {n} image, each {c} channels deep, {h} × {w}", params);
  return c === 1 ? t("4-D: a batch of {n} images, each {c} channel deep, {h} × {w}", params) : t("4-D: a batch of {n} images, each {c} channels deep, {h} × {w}", params);
}

/** [the tensor's key in the answer, its name, the shape in words] */
const SHAPES = [
  ["input", () => t("input"), (s) => batchWords(s[0], s[1], s[2], s[3])],
  ["weight", () => t("weights"), (s) => tn("4-D: {n} filter, each {c} × {k} × {k}: as deep as the input", "4-D: {n} filters, each {c} × {k} × {k}: as deep as the input", s[0], { n: s[0], c: s[1], k: s[2] })],
  ["bias", () => t("bias"), (s) => t("1-D: one number per filter ({n})", { n: s[0] })],
  ["output", () => t("output"), (s) => t("4-D: per image a 3-D {c} × {h} × {w} stack, one map per filter", { c: s[1], h: s[2], w: s[3] })],
];

export class LayerView {
  constructor({ stack, unit, onPick }) {
    this.stack = stack;
    this.unit = unit;
    this.onPick = onPick;
    this.picked = null;
    this.canvases = new Map(); // "n,c" -> {canvas, frame, h, w}
    this.inputs = new Map(); // n -> {frame, h, w}
  }

  showShapes(dl, shapes) {
    dl.textContent = "";
    for (const [key, label, words] of SHAPES) {
      const dt = el("dt", "", label());
      const dd = el("dd");
      const code = el("code", "layer-shape", dims(shapes[key]));
      code.dataset.tensor = key;
      dd.append(code, el("span", "hint", ` ${words(shapes[key])}`));
      dl.append(dt, dd);
    }
  }

  /** `name(image name)`: how an image of the batch is called on screen. */
  showStack(result, name = (n) => n) {
    const input = decodeArray(result.input.data, result.input.dtype);
    const output = decodeArray(result.output.data, result.output.dtype);
    const [n, cin, h, w] = result.shapes.input;
    const [, cout, oh, ow] = result.shapes.output;
    const focused = this.stack.contains(document.activeElement) ? document.activeElement.dataset : null;
    this.stack.textContent = "";
    this.canvases.clear();
    this.inputs.clear();
    const domains = Array.from({ length: cout }, (_, c) => {
      let m = 1e-12;
      for (let i = 0; i < n; i++) for (let j = 0; j < oh * ow; j++) m = Math.max(m, Math.abs(output[(i * cout + c) * oh * ow + j]));
      return [-m, m];
    });
    for (let i = 0; i < n; i++) {
      const row = el("div", "layer-row");
      row.dataset.image = String(i);
      const figure = el("figure", "layer-map layer-input");
      const canvas = el("canvas", "crisp");
      const plane = input.subarray(i * cin * h * w, (i + 1) * cin * h * w);
      if (cin === 3) paintRgb(canvas, plane, h, w, [0, 1]);
      else paint(canvas, plane, { height: h, width: w, scale: "gray", domain: [0, 1] });
      canvas.style.width = `${MAP_PX}px`;
      const frame = el("div", "layer-frame");
      frame.append(canvas);
      this.inputs.set(i, { frame, h, w });
      figure.append(frame, el("figcaption", "", `${name(result.images[i].name)}: ${cin} ${TIMES} ${h} ${TIMES} ${w}`));
      row.append(figure, el("span", "layer-arrow", "→"));
      for (let c = 0; c < cout; c++) row.append(this.map(output, i, c, oh, ow, cout, domains[c]));
      this.stack.append(row);
    }
    this.stack.removeAttribute("aria-busy");
    if (focused) this.canvases.get(`${focused.n},${focused.c}`)?.canvas.focus(); // the keyboard stays on its map
    this.stack.dataset.shape = result.shapes.output.join(",");
  }

  map(values, n, c, h, w, cout, domain) {
    const figure = el("figure", "layer-map");
    const frame = el("div", "layer-frame");
    const canvas = el("canvas", "crisp pickable");
    paint(canvas, values, { offset: (n * cout + c) * h * w, height: h, width: w, scale: "diverging", domain });
    canvas.style.width = `${MAP_PX}px`;
    canvas.tabIndex = 0;
    canvas.setAttribute("role", "button");
    canvas.setAttribute("aria-label", t("Image {n}, filter {c}: a {h} × {w} map; click a unit or use the arrow keys to see its sum", { n, c, h, w }));
    Object.assign(canvas.dataset, { n: String(n), c: String(c), height: String(h), width: String(w) });
    canvas.addEventListener("click", (event) => {
      const box = canvas.getBoundingClientRect();
      const y = Math.min(h - 1, Math.floor(((event.clientY - box.top) / box.height) * h));
      const x = Math.min(w - 1, Math.floor(((event.clientX - box.left) / box.width) * w));
      this.onPick(n, c, Math.max(0, y), Math.max(0, x));
    });
    canvas.addEventListener("keydown", (event) => this.key(event, n, c, h, w));
    frame.append(canvas);
    this.canvases.set(`${n},${c}`, { canvas, frame, h, w });
    figure.append(frame, el("figcaption", "", t("filter {c} → map ({n}, {c})", { n, c })));
    return figure;
  }

  key(event, n, c, h, w) {
    const moves = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };
    const move = moves[event.key];
    if (!move && event.key !== "Enter" && event.key !== " ") return;
    event.preventDefault();
    const here = this.picked && this.picked[0] === n && this.picked[1] === c ? this.picked : null;
    const [y, x] = here ? [here[2], here[3]] : [h >> 1, w >> 1];
    const [dy, dx] = move && here ? move : [0, 0];
    this.onPick(n, c, Math.min(h - 1, Math.max(0, y + dy)), Math.min(w - 1, Math.max(0, x + dx)));
  }

  clearUnit() {
    this.picked = null;
    this.unit.textContent = "";
    this.unit.append(el("p", "hint", t("Click a unit of the output stack (or focus a map and press Enter or an arrow key).")));
  }

  /** The marker over the picked unit on its map, and over its patch on the image (clipped to it). */
  mark(u, k) {
    for (const old of this.stack.querySelectorAll(".marker-pixel, .marker-patch")) old.remove();
    const place = (frame, className, rect, h, w) => {
      const marker = el("div", `marker ${className}`);
      marker.setAttribute("aria-hidden", "true");
      const y0 = Math.max(0, rect.y);
      const x0 = Math.max(0, rect.x);
      const y1 = Math.min(h, rect.y + rect.h);
      const x1 = Math.min(w, rect.x + rect.w);
      Object.assign(marker.style, { left: `${(x0 / w) * 100}%`, top: `${(y0 / h) * 100}%`, width: `${((x1 - x0) / w) * 100}%`, height: `${((y1 - y0) / h) * 100}%` });
      frame.append(marker);
    };
    const map = this.canvases.get(`${u.n},${u.c}`);
    if (map) place(map.frame, "marker-pixel", { y: u.y, x: u.x, h: 1, w: 1 }, map.h, map.w);
    const image = this.inputs.get(u.n);
    if (image) place(image.frame, "marker-patch", { y: u.top, x: u.left, h: k, w: k }, image.h, image.w);
  }

  showUnit(u, shapes) {
    this.picked = [u.n, u.c, u.y, u.x];
    const cin = shapes.input[1];
    const k = shapes.weight[2];
    this.mark(u, k);
    const names = CHANNEL_NAMES[cin];
    this.unit.textContent = "";
    Object.assign(this.unit.dataset, { n: String(u.n), c: String(u.c), y: String(u.y), x: String(u.x) });
    const where = { n: u.n, c: u.c, y: u.y, x: u.x, cin, k, top: u.top, left: u.left };
    const text =
      u.top < 0 || u.left < 0
        ? t("Output unit (image {n}, filter {c}, row {y}, column {x}): the {cin} × {k} × {k} patch whose top-left corner is row {top}, column {left} of the image (negative: in the zero padding), times filter {c}'s {cin} × {k} × {k} weights.", where)
        : t("Output unit (image {n}, filter {c}, row {y}, column {x}): the {cin} × {k} × {k} patch whose top-left corner is row {top}, column {left} of the image, times filter {c}'s {cin} × {k} × {k} weights.", where);
    this.unit.append(el("p", "step-where", text));
    const depth = el("div", "step-blocks layer-depth-steps");
    u.patch.forEach((plane, ch) => depth.append(this.channel(names[ch], plane, u.weights[ch], u.products[ch], u.channel_sums[ch])));
    this.unit.append(depth);
    const parts = u.channel_sums.map((s, ch) => `${names[ch]} ${fmt(s)}`).join(" + ");
    const line = el("p", "step-sum-line layer-total");
    const value = el("output", "step-sum", fmt(u.value));
    value.dataset.value = String(u.value);
    line.append(t("Sum over the depth: {parts} = {sum}; plus the bias {bias} = ", { parts, sum: fmt(u.sum), bias: fmt(u.bias) }), value);
    const same = Math.abs(u.value - u.output) <= 1e-4 * Math.max(1, Math.abs(u.output));
    const check = el("p", `step-check${same ? "" : " bad"}`);
    const out = el("output", "step-output", fmt(u.output));
    out.dataset.value = String(u.output);
    const verdict = same ? t("The layer's output (conv2d): {value} ✓ the same: one number from the whole 3-D patch") : t("The layer's output (conv2d): {value} ✗ different");
    const at = verdict.indexOf("{value}");
    check.append(verdict.slice(0, at), out, verdict.slice(at + "{value}".length));
    this.unit.append(line, check);
  }

  channel(name, plane, weights, products, sum) {
    const box = el("div", "step-block");
    box.dataset.channel = name;
    box.append(el("h4", "step-title", t("Channel {channel}: patch × weights", { channel: name })));
    const table = el("table", "step-table");
    table.append(el("caption", "visually-hidden", t("Channel {channel}: each input value, times its weight, equals the product", { channel: name })));
    plane.forEach((row, i) => {
      const tr = table.insertRow();
      row.forEach((v, j) => {
        const td = tr.insertCell();
        td.style.setProperty("--cell-bg", colorOf(Math.min(1, Math.max(0, v)), "gray", [0, 1]));
        td.classList.toggle("dark", v < 0.55);
        td.append(el("span", "step-in", fmt(v)), el("span", "step-w", `${TIMES} ${formatWeight(weights[i][j])}`), el("span", "step-p", `= ${fmt(products[i][j])}`));
      });
    });
    const total = el("p", "step-sum-line", t("Sum of channel {channel}: ", { channel: name }));
    const out = el("output", "step-sum layer-channel-sum", fmt(sum));
    out.dataset.value = String(sum);
    total.append(out);
    box.append(table, total);
    return box;
  }
}
