/**
 * "Watch the window slide", in the enlarged view of a conv or max-pool map (inspector.js): the layer's
 * window moves over its input, padded as the layer pads it (after the input layer: the input normalised,
 * as the network's first step does), one output position at a time. At each position the numbers under
 * the window, the filter, their products and the sum (plus the bias) are written out, and the output map
 * fills in pixel by pixel. A conv layer with several input channels (conv2) shows every channel's window,
 * its products and its sum; the channel sums plus the bias are the unit's value.
 *
 *   const slide = new SlidePanel({ previousOf: (view) => previousView });
 *   slide.render(host, view, channel);   // appends a <section class="slide-panel"> to host
 *   slide.stop();                        // pause (the inspector closed or moved on)
 *
 * Kernel size, stride and padding come from the layer (GET /api/model), the weights from
 * GET /api/layers/{name}/weights, the maps from the activations on screen. Play, pause, step, speed;
 * keyboard: Space plays or pauses, the arrow keys step, Home and End go to the first and last position.
 * Under prefers-reduced-motion it does not start playing by itself. The section's data-step, -y, -x,
 * -total (the sum it shows) and -expected (the map's value from the server) follow every step.
 */

import { el } from "./dom.js";
import { formatTick, formatValue } from "./format.js";
import { colorOf, domainFor, extent, inkOn, paint, scaleFor } from "./heatmap.js";
import { t, tn } from "./i18n.js";
import { convAt, layerInput, outputSide, padMaps, poolAt } from "./window-math.js";

/** Positions a second the speed slider offers. */
const SPEEDS = [1, 2, 4, 8, 16, 32, 64, 128];
const START_SPEED = 3; // 8 a second
const STAGE_PX = 168; // side of the input and output pictures, CSS px
const CHANNEL_PX = 72; // side of one input channel of a multi-channel conv

const reducedMotion = () => window.matchMedia("(prefers-reduced-motion: reduce)").matches;
const short = (v) => (Number.isFinite(v) ? formatTick(Number(v.toFixed(2))) : v > 0 ? "∞" : "−∞");

/** A k x k table of numbers, each cell tinted; returns {table, set(values, scale, domain, mark)}. */
function numberGrid(k, caption) {
  const table = el("table", "slide-grid");
  table.append(el("caption", "", caption));
  const body = el("tbody");
  const cells = [];
  for (let i = 0; i < k; i++) {
    const tr = el("tr");
    for (let j = 0; j < k; j++) {
      const td = el("td");
      tr.append(td);
      cells.push(td);
    }
    body.append(tr);
  }
  table.append(body);
  return {
    table,
    set(values, scale, domain, mark = -1) {
      cells.forEach((td, i) => {
        const v = values[i];
        td.textContent = short(v);
        td.title = formatValue(v);
        const bg = Number.isFinite(v) ? colorOf(v, scale, domain) : "rgb(236, 238, 242)";
        td.style.background = bg;
        td.style.color = inkOn(bg);
        td.classList.toggle("mark", i === mark);
      });
    },
  };
}

/** A canvas for a map, with a frame marking the window; returns {figure, canvas, frame}. */
function stage(className, px, caption) {
  const figure = el("figure", `slide-stage ${className}`);
  figure.style.setProperty("--slide-px", `${px}px`);
  const holder = el("div", "slide-zoom");
  const canvas = el("canvas", "slide-canvas crisp");
  const frame = el("span", "slide-window");
  frame.setAttribute("aria-hidden", "true");
  holder.append(canvas, frame);
  figure.append(holder);
  if (caption) figure.append(el("figcaption", "", caption));
  return { figure, canvas, frame };
}

/** Put a window frame over rows [top, top + size) and columns [left, left + size) of an h x w picture. */
function place(frame, top, left, size, h, w) {
  frame.style.top = `${(top / h) * 100}%`;
  frame.style.left = `${(left / w) * 100}%`;
  frame.style.width = `${(size / w) * 100}%`;
  frame.style.height = `${(size / h) * 100}%`;
}

function button(text, label) {
  const b = el("button", "button", text);
  b.type = "button";
  if (label) b.setAttribute("aria-label", label);
  return b;
}

export class SlidePanel {
  constructor({ previousOf }) {
    this.previousOf = previousOf;
    this.run = null; // the panel on screen: {section, timer, ...}
  }

  /** Pause the panel on screen (if any). */
  stop() {
    if (this.run) this.run.pause();
  }

  /** Add the panel for `view` (a conv or max-pool layer-view) channel `channel` to `host`. */
  render(host, view, channel) {
    this.stop();
    this.run = null;
    const section = el("section", "slide-panel");
    Object.assign(section.dataset, { layer: view.name, channel: String(channel), state: "loading" });
    section.append(el("h3", "", t("Watch the window slide")));
    host.append(section);
    const previous = this.previousOf(view);
    if (!previous || !previous.layer) {
      section.append(el("p", "hint", t("The layer before this one has no values yet: give the network an image first.")));
      section.dataset.state = "empty";
      return;
    }
    const ready = view.kind === "conv" ? view.loadWeights() : Promise.resolve(null);
    ready.then(
      (weights) => {
        if (!section.isConnected) return;
        this.run = new SlideRun(section, view, channel, previous, weights);
      },
      (error) => {
        section.append(el("p", "hint", t("The weights could not be loaded: {message}", { message: error.message })));
        section.dataset.state = "error";
      },
    );
  }
}

/** One panel: the geometry, the pictures, the controls and the position. */
class SlideRun {
  constructor(section, view, channel, previous, weights) {
    const { kernel_size: k, stride: s, padding: p } = view.info;
    this.section = section;
    this.view = view;
    this.channel = channel;
    this.k = k;
    this.s = s;
    this.p = p;
    this.conv = view.kind === "conv";
    this.weights = weights ? weights.tensors : null;
    const source = layerInput(previous.layer, view.info.normalization);
    this.source = source;
    this.padded = padMaps(source, p, this.conv ? 0 : -Infinity); // max pooling never picks its padding
    this.h = view.h;
    this.w = view.w;
    if (outputSide(source.h, k, s, p) !== this.h || outputSide(source.w, k, s, p) !== this.w) {
      section.append(el("p", "hint", t("The layer's geometry does not match its input's size: nothing to slide.")));
      section.dataset.state = "error";
      return;
    }
    this.cin = this.conv ? this.weights.weight.shape[1] : 1;
    this.multi = this.conv && this.cin > 1;
    this.inputName = previous.name;
    this.inputKind = previous.kind;
    this.step = 0;
    this.playing = false;
    this.speed = START_SPEED;
    this.timer = 0;
    this.last = 0;
    this.build();
    this.show();
    section.dataset.state = "ready";
    if (!reducedMotion()) this.play();
  }

  get count() {
    return this.h * this.w;
  }

  /* ---- building ---------------------------------------------------------------------------- */

  build() {
    const { section, view, k, s, p } = this;
    const size = `${this.padded.h} × ${this.padded.w}`;
    const said = { k, s, p, size, kk: k * k, cin: this.cin, input: this.inputName, filter: this.channel };
    let moves;
    if (this.source.normalized) {
      const norm = { ...said, mean: formatTick(view.info.normalization.mean[0]), std: formatTick(view.info.normalization.std[0]) };
      moves = tn(
        "The {k} × {k} window moves with stride {s} over the input, normalised (each pixel minus {mean}, divided by {std}) and padded with {p} zero on every side ({size}).",
        "The {k} × {k} window moves with stride {s} over the input, normalised (each pixel minus {mean}, divided by {std}) and padded with {p} zeros on every side ({size}).",
        p,
        norm,
      );
    } else if (p) {
      moves = t("The {k} × {k} window moves with stride {s} over {input}, padded with {p} on every side ({size}).", said);
    } else {
      moves = t("The {k} × {k} window moves with stride {s} over {input} ({size}).", said);
    }
    const what = this.conv
      ? this.multi
        ? t("At each position the {k} × {k} window covers the same place in all {cin} channels of {input}; each channel's {kk} values are multiplied by that channel's {k} × {k} kernel of filter {filter} and summed, and the {cin} channel sums plus the bias are one pixel of the map.", said)
        : t("At each position the {kk} values under the window are multiplied by filter {filter}'s weights and summed; plus the bias, that is one pixel of the map.", said)
      : t("At each position the largest of the {kk} values under the window is one pixel of the map.", said);
    section.append(el("p", "hint slide-about", t("{moves} {what}", { moves, what })));
    section.append(this.controls());
    const body = el("div", this.multi ? "slide-body slide-multi" : "slide-body");
    section.append(body);

    const [lo, hi] = extent(this.padded.values.filter(Number.isFinite)); // max pooling pads with -Infinity
    const scale = scaleFor(this.inputKind, lo); // the normalised input goes below 0: diverging
    this.inputScale = scale;
    this.inputDomain = domainFor(scale, lo, hi);
    this.inputs = [];
    if (this.multi) {
      const grid = el("div", "slide-channels");
      for (let c = 0; c < this.cin; c++) {
        const st = stage("slide-channel", CHANNEL_PX, "");
        st.figure.dataset.channel = String(c);
        const products = el("canvas", "slide-products crisp");
        products.width = k;
        products.height = k;
        products.setAttribute("aria-hidden", "true");
        const sum = el("span", "slide-sum");
        const caption = el("figcaption");
        caption.append(el("span", "slide-channel-name", `${this.inputName} ${c}`), sum);
        st.figure.querySelector(".slide-zoom").after(products);
        st.figure.append(caption);
        st.figure.tabIndex = 0;
        st.figure.setAttribute("role", "button");
        st.figure.setAttribute("aria-label", t("Show the numbers of {layer} channel {channel}", { layer: this.inputName, channel: c }));
        const pick = () => {
          this.detail = c;
          this.show();
        };
        st.figure.addEventListener("click", pick);
        st.figure.addEventListener("keydown", (e) => {
          if (e.key === "Enter" || e.key === " ") {
            e.preventDefault();
            pick();
          }
        });
        paint(st.canvas, this.padded.values, { offset: c * this.padded.h * this.padded.w, height: this.padded.h, width: this.padded.w, scale, domain: this.inputDomain });
        this.inputs.push({ ...st, products, sum });
        grid.append(st.figure);
      }
      this.detail = 0;
      body.append(grid);
    } else {
      const c = this.conv ? 0 : this.channel;
      const over = { layer: view.name, input: this.inputName, channel: c, size };
      const caption = this.source.normalized
        ? t("What {layer} slides over: {size}", over)
        : p
          ? t("{input} channel {channel}, padded: {size}", over)
          : t("{input} channel {channel}: {size}", over);
      const st = stage("slide-input", STAGE_PX, caption);
      paint(st.canvas, this.padded.values, { offset: c * this.padded.h * this.padded.w, height: this.padded.h, width: this.padded.w, scale, domain: this.inputDomain });
      this.inputs.push(st);
      body.append(st.figure);
    }

    const math = el("div", "slide-math");
    this.grids = {
      window: numberGrid(k, t("under the window")),
      weights: this.conv ? numberGrid(k, t("× the filter")) : null,
      products: this.conv ? numberGrid(k, t("= the products")) : null,
    };
    this.detailTitle = el("p", "slide-detail-title");
    const grids = el("div", "slide-grids");
    for (const g of Object.values(this.grids)) if (g) grids.append(g.table);
    this.sumLine = el("p", "slide-sum-line");
    this.sumLine.setAttribute("aria-live", "polite");
    this.check = el("p", "hint slide-check");
    math.append(this.detailTitle, grids, this.sumLine, this.check);

    const out = stage("slide-output", STAGE_PX, t("{layer} channel {channel}, filled pixel by pixel ({h} × {w})", { layer: view.name, channel: this.channel, h: this.h, w: this.w }));
    out.canvas.addEventListener("click", (event) => {
      const rect = out.canvas.getBoundingClientRect();
      const y = Math.min(this.h - 1, Math.floor(((event.clientY - rect.top) / rect.height) * this.h));
      const x = Math.min(this.w - 1, Math.floor(((event.clientX - rect.left) / rect.width) * this.w));
      this.pause();
      this.go(y * this.w + x);
    });
    this.output = out;
    if (this.multi) {
      const row = el("div", "slide-body");
      row.append(out.figure, math);
      body.append(row);
    } else {
      body.append(out.figure, math);
    }
  }

  controls() {
    const bar = el("div", "slide-controls");
    this.playButton = button(t("▶ Play"));
    this.playButton.addEventListener("click", () => (this.playing ? this.pause() : this.play()));
    const back = button(t("◀ Step"), t("Step back one position"));
    back.addEventListener("click", () => {
      this.pause();
      this.go(this.step - 1);
    });
    const forward = button(t("Step ▶"), t("Step forward one position"));
    forward.addEventListener("click", () => {
      this.pause();
      this.go(this.step + 1);
    });
    const end = button(t("Fill the rest"), t("Go to the last position"));
    end.addEventListener("click", () => {
      this.pause();
      this.go(this.count - 1);
    });
    const speedLabel = el("label", "slide-speed", t("Speed "));
    const speed = el("input");
    speed.type = "range";
    speed.min = "0";
    speed.max = String(SPEEDS.length - 1);
    speed.step = "1";
    speed.value = String(this.speed);
    const perSecond = () => t("{n} a second", { n: SPEEDS[this.speed] });
    const positions = () => t("{n} positions a second", { n: SPEEDS[this.speed] });
    const speedText = el("output", "", perSecond());
    speed.addEventListener("input", () => {
      this.speed = Number(speed.value);
      speedText.textContent = perSecond();
      speed.setAttribute("aria-valuetext", positions());
    });
    speed.setAttribute("aria-valuetext", positions());
    speedLabel.append(speed, speedText);
    this.where = el("span", "slide-where");
    bar.append(this.playButton, back, forward, end, speedLabel, this.where);
    bar.addEventListener("keydown", (e) => this.key(e));
    this.section.tabIndex = -1;
    this.section.addEventListener("keydown", (e) => {
      if (e.target === this.section) this.key(e);
    });
    return bar;
  }

  key(event) {
    const moves = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: this.w, ArrowUp: -this.w };
    if (event.target instanceof HTMLInputElement) return; // the speed slider keeps its arrow keys
    if (event.key === " " && !(event.target instanceof HTMLButtonElement)) {
      event.preventDefault();
      if (this.playing) this.pause();
      else this.play();
    } else if (moves[event.key] !== undefined) {
      event.preventDefault();
      this.pause();
      this.go(this.step + moves[event.key]);
    } else if (event.key === "Home" || event.key === "End") {
      event.preventDefault();
      this.pause();
      this.go(event.key === "Home" ? 0 : this.count - 1);
    }
  }

  /* ---- playing ----------------------------------------------------------------------------- */

  play() {
    if (this.step >= this.count - 1) this.step = -1; // from the start again
    this.playing = true;
    this.playButton.textContent = t("Pause");
    this.section.dataset.playing = "true";
    this.last = performance.now();
    const tick = (now) => {
      if (!this.playing) return;
      if (!this.section.isConnected) {
        this.pause();
        return;
      }
      const every = 1000 / SPEEDS[this.speed];
      if (now - this.last >= every) {
        const steps = Math.min(this.count, Math.floor((now - this.last) / every));
        this.last += steps * every;
        this.go(this.step + steps);
        if (this.step >= this.count - 1) {
          this.pause();
          return;
        }
      }
      this.timer = requestAnimationFrame(tick);
    };
    if (this.step < 0) this.go(0);
    this.timer = requestAnimationFrame(tick);
  }

  pause() {
    this.playing = false;
    cancelAnimationFrame(this.timer);
    if (this.playButton) this.playButton.textContent = t("▶ Play");
    delete this.section.dataset.playing;
  }

  go(step) {
    this.step = Math.max(0, Math.min(this.count - 1, step));
    this.show();
  }

  /* ---- one position ------------------------------------------------------------------------ */

  show() {
    const { k, s, step, h, w, view, channel } = this;
    const y = Math.floor(step / w);
    const x = step % w;
    const pad = this.padded;
    for (const input of this.inputs) place(input.frame, y * s, x * s, k, pad.h, pad.w);
    place(this.output.frame, y, x, 1, h, w);
    const scale = view.scale;
    const domain = view.domain(channel);
    paint(this.output.canvas, view.layer.values, { offset: channel * h * w, height: h, width: w, count: step + 1, scale, domain });
    const expected = view.layer.values[(channel * h + y) * w + x];
    let total;
    if (this.conv) total = this.showConv(y, x);
    else total = this.showPool(y, x);
    this.where.textContent = t("(y {y}, x {x}): position {position} of {count}", { y, x, position: step + 1, count: this.count });
    const check = { layer: view.name, value: formatValue(expected) };
    this.check.textContent =
      Math.abs(total - expected) <= 1e-4 * Math.max(1, Math.abs(expected))
        ? t("The {layer} map here, as the server computed it: {value} (the same, up to rounding).", check)
        : t("The {layer} map here, as the server computed it: {value}.", check);
    Object.assign(this.section.dataset, { step: String(step), y: String(y), x: String(x), total: String(total), expected: String(expected) });
  }

  showConv(y, x) {
    const { k, s, channel } = this;
    const at = convAt(this.padded, this.weights, channel, y, x, k, s);
    const c = this.multi ? this.detail : 0;
    const per = k * k;
    const filter = this.weights.weight.values.subarray((channel * this.cin + c) * per, (channel * this.cin + c + 1) * per);
    const wDomain = domainFor("diverging", ...extent(this.weights.weight.values, channel * this.cin * per, this.cin * per));
    const products = at.products[c];
    const pDomain = domainFor("diverging", ...extent(products));
    this.grids.window.set(at.windows[c], this.inputScale, this.inputDomain);
    this.grids.weights.set(filter, "diverging", wDomain);
    this.grids.products.set(products, "diverging", pDomain);
    const bias = t("+ bias {value}", { value: formatValue(at.bias, 4) });
    if (this.multi) {
      this.detailTitle.textContent = t("{layer} channel {channel} (pick another channel above):", { layer: this.inputName, channel: c });
      let all = [0, 0];
      at.products.forEach((prod) => {
        const [lo, hi] = extent(prod);
        all = [Math.min(all[0], lo), Math.max(all[1], hi)];
      });
      const allDomain = domainFor("diverging", ...all);
      this.inputs.forEach((input, i) => {
        paint(input.products, at.products[i], { height: k, width: k, scale: "diverging", domain: allDomain });
        input.sum.textContent = `Σ ${formatTick(at.sums[i])}`;
        input.figure.classList.toggle("picked", i === c);
        input.figure.dataset.sum = String(at.sums[i]);
      });
      const sumOfSums = at.total - at.bias;
      const sums = { channel: c, kk: k * k, sum: formatValue(at.sums[c], 4), cin: this.cin, all: formatValue(sumOfSums, 4), bias, total: formatValue(at.total, 4) };
      this.sumLine.textContent = t("Channel {channel}: Σ of its {kk} products = {sum}. All {cin} channel sums: {all} {bias} = {total}", sums);
    } else {
      this.detailTitle.textContent = "";
      this.sumLine.textContent = t("Σ of the {kk} products = {sum} {bias} = {total}", { kk: k * k, sum: formatValue(at.sums[0], 4), bias, total: formatValue(at.total, 4) });
    }
    return at.total;
  }

  showPool(y, x) {
    const { k, s, channel } = this;
    const at = poolAt(this.padded, channel, y, x, k, s);
    this.grids.window.set(at.window, this.inputScale, this.inputDomain, at.argmax);
    this.detailTitle.textContent = "";
    this.sumLine.textContent = t("The largest of the {kk} values (outlined): {value}", { kk: k * k, value: formatValue(at.max, 4) });

    return at.max;
  }
}
