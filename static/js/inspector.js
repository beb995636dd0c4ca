/**
 * The enlarged view of one map (or one vector layer) in a modal <dialog>: the map at a large size
 * with a keyboard cursor, its statistics, its numbers when it is small, and for conv / batchnorm
 * layers the channel's filter or γ, β, running mean and variance.
 *
 *   const inspector = new Inspector(document.getElementById("inspector"));
 *   inspector.open(view, channel);     // a view from layer-view.js; channel null for a vector layer
 *   inspector.open(view, channel, { y, x });   // with the cursor on a unit (a click on a map)
 *   inspector.refresh();               // after new data arrived
 *
 * With `new Inspector(dialog, { insight })` (inspector-insight.js) a map's view also shows the receptive
 * field of the unit under the cursor, which follows clicks, Enter and the arrow keys; with `{ slide }`
 * (slide-view.js) a conv or max-pool map shows its window sliding over the layer's input.
 */

import { SIZES } from "./config.js";
import { el } from "./dom.js";
import { formatShape, formatTick, formatValue } from "./format.js";
import { colorbar, colorOf, domainFor, extent, inkOn, mosaicCell, mosaicLayout, paint, paintMosaic } from "./heatmap.js";
import { t } from "./i18n.js";
import { attachProbe, gridCell, hideReadout, showReadout } from "./probe.js";
import { scrollCue } from "./scroll-cue.js";
import { summarize, topK } from "./stats.js";

function statList(entries) {
  const dl = el("dl", "inspector-stats");
  for (const [term, value] of entries) {
    const row = el("div", "inspector-stat");
    row.append(el("dt", "", term), el("dd", "", value));
    dl.append(row);
  }
  return dl;
}

/** A table of numbers, each cell tinted with its colour. */
function numberTable(values, offset, h, w, scale, domain, decimals, caption) {
  const table = el("table", "numbers");
  if (caption) table.append(el("caption", "", caption));
  const body = el("tbody");
  const cells = [];
  for (let y = 0; y < h; y++) {
    const tr = el("tr");
    for (let x = 0; x < w; x++) {
      const v = values[offset + y * w + x];
      const td = el("td", "", formatTick(Number(v.toFixed(decimals))));
      td.title = formatValue(v);
      const bg = colorOf(v, scale, domain);
      td.style.background = bg;
      td.style.color = inkOn(bg);
      tr.append(td);
      cells.push(td);
    }
    body.append(tr);
  }
  table.append(body);
  return { table, cells };
}

export class Inspector {
  /** @param {HTMLDialogElement} dialog */
  constructor(dialog, { insight = null, slide = null } = {}) {
    this.dialog = dialog;
    this.insight = insight;
    this.slide = slide;
    this.view = null;
    this.channel = null;
    this.cursor = { y: 0, x: 0 };
    this.returnFocus = null;
    dialog.addEventListener("click", (e) => {
      if (e.target === dialog) this.close(); // a click on the backdrop
    });
    dialog.addEventListener("close", () => {
      this.view = null;
      if (this.slide) this.slide.stop();
      if (this.returnFocus && this.returnFocus.isConnected) this.returnFocus.focus();
    });
  }

  get isOpen() {
    return this.dialog.open;
  }

  open(view, channel, unit = null) {
    if (!view.layer) return;
    this.view = view;
    this.channel = channel;
    if (!this.isOpen) this.returnFocus = document.activeElement;
    const [h, w] = this.dims();
    this.cursor = unit && unit.y < h && unit.x < w ? { y: unit.y, x: unit.x } : { y: Math.floor(h / 2), x: Math.floor(w / 2) };
    this.render();
    if (!this.isOpen) this.dialog.showModal();
    this.dialog.dataset.layer = view.name;
    this.dialog.dataset.channel = channel === null ? "" : String(channel);
    (this.dialog.querySelector(".zoom-canvas") || this.dialog.querySelector(".inspector-close")).focus();
  }

  close() {
    if (this.isOpen) this.dialog.close();
  }

  /** Re-render with the view's current data (new input, new colour mode). */
  refresh() {
    if (this.isOpen && this.view && this.view.layer) this.render();
  }

  dims() {
    const v = this.view;
    return this.channel === null ? [v.rows || 1, v.cols || v.units] : [v.h, v.w];
  }

  render() {
    const { view, channel } = this;
    const spatial = channel !== null;
    const d = this.dialog;
    d.textContent = "";
    const head = el("div", "inspector-head");
    const title = el("h2", "inspector-title", spatial ? t("{layer} · channel {channel}", { layer: view.name, channel }) : view.name);
    title.id = "inspector-title";
    head.append(title, el("span", `badge badge-${view.kind}`, view.kind), el("span", "layer-shape", spatial ? formatShape([view.h, view.w]) : formatShape([view.units])));
    const nav = el("div", "inspector-nav");
    if (spatial) {
      nav.append(this.navButton(t("← Previous map"), -1), this.navButton(t("Next map →"), 1));
    }
    const close = el("button", "button inspector-close", t("Close"));
    close.type = "button";
    close.addEventListener("click", () => this.close());
    nav.append(close);
    head.append(nav);
    const body = el("div", "inspector-body");
    d.append(head, body);
    if (spatial) this.renderMap(body);
    else this.renderVector(body);
  }

  navButton(text, step) {
    const b = el("button", "button", text);
    b.type = "button";
    b.addEventListener("click", () => {
      const n = this.view.channels;
      this.open(this.view, (this.channel + step + n) % n, this.cursor); // the same unit in the next map
    });
    return b;
  }

  renderMap(body) {
    const { view, channel } = this;
    const { h, w } = view;
    const per = h * w;
    const offset = channel * per;
    const values = view.layer.values;
    const scale = view.scale;
    const domain = view.domain(channel);
    const figure = el("figure", "inspector-map");
    const zoom = el("div", "zoom");
    const canvas = el("canvas", "zoom-canvas crisp");
    canvas.tabIndex = 0;
    canvas.setAttribute("role", "img");
    canvas.setAttribute("aria-label", t("{layer} channel {channel}, {h} by {w}. Arrow keys move the cursor; the readout shows the value.", { layer: view.name, channel, h, w }));
    paint(canvas, values, { offset, height: h, width: w, scale, domain });
    zoom.style.setProperty("--zoom-px", `${SIZES.inspectorPx}px`);
    const cursor = el("span", "zoom-cursor");
    cursor.style.width = `${100 / w}%`;
    cursor.style.height = `${100 / h}%`;
    zoom.append(canvas, cursor);
    const bar = colorbar();
    bar.update(scale, domain, view.ctx.mode === "channel" ? t("this map's own range") : view.ctx.mode === "network" ? t("whole-network range") : t("layer range"));
    figure.append(zoom, bar.element, el("figcaption", "hint", t("Hover, or focus it and use the arrow keys, to read values.")));
    const reading = (y, x) => ({
      label: t("{layer} · channel {channel} · (y {y}, x {x})", { layer: view.name, channel, y, x }),
      value: values[offset + y * w + x],
      data: { layer: view.name, channel, y, x },
    });
    attachProbe(canvas, ({ fx, fy }) => {
      const { y, x } = gridCell(fx, fy, h, w);
      return reading(y, x);
    });

    const side = el("div", "inspector-side");
    const s = summarize(values, offset, per);
    const at = (value, i) => t("{value} at (y {y}, x {x})", { value: formatValue(value), y: Math.floor(i / w), x: i % w });
    side.append(
      statList([
        [t("min"), at(s.min, s.argmin)],
        [t("max"), at(s.max, s.argmax)],
        [t("mean"), formatValue(s.mean)],
        [t("std"), formatValue(s.std)],
        ["> 0", t("{percent}% of {count}", { percent: (s.positive * 100).toFixed(1), count: per })],
        ["= 0", `${(s.zero * 100).toFixed(1)}%`],
      ]),
    );
    let numberCells = null;
    if (per <= SIZES.numbersUpTo) {
      const { table, cells } = numberTable(values, offset, h, w, scale, domain, 2, t("The values (2 decimals; hover for all)"));
      numberCells = cells;
      const scroller = el("div", "numbers-scroll");
      scroller.append(table);
      side.append(scroller);
      scrollCue(scroller, t("The map's values"));
    }
    body.append(figure, side);
    if (this.slide && view.info.kernel_size && (view.kind === "conv" || view.kind === "maxpool")) this.slide.render(body, view, channel);
    if (this.insight) this.insight.render({ body, zoom, view, channel, unit: this.cursor });

    const moveCursor = () => {
      const { y, x } = this.cursor;
      cursor.style.left = `${(x / w) * 100}%`;
      cursor.style.top = `${(y / h) * 100}%`;
      if (numberCells) {
        for (const c of numberCells) c.classList.remove("current");
        numberCells[y * w + x].classList.add("current");
      }
    };
    canvas.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && this.insight) {
        e.preventDefault();
        this.insight.follow(this.cursor, { now: true });
        return;
      }
      const steps = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };
      const step = steps[e.key];
      if (!step) return;
      e.preventDefault();
      this.cursor = { y: Math.min(h - 1, Math.max(0, this.cursor.y + step[0])), x: Math.min(w - 1, Math.max(0, this.cursor.x + step[1])) };
      moveCursor();
      showReadout(reading(this.cursor.y, this.cursor.x));
      if (this.insight) this.insight.follow(this.cursor);
    });
    canvas.addEventListener("click", (e) => {
      const rect = canvas.getBoundingClientRect();
      this.cursor = gridCell((e.clientX - rect.left) / rect.width, (e.clientY - rect.top) / rect.height, h, w);
      moveCursor();
      showReadout(reading(this.cursor.y, this.cursor.x), { x: e.clientX, y: e.clientY }); // a tap reads too
      if (this.insight) this.insight.follow(this.cursor, { now: true });
    });
    canvas.addEventListener("focus", () => {
      canvas.classList.add("keyboard");
      moveCursor();
      showReadout(reading(this.cursor.y, this.cursor.x));
    });
    canvas.addEventListener("blur", () => {
      canvas.classList.remove("keyboard");
      hideReadout();
    });
    moveCursor();

    if (view.kind === "conv" || view.kind === "batchnorm") {
      const box = el("section", "inspector-weights");
      box.append(el("p", "hint", t("Loading the weights…")));
      side.append(box);
      view.loadWeights().then(
        (weights) => {
          if (this.view !== view || this.channel !== channel) return;
          box.textContent = "";
          if (view.kind === "conv") this.renderFilter(box, weights, channel);
          else this.renderBn(box, weights, channel);
        },
        (err) => {
          box.textContent = t("The weights could not be loaded: {message}", { message: err.message });
        },
      );
    }
  }

  renderFilter(box, weights, channel) {
    const { weight, bias } = weights.tensors;
    const [, cin, kh, kw] = weight.shape;
    const per = cin * kh * kw;
    const offset = channel * per;
    const [lo, hi] = extent(weight.values, offset, per);
    const domain = domainFor("diverging", lo, hi);
    box.append(el("h3", "", t("Filter {channel}", { channel })));
    const source = this.view.info.previous || "input";
    const biasText = formatValue(bias.values[channel]);
    box.append(
      el(
        "p",
        "hint",
        cin === 1
          ? t("These {kh} × {kw} weights are multiplied with every {kh} × {kw} patch of the {source} and summed, plus the bias {bias}: the map is large where the patch looks like the filter.", { kh, kw, source, bias: biasText })
          : t("One {kh} × {kw} kernel for each of the {cin} {source} maps (in order, left to right); the products over all of them are summed, plus the bias {bias}.", { kh, kw, cin, source, bias: biasText }),
      ),
    );
    const canvas = el("canvas", "filter-large crisp");
    const layout = mosaicLayout(cin, kh, kw, Math.ceil(Math.sqrt(cin)));
    if (cin === 1) paint(canvas, weight.values, { offset, height: kh, width: kw, scale: "diverging", domain });
    else paintMosaic(canvas, weight.values, { offset, count: cin, h: kh, w: kw, columns: layout.columns, scale: "diverging", domain });
    canvas.style.setProperty("--filter-aspect", `${canvas.width} / ${canvas.height}`);
    attachProbe(canvas, ({ fx, fy }) => {
      const px = Math.floor(fx * canvas.width);
      const py = Math.floor(fy * canvas.height);
      const at = cin === 1 ? { tile: 0, y: py, x: px } : mosaicCell(layout, px, py);
      if (!at) return null;
      const where = { layer: this.view.name, channel, source, tile: at.tile, y: at.y, x: at.x };
      return {
        label: cin === 1 ? t("{layer} filter {channel} · (y {y}, x {x})", where) : t("{layer} filter {channel} · from {source} channel {tile} · (y {y}, x {x})", where),
        value: weight.values[offset + (at.tile * kh + at.y) * kw + at.x],
        data: { layer: this.view.name, tensor: "weight", channel, y: at.y, x: at.x },
      };
    });
    const bar = colorbar();
    bar.update("diverging", domain, t("this filter's weights"));
    box.append(canvas, bar.element);
    if (cin === 1) box.append(numberTable(weight.values, offset, kh, kw, "diverging", domain, 3, t("The weights")).table);
  }

  renderBn(box, weights, channel) {
    const tensors = weights.tensors;
    const eps = weights.eps ?? 0;
    const g = tensors.weight.values[channel];
    const b = tensors.bias.values[channel];
    const mu = tensors.running_mean.values[channel];
    const v = tensors.running_var.values[channel];
    const a = g / Math.sqrt(v + eps);
    box.append(el("h3", "", t("Channel {channel}'s normalisation", { channel })));
    box.append(
      statList([
        [t("γ (gamma)"), formatValue(g)],
        [t("β (beta)"), formatValue(b)],
        [t("running mean μ"), formatValue(mu)],
        [t("running variance σ²"), formatValue(v)],
        ["ε", String(eps)],
      ]),
    );
    const shift = { a: formatTick(a), sign: b - a * mu < 0 ? "−" : "+", b: formatTick(Math.abs(b - a * mu)) };
    box.append(el("p", "hint", t("out = γ · (in − μ) / √(σ² + ε) + β, which for this channel is out = {a} · in {sign} {b}.", shift)));
  }

  renderVector(body) {
    const { view } = this;
    const values = view.layer.values;
    const n = view.units;
    const scale = view.scale;
    const domain = view.domain();
    const figure = el("figure", "inspector-map");
    if (!view.asBars) {
      const canvas = el("canvas", "zoom-strip crisp");
      paint(canvas, values, { height: view.rows, width: view.cols, count: n, scale, domain });
      canvas.style.setProperty("--strip-aspect", `${view.cols} / ${view.rows}`);
      attachProbe(canvas, ({ fx, fy }) => view.unitReading(view.layer, view.name, fx, fy));
      figure.append(canvas);
    }
    const bar = colorbar();
    bar.update(scale, domain, t("values"));
    figure.append(bar.element);
    const side = el("div", "inspector-side");
    const s = summarize(values);
    side.append(
      statList([
        [t("min"), t("{value} (unit {unit})", { value: formatValue(s.min), unit: s.argmin })],
        [t("max"), t("{value} (unit {unit})", { value: formatValue(s.max), unit: s.argmax })],
        [t("mean"), formatValue(s.mean)],
        [t("std"), formatValue(s.std)],
        ["> 0", t("{percent}% of {count}", { percent: (s.positive * 100).toFixed(1), count: n })],
      ]),
    );
    const list = el("table", "unit-table");
    const shown = n <= SIZES.numbersUpTo ? Array.from({ length: n }, (_, i) => i) : topK(values, 10);
    list.append(el("caption", "", n <= SIZES.numbersUpTo ? t("Every value") : t("The 10 largest values")));
    const headRow = el("tr");
    const named = view.classNames ? view.classNames() : null;
    headRow.append(el("th", "", named ? t("class") : t("unit")), el("th", "", t("value")));

    list.append(headRow);
    for (const i of shown) {
      const tr = el("tr");
      const swatch = el("span", "swatch");
      swatch.style.background = colorOf(values[i], scale, domain);
      const td = el("td", "", formatValue(values[i]));
      td.prepend(swatch);
      tr.append(el("td", "", named ? `${i} ${named[i]}` : String(i)), td);
      list.append(tr);
    }
    side.append(list);
    body.append(figure, side);
    if (view.asBars) body.classList.add("vector-only");
  }
}
