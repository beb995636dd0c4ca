/**
 * A map on screen: a canvas (one canvas pixel per value, scaled up crisply), its colour bar, a caption,
 * and markers drawn over it (the window being stepped through, the original image inside the padding,
 * the chosen output pixel). Clicking a pixel, or moving with the arrow keys while it has focus, chooses it.
 *
 *   const panel = new MapPanel(host, { id: "out-a", title: "Kernel A", onPick: (y, x) => ... });
 *   panel.show(map, { scale: "diverging", domain: [-2, 2], note: "…" });   // map: {shape [C,H,W], values}
 *   panel.mark("window", { y, x, h, w });   panel.mark("window", null);
 */

import { el } from "./dom.js";
import { colorbar, domainFor, paint } from "./heatmap.js";
import { formatShape } from "./format.js";
import { t } from "./i18n.js";

/** The scale and domain for a map: signed values diverge around 0 (blue-white-red), others are grey. */
export function displayFor(min, max) {
  if (min < 0) return { scale: "diverging", domain: domainFor("diverging", min, max) };
  return { scale: "gray", domain: [Math.min(0, min), max > Math.min(0, min) ? max : Math.min(0, min) + 1] };
}

/**
 * Mark on `panel` (the padded input) what rounding did at the bottom and right: the padded rows/columns no
 * window reaches (floor) or the ones the last window overhangs (ceil; the padded input includes them).
 * `arithmetic` is the API's; `shape` the padded input's [C, Hp, Wp].
 */
export function markTails(panel, arithmetic, shape) {
  const [, hp, wp] = shape;
  const { height: h, width: w } = arithmetic;
  const rows = h.overhang || h.remainder;
  const cols = w.overhang || w.remainder;
  panel.mark("tail-rows", rows ? { y: hp - rows, x: 0, h: rows, w: wp, kind: h.overhang ? "overhang" : "dropped" } : null);
  panel.mark("tail-cols", cols ? { y: 0, x: wp - cols, h: hp, w: cols, kind: w.overhang ? "overhang" : "dropped" } : null);
}

/** Paint C = 3 values (C, H, W) as an RGB image, every channel mapped by the same [lo, hi]. */
export function paintRgb(canvas, values, height, width, [lo, hi]) {
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext("2d", { alpha: false });
  const image = ctx.createImageData(width, height);
  const plane = height * width;
  const scale = hi > lo ? 255 / (hi - lo) : 0;
  for (let i = 0; i < plane; i++) {
    for (let c = 0; c < 3; c++) image.data[i * 4 + c] = (values[c * plane + i] - lo) * scale;
    image.data[i * 4 + 3] = 255;
  }
  ctx.putImageData(image, 0, 0);
}

export class MapPanel {
  constructor(host, { id, title, onPick = null, pickLabel = "" }) {
    this.onPick = onPick;
    this.map = null;
    this.picked = null;
    this.markers = new Map();
    host.textContent = "";
    host.classList.add("map-panel");
    host.id = id;
    host.hidden = true;
    this.host = host;

    this.title = el("figcaption", "map-title", title);
    this.frame = el("div", "map-frame");
    this.canvas = el("canvas", "map-canvas crisp");
    this.canvas.width = 1;
    this.canvas.height = 1;
    this.frame.append(this.canvas);
    this.bar = colorbar();
    this.note = el("p", "map-note hint");
    host.append(this.title, this.frame, this.bar.element, this.note);

    if (onPick) {
      this.canvas.tabIndex = 0;
      this.canvas.classList.add("pickable");
      this.canvas.setAttribute("role", "button");
      this.canvas.setAttribute("aria-label", pickLabel || t("{title}: click a pixel (or use the arrow keys) to see how it is computed", { title }));
      this.canvas.addEventListener("click", (e) => this.clicked(e));
      this.canvas.addEventListener("keydown", (e) => this.key(e));
    }
  }

  get height() {
    return this.map ? this.map.shape[1] : 0;
  }

  get width() {
    return this.map ? this.map.shape[2] : 0;
  }

  /** Show `map` ({shape: [C, H, W], values}); `scale` "gray" | "diverging" (C = 1) — C = 3 is painted as RGB. */
  show(map, { scale, domain, note = "", title = null }) {
    this.map = map;
    const [c, h, w] = map.shape;
    if (c === 3) paintRgb(this.canvas, map.values, h, w, domain);
    else paint(this.canvas, map.values, { height: h, width: w, scale, domain });
    const barScale = c === 3 ? "gray" : scale;
    this.bar.update(barScale, domain, c === 3 ? t("each of R, G, B") : "");
    this.host.dataset.scale = barScale;
    this.host.dataset.shape = map.shape.join(",");
    this.canvas.dataset.height = String(h);
    this.canvas.dataset.width = String(w);
    this.frame.style.setProperty("--aspect", `${w} / ${h}`);
    if (title) this.title.textContent = title;
    this.note.textContent = note || `${formatShape(map.shape)}`;
    this.host.hidden = false;
    for (const [name, rect] of this.markers) this.place(name, rect);
  }

  hide() {
    this.host.hidden = true;
    this.map = null;
  }

  /** Draw (or with null remove) the marker `name` over cells y..y+h-1, x..x+w-1. */
  mark(name, rect) {
    if (!rect) {
      const old = this.markers.get(name);
      if (old) old.element.remove();
      this.markers.delete(name);
      return;
    }
    let entry = this.markers.get(name);
    if (!entry) {
      const element = el("div", `marker marker-${name}`);
      element.setAttribute("aria-hidden", "true");
      this.frame.append(element);
      entry = { element };
      this.markers.set(name, entry);
    }
    entry.rect = rect;
    if (rect.kind) entry.element.dataset.kind = rect.kind;
    this.place(name, rect);
  }

  place(name, rect) {
    const entry = this.markers.get(name);
    if (!entry || !this.map) return;
    const { y, x, h, w } = entry.rect || rect;
    const s = entry.element.style;
    s.left = `${(x / this.width) * 100}%`;
    s.top = `${(y / this.height) * 100}%`;
    s.width = `${(w / this.width) * 100}%`;
    s.height = `${(h / this.height) * 100}%`;
  }

  /** Choose output pixel (y, x): mark it and tell the page. */
  pick(y, x) {
    if (!this.map) return;
    const py = Math.min(this.height - 1, Math.max(0, y));
    const px = Math.min(this.width - 1, Math.max(0, x));
    this.picked = [py, px];
    this.canvas.dataset.y = String(py);
    this.canvas.dataset.x = String(px);
    this.onPick(py, px);
  }

  clicked(event) {
    const box = this.canvas.getBoundingClientRect();
    const y = Math.floor(((event.clientY - box.top) / box.height) * this.height);
    const x = Math.floor(((event.clientX - box.left) / box.width) * this.width);
    this.pick(y, x);
  }

  key(event) {
    const moves = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };
    const move = moves[event.key];
    if (!move && event.key !== "Enter" && event.key !== " ") return;
    event.preventDefault();
    const [y, x] = this.picked || [this.height >> 1, this.width >> 1];
    if (move && this.picked) this.pick(y + move[0], x + move[1]);
    else this.pick(y, x);
  }
}
