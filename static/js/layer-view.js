/**
 * One layer of the network on the page: a titled card (name, kind badge, shape, colour bar, a short
 * explanation) holding either a grid of feature maps (spatial layers, one canvas per channel) or a
 * strip / bar chart (vector layers).
 *
 *   const view = createLayerView(modelLayerInfo, { inspect, weights, onError });
 *   row.append(view.element);             // a <section class="layer" id="layer-conv1">
 *   view.setData(decodedLayer);           // from api.activations()
 *   view.paint({ mode: "layer", networkMax: 9.5 });
 *   view.clear();                         // no input: blank maps
 *
 * `modelLayerInfo` is a layer of GET /api/model plus `model` (whose layer it is), `previous` and
 * `previousShape` (the name and output shape of the layer before it), `nextKind` (the kind of the one
 * after it) and optionally `idPrefix` ("layer": the element's id is layer-<name>) and `tag` (the model's
 * name, shown in the header when two models are side by side).
 *
 * `mode` is "channel" (each map its own range), "layer" or "network" (one range for every layer,
 * `networkMax` = the largest |value| anywhere). Conv layers can show each channel's filter beside its
 * map, batchnorm layers their per-channel γ, β, running mean and variance (both from `weights(name)`).
 * `inspect(view, channel, unit)` gets the clicked cell {y, x} (null for the keyboard); the optional
 * `filters(view, on)` hears the filter toggle.
 */

import { SIZES } from "./config.js";
import { el } from "./dom.js";
import { formatShape, formatTick } from "./format.js";
import { cellPx, colorbar, colorOf, domainFor, extent, mosaicCell, mosaicLayout, paint, paintMosaic, scaleFor } from "./heatmap.js";
import { t } from "./i18n.js";
import { explain, geometry } from "./layer-text.js";
import { paddedInputFigure } from "./padded-input.js";
import { attachProbe, gridCell } from "./probe.js";

const BN_PARAMS = [
  ["weight", "γ", t("gamma (scale)")],
  ["bias", "β", t("beta (shift)")],
  ["running_mean", "μ", t("running mean")],
  ["running_var", "σ²", t("running variance")],
];

/** The map cell under a pointer click on `canvas`, or null (a keyboard "click", or outside the map). */
function clickedCell(canvas, event, h, w) {
  if (!event.detail) return null;
  const rect = canvas.getBoundingClientRect();
  const fx = (event.clientX - rect.left) / rect.width;
  const fy = (event.clientY - rect.top) / rect.height;
  if (!(fx >= 0 && fx < 1 && fy >= 0 && fy < 1)) return null;
  return gridCell(fx, fy, h, w);
}

/** Paint a canvas in the page's background colour (a map with no data). */
function blank(canvas) {
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "#eceef2";
  ctx.fillRect(0, 0, canvas.width, canvas.height);
}

/** The layer's values in [lo, hi] mapped by mode: per channel, per layer, or one network-wide range. */
export function modeDomain(scale, ctx, lo, hi) {
  if (ctx.mode === "network") return scale === "diverging" ? [-ctx.networkMax, ctx.networkMax] : [0, ctx.networkMax];
  return domainFor(scale, lo, hi);
}

/** Symmetric domain of weights: per filter in "channel" mode, else per layer. */
function weightDomain(tensor, ctx, channel) {
  const per = tensor.values.length / tensor.shape[0];
  const [lo, hi] = ctx.mode === "channel" ? extent(tensor.values, channel * per, per) : extent(tensor.values);
  return domainFor("diverging", lo, hi);
}

class LayerView {
  constructor(info, hooks) {
    this.info = info;
    this.name = info.name;
    this.kind = info.kind;
    this.hooks = hooks;
    this.layer = null;
    this.weights = null;
    this.weightsPromise = null;
    this.ctx = { mode: "layer", networkMax: 1 };
    this.paints = 0;

    const id = `${info.idPrefix || "layer"}-${info.name}`;
    const card = el("section", `layer layer-${info.kind}`);
    card.id = id;
    card.dataset.layer = info.name;
    card.dataset.kind = info.kind;
    if (info.model) card.dataset.model = info.model;
    card.setAttribute("aria-labelledby", `${id}-title`);
    const head = el("header", "layer-head");
    const title = el("div", "layer-title");
    const h3 = el("h3", "layer-name", info.name);
    h3.id = `${id}-title`;
    this.shapeEl = el("span", "layer-shape", formatShape(info.output_shape));
    title.append(h3, el("span", `badge badge-${info.kind}`, info.kind), this.shapeEl);
    if (info.tag) title.append(el("span", "layer-model", info.tag));
    this.tools = el("div", "layer-tools");
    this.barsEl = el("div", "layer-bars");
    this.bar = colorbar({ caption: t("values") });
    this.barsEl.append(this.bar.element);
    head.append(title, this.tools, this.barsEl);
    const about = el("p", "layer-explain", explain(info));
    const geo = geometry(info);
    if (geo) about.append(" ", el("span", "layer-geometry", geo));
    this.body = el("div", "layer-body");
    card.append(head, about, this.body);
    this.element = card;
  }

  get scale() {
    return scaleFor(this.kind, this.layer ? this.layer.min : 0);
  }

  setData(layer) {
    this.layer = layer;
  }

  /** Forget the data: the card shows no values until the next setData (the pad was cleared). */
  clear() {
    this.layer = null;
    this.element.dataset.empty = "true";
  }

  /** Domain of channel `c` (or of the whole layer) under the current mode. */
  domain(c = null, ctx = this.ctx) {
    const { min, max } = this.layer;
    if (ctx.mode === "channel" && c !== null && this.extents) {
      const [lo, hi] = this.extents[c];
      return modeDomain(this.scale, ctx, lo, hi);
    }
    return modeDomain(this.scale, ctx, min, max);
  }

  /** Toggle (a labelled checkbox in the header) that loads this layer's weights on first use. */
  addWeightsToggle(label, onToggle) {
    const wrap = el("label", "toggle");
    const box = el("input");
    box.type = "checkbox";
    box.dataset.toggle = this.kind === "conv" ? "filters" : "bn-params";
    wrap.append(box, el("span", "", label));
    box.addEventListener("change", async () => {
      if (box.checked) {
        try {
          await this.loadWeights();
        } catch (err) {
          box.checked = false;
          this.hooks.onError(err);
          return;
        }
      }
      onToggle(box.checked);
    });
    this.tools.append(wrap);
    return box;
  }

  /** The layer's weights (fetched once). */
  loadWeights() {
    if (!this.weightsPromise) {
      this.weightsPromise = this.hooks.weights(this.name).then(
        (w) => {
          this.weights = w;
          return w;
        },
        (err) => {
          this.weightsPromise = null;
          throw err;
        },
      );
    }
    return this.weightsPromise;
  }

  markPainted() {
    this.paints += 1;
    this.element.dataset.painted = String(this.paints);
    delete this.element.dataset.empty;
  }
}

/* ---------------------------------------------------------------------------------------------- */

class SpatialView extends LayerView {
  constructor(info, hooks) {
    super(info, hooks);
    const [channels, h, w] = info.output_shape;
    Object.assign(this, { channels, h, w });
    const cell = cellPx(Math.max(h, w));
    this.grid = el("div", "maps");
    this.grid.style.setProperty("--map-w", `${w * cell}px`);
    this.grid.style.setProperty("--map-h", `${h * cell}px`);
    this.tiles = [];
    for (let c = 0; c < channels; c++) this.tiles.push(this.makeTile(c));
    if (info.kind === "conv" && info.previous === "input" && info.normalization && hooks.previousOf) {
      this.padded = paddedInputFigure(info); // what this layer really slides over, and why its maps have a frame
      this.body.append(this.padded.element);
    }
    this.body.append(this.grid);
    this.showFilters = false;
    this.showBn = false;
    if (this.kind === "conv") {
      this.filterBar = colorbar({ caption: t("filter weights") });
      this.filterBar.element.hidden = true;
      this.barsEl.append(this.filterBar.element);
      this.addWeightsToggle(t("Show filters"), (on) => {
        this.showFilters = on;
        this.filterBar.element.hidden = !on;
        this.grid.classList.toggle("with-filters", on);
        this.paintWeights();
        if (this.hooks.filters) this.hooks.filters(this, on);
      });
    }
    if (this.kind === "batchnorm") {
      this.addWeightsToggle(t("Show γ, β, mean, variance"), (on) => {
        this.showBn = on;
        this.grid.classList.toggle("with-bn", on);
        this.paintWeights();
      });
    }
  }

  makeTile(c) {
    const button = el("button", "map-tile");
    button.type = "button";
    button.dataset.channel = String(c);
    const figure = el("span", "map-figures");
    const canvas = el("canvas", "map crisp");
    canvas.width = this.w;
    canvas.height = this.h;
    figure.append(canvas);
    const caption = el("span", "map-caption");
    const index = el("span", "map-index", String(c));
    const range = el("span", "map-range");
    caption.append(index, range);
    const extra = el("span", "map-extra");
    button.append(figure, caption, extra);
    button.addEventListener("click", (event) => this.hooks.inspect(this, c, clickedCell(canvas, event, this.h, this.w)));
    attachProbe(canvas, ({ fx, fy }) => {
      if (!this.layer) return null;
      const { y, x } = gridCell(fx, fy, this.h, this.w);
      return {
        label: t("{layer} · channel {c} · (y {y}, x {x})", { layer: this.name, c, y, x }),
        value: this.layer.values[(c * this.h + y) * this.w + x],
        data: { layer: this.name, channel: c, y, x },
      };
    });
    this.grid.append(button);
    return { button, figure, canvas, range, extra, filter: null };
  }

  clear() {
    super.clear();
    for (const tile of this.tiles) {
      blank(tile.canvas);
      tile.range.textContent = "";
      tile.button.setAttribute("aria-label", t("{layer} channel {c}: no input yet.", { layer: this.name, c: tile.button.dataset.channel }));
    }
  }

  setData(layer) {
    super.setData(layer);
    const per = this.h * this.w;
    this.extents = [];
    for (let c = 0; c < this.channels; c++) this.extents.push(extent(layer.values, c * per, per));
  }

  paint(ctx) {
    this.ctx = ctx;
    if (!this.layer) return;
    const { values } = this.layer;
    const per = this.h * this.w;
    const scale = this.scale;
    for (let c = 0; c < this.channels; c++) {
      const tile = this.tiles[c];
      const domain = this.domain(c);
      paint(tile.canvas, values, { offset: c * per, height: this.h, width: this.w, scale, domain });
      const [lo, hi] = this.extents[c];
      tile.range.textContent = ctx.mode === "channel" ? (scale === "diverging" ? `±${formatTick(domain[1])}` : `${formatTick(lo)}–${formatTick(hi)}`) : "";
      tile.button.setAttribute("aria-label", t("{layer} channel {c}: values from {lo} to {hi}. Enter enlarges it.", { layer: this.name, c, lo: formatTick(lo), hi: formatTick(hi) }));
    }
    if (ctx.mode === "channel") {
      const ends = scale === "diverging" ? ["−max", "max"] : ["min", "max"];
      this.bar.update(scale, scale === "diverging" ? [-1, 1] : [0, 1], t("per map (its range under it)"), ends);
    } else {
      this.bar.update(scale, this.domain(), ctx.mode === "network" ? t("one range for the whole network") : t("values"));
    }
    if (this.padded) this.padded.update(this.hooks.previousOf(this)?.layer);
    this.paintWeights();
    this.markPainted();
  }

  paintWeights() {
    if (!this.weights) return;
    if (this.kind === "conv") this.paintFilters();
    if (this.kind === "batchnorm") this.writeBnParams();
  }

  paintFilters() {
    const { weight, bias } = this.weights.tensors;
    const [, cin, kh, kw] = weight.shape;
    const per = cin * kh * kw;
    for (let c = 0; c < this.channels; c++) {
      const tile = this.tiles[c];
      if (!this.showFilters) {
        if (tile.filter) tile.filter.hidden = true;
        tile.extra.textContent = "";
        continue;
      }
      if (!tile.filter) tile.filter = this.makeFilterCanvas(c, cin, kh, kw);
      tile.filter.hidden = false;
      const domain = weightDomain(weight, this.ctx, c);
      if (cin === 1) paint(tile.filter, weight.values, { offset: c * per, height: kh, width: kw, scale: "diverging", domain });
      else tile.layout = paintMosaic(tile.filter, weight.values, { offset: c * per, count: cin, h: kh, w: kw, columns: Math.ceil(Math.sqrt(cin)), scale: "diverging", domain });
      tile.extra.textContent = t("bias {value}", { value: formatTick(bias.values[c]) });
    }
    if (this.showFilters) {
      if (this.ctx.mode === "channel") this.filterBar.update("diverging", [-1, 1], t("weights, per filter"), ["−max", "max"]);
      else this.filterBar.update("diverging", weightDomain(weight, this.ctx, 0), t("filter weights"));
    }
  }

  makeFilterCanvas(c, cin, kh, kw) {
    const canvas = el("canvas", "filter crisp");
    const layout = mosaicLayout(cin, kh, kw, Math.ceil(Math.sqrt(cin)));
    canvas.width = layout.width;
    canvas.height = layout.height;
    canvas.style.setProperty("--filter-aspect", `${layout.width} / ${layout.height}`);
    this.tiles[c].figure.append(canvas);
    attachProbe(canvas, ({ fx, fy }) => {
      const { weight } = this.weights.tensors;
      const px = Math.floor(fx * layout.width);
      const py = Math.floor(fy * layout.height);
      const at = cin === 1 ? { tile: 0, y: py, x: px } : mosaicCell(layout, px, py);
      if (!at) return null;
      const value = weight.values[((c * cin + at.tile) * kh + at.y) * kw + at.x];
      const params = { layer: this.name, c, source: this.info.previous || "input", tile: at.tile, y: at.y, x: at.x };
      return {
        label:
          cin === 1
            ? t("{layer} filter {c} · (y {y}, x {x})", params)
            : t("{layer} filter {c} · from {source} channel {tile} · (y {y}, x {x})", params),
        value,
        data: { layer: this.name, tensor: "weight", channel: c, y: at.y, x: at.x },
      };
    });
    return canvas;
  }

  writeBnParams() {
    const tensors = this.weights.tensors;
    for (let c = 0; c < this.channels; c++) {
      const tile = this.tiles[c];
      tile.extra.textContent = "";
      if (!this.showBn) continue;
      const list = el("span", "bn-params");
      for (const [key, symbol] of BN_PARAMS) {
        const row = el("span", "bn-param");
        row.append(el("span", "bn-symbol", symbol), el("span", "bn-number", formatTick(tensors[key].values[c])));
        list.append(row);
      }
      tile.extra.append(list);
    }
  }
}

/* ---------------------------------------------------------------------------------------------- */

class VectorView extends LayerView {
  constructor(info, hooks) {
    super(info, hooks);
    this.units = info.output_shape[0];
    this.asBars = this.units <= SIZES.barsUpTo;
    this.holder = el("button", this.asBars ? "vector-bars" : "vector-strip");
    this.holder.type = "button";
    this.holder.dataset.channel = "0";
    this.holder.addEventListener("click", () => this.hooks.inspect(this, null));
    this.body.append(this.holder);
    if (this.asBars) this.makeBars();
    else this.makeStrip();
    if (this.kind === "batchnorm") {
      this.paramBox = el("div", "bn-strips");
      this.paramBox.hidden = true;
      this.body.append(this.paramBox);
      this.addWeightsToggle(t("Show γ, β, mean, variance"), (on) => {
        this.paramBox.hidden = !on;
        if (on) this.paintParamStrips();
      });
    }
  }

  makeStrip() {
    const cols = Math.min(SIZES.vectorColumns, this.units);
    this.cols = cols;
    this.rows = Math.ceil(this.units / cols);
    this.canvas = el("canvas", "strip crisp");
    this.canvas.width = cols;
    this.canvas.height = this.rows;
    this.canvas.style.setProperty("--strip-aspect", `${cols} / ${this.rows}`);
    this.holder.append(this.canvas);
    this.holder.append(el("span", "strip-note", t("{units} units, {cols} per row: unit = row × {cols} + column", { units: this.units, cols })));
    attachProbe(this.canvas, ({ fx, fy }) => this.unitReading(this.layer, this.name, fx, fy));
  }

  unitReading(source, label, fx, fy, tensor) {
    if (!source) return null;
    const { y, x } = gridCell(fx, fy, this.rows, this.cols);
    const unit = y * this.cols + x;
    if (unit >= this.units) return null;
    return { label: t("{label} · unit {unit}", { label, unit }), value: source.values[unit], data: { layer: this.name, unit, tensor } };
  }

  makeBars() {
    this.columns = [];
    const plot = el("span", "bar-plot");
    const labels = el("span", "bar-labels");
    const named = this.classNames();
    const short = named && named.every((c) => c.length <= 2); // digits fit under a bar; "Ankle boot" does not
    for (let i = 0; i < this.units; i++) {
      const col = el("span", "bar-col");
      const bar = el("span", "bar");
      col.append(bar);
      plot.append(col);
      const label = el("span", "bar-label", named && short ? named[i] : String(i));
      if (named) label.title = named[i];
      labels.append(label);
      this.columns.push(bar);
    }
    this.zero = el("span", "bar-zero");
    plot.append(this.zero);
    this.holder.append(plot, labels);
    if (named && !short) this.holder.append(el("span", "bar-key", named.map((c, i) => `${i} ${c}`).join(" · ")));
    attachProbe(plot, ({ fx }) => {
      if (!this.layer) return null;
      const unit = Math.min(this.units - 1, Math.floor(fx * this.units));
      return { label: `${this.name} · ${this.unitName(unit)}`, value: this.layer.values[unit], data: { layer: this.name, unit } };
    });
  }

  /** The class names when this layer's units are the classes (the scores, the probabilities), else null. */
  classNames() {
    const { classes } = this.info;
    const perClass = this.kind === "softmax" || this.info.isOutput;
    return perClass && classes && classes.length === this.units ? classes : null;
  }

  /** A unit in words: "P(Dress)", "score for 7", "unit 12". */
  unitName(unit) {
    const named = this.classNames();
    if (!named) return t("unit {unit}", { unit });
    return this.kind === "softmax" ? `P(${named[unit]})` : t("score for {name}", { name: named[unit] });
  }

  paint(ctx) {
    this.ctx = ctx;
    if (!this.layer) return;
    const scale = this.scale;
    const domain = this.domain();
    if (this.asBars) this.paintBars(scale, domain);
    else paint(this.canvas, this.layer.values, { height: this.rows, width: this.cols, count: this.units, scale, domain });
    const note = ctx.mode === "network" ? t("one range for the whole network") : ctx.mode === "channel" ? t("values (one vector: its own range)") : t("values");
    this.bar.update(scale, domain, note);
    this.holder.setAttribute("aria-label", t("{layer}: {units} values from {lo} to {hi}. Enter enlarges it.", { layer: this.name, units: this.units, lo: formatTick(this.layer.min), hi: formatTick(this.layer.max) }));
    if (this.paramBox && !this.paramBox.hidden) this.paintParamStrips();
    this.markPainted();
  }

  paintBars(scale, domain) {
    const [lo, hi] = domain;
    const span = hi - lo || 1;
    const zero = Math.min(1, Math.max(0, (0 - lo) / span)); // where 0 sits, from the bottom
    this.zero.style.bottom = `${zero * 100}%`;
    const { values } = this.layer;
    for (let i = 0; i < this.units; i++) {
      const v = Math.min(hi, Math.max(lo, values[i]));
      const height = (v - lo) / span;
      const bar = this.columns[i];
      bar.style.bottom = `${Math.min(height, zero) * 100}%`;
      bar.style.height = `${Math.max(Math.abs(height - zero) * 100, 0.5)}%`;
      bar.style.background = colorOf(values[i], scale, domain);
      bar.classList.toggle("bar-top", i === this.layer.argmax);
    }
  }

  clear() {
    super.clear();
    if (this.asBars) for (const bar of this.columns) bar.style.height = "0";
    else blank(this.canvas);
    this.holder.setAttribute("aria-label", t("{layer}: no input yet.", { layer: this.name }));
  }

  setData(layer) {
    super.setData(layer);
    let best = 0;
    for (let i = 1; i < layer.values.length; i++) if (layer.values[i] > layer.values[best]) best = i;
    layer.argmax = best;
  }

  paintParamStrips() {
    if (!this.weights) return;
    if (!this.paramStrips) {
      this.paramStrips = BN_PARAMS.map(([key, symbol, words]) => {
        const row = el("div", "bn-strip");
        const head = el("div", "bn-strip-head");
        head.append(el("span", "bn-symbol", symbol), el("span", "bn-words", words));
        const canvas = el("canvas", "strip crisp");
        canvas.style.setProperty("--strip-aspect", `${this.cols} / ${this.rows}`);
        const bar = colorbar({ caption: words });
        head.append(bar.element);
        row.append(head, canvas);
        this.paramBox.append(row);
        attachProbe(canvas, ({ fx, fy }) => this.unitReading(this.weights.tensors[key], `${this.name} ${symbol}`, fx, fy, key));
        return { key, canvas, bar };
      });
    }
    for (const { key, canvas, bar } of this.paramStrips) {
      const tensor = this.weights.tensors[key];
      const [lo, hi] = extent(tensor.values);
      const scale = lo >= 0 ? "sequential" : "diverging"; // γ and the variance are usually all positive
      const domain = domainFor(scale, lo, hi);
      paint(canvas, tensor.values, { height: this.rows, width: this.cols, count: this.units, scale, domain });
      bar.update(scale, domain);
    }
  }
}

/** The right view for a layer of /api/model: feature maps for (C, H, W), a strip or bars for (N). */
export function createLayerView(info, hooks) {
  return info.output_shape.length === 3 ? new SpatialView(info, hooks) : new VectorView(info, hooks);
}
