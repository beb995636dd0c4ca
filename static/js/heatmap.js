/**
 * Paint 2-D arrays onto canvases with a colour scale, and draw colour bars.
 *
 *   import { paint, domainFor, colorbar } from "./heatmap.js";
 *   paint(canvas, values, { offset: c * h * w, height: h, width: w, scale: "diverging", domain: [-2, 2] });
 *   const bar = colorbar();  host.append(bar.element);  bar.update("diverging", [-2, 2]);
 *
 * A canvas gets one canvas pixel per value (width x height); CSS scales it up and the stylesheet's
 * `image-rendering: pixelated` keeps every cell a crisp square (no smoothing).
 */

import { KIND_SCALE, LUT_SIZE, SCALES, SIZES } from "./config.js";
import { el } from "./dom.js";
import { formatTick } from "./format.js";
import { t } from "./i18n.js";

const luts = new Map();

function parseHex(hex) {
  const n = Number.parseInt(hex.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

/** The colour at t in [0, 1] of a list of [position, "#rrggbb"] stops, as [r, g, b]. */
export function interpolate(stops, t) {
  const x = Math.min(1, Math.max(0, t));
  let i = 1;
  while (i < stops.length - 1 && stops[i][0] < x) i++;
  const [p0, c0] = stops[i - 1];
  const [p1, c1] = stops[i];
  const f = p1 === p0 ? 0 : (x - p0) / (p1 - p0);
  const a = parseHex(c0);
  const b = parseHex(c1);
  return a.map((v, k) => Math.round(v + (b[k] - v) * f));
}

/** A scale's look-up table: LUT_SIZE RGBA entries (Uint8ClampedArray of LUT_SIZE * 4). */
export function lut(scale) {
  let table = luts.get(scale);
  if (!table) {
    const spec = SCALES[scale];
    if (!spec) throw new Error(`unknown colour scale ${scale}`);
    table = new Uint8ClampedArray(LUT_SIZE * 4);
    for (let i = 0; i < LUT_SIZE; i++) {
      const [r, g, b] = interpolate(spec.stops, i / (LUT_SIZE - 1));
      table.set([r, g, b, 255], i * 4);
    }
    luts.set(scale, table);
  }
  return table;
}

/** CSS colour of `value` under `scale` and `domain`. */
export function colorOf(value, scale, domain) {
  const table = lut(scale);
  const i = lutIndex(value, domain[0], domain[1]) * 4;
  return `rgb(${table[i]}, ${table[i + 1]}, ${table[i + 2]})`;
}

function lutIndex(value, lo, hi) {
  const span = hi - lo;
  // A flat domain (a dead map): the middle for a symmetric one, the bottom otherwise.
  const t = span > 0 ? (value - lo) / span : lo < 0 ? 0.5 : 0;
  const i = Math.round(t * (LUT_SIZE - 1));
  return i < 0 ? 0 : i >= LUT_SIZE ? LUT_SIZE - 1 : i;
}

/**
 * The scale for a layer kind: signed kinds diverge around zero, the others are sequential, unless
 * their values do go below zero (then diverging is the honest choice).
 */
export function scaleFor(kind, min = 0) {
  const scale = KIND_SCALE[kind] || "diverging";
  return scale === "sequential" && min < 0 ? "diverging" : scale;
}

/** Domain for values in [lo, hi] under `scale`: symmetric around 0 (diverging) or [min(0, lo), hi]. */
export function domainFor(scale, lo, hi) {
  if (scale === "diverging") {
    const m = Math.max(Math.abs(lo), Math.abs(hi));
    return [-m, m];
  }
  return [Math.min(0, lo), hi];
}

/** [min, max] of values[offset .. offset + count). */
export function extent(values, offset = 0, count = values.length - offset) {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = offset, end = offset + count; i < end; i++) {
    const v = values[i];
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return count > 0 ? [lo, hi] : [0, 0];
}

const images = new WeakMap();

function imageFor(ctx, width, height) {
  let image = images.get(ctx);
  if (!image || image.width !== width || image.height !== height) {
    image = ctx.createImageData(width, height);
    images.set(ctx, image);
  }
  return image;
}

function context(canvas, width, height) {
  if (canvas.width !== width) canvas.width = width;
  if (canvas.height !== height) canvas.height = height;
  const ctx = canvas.getContext("2d", { alpha: false });
  ctx.imageSmoothingEnabled = false;
  return ctx;
}

/**
 * Paint `height` x `width` values (C order, starting at `offset`) onto `canvas`, one canvas pixel
 * per value. Cells past the end of `values` (a wrapped strip's last row) get `fill`.
 * @param {HTMLCanvasElement} canvas
 * @param {ArrayLike<number>} values
 * @param {{offset?: number, height: number, width: number, count?: number, scale: string,
 *          domain: [number, number], fill?: [number, number, number]}} options
 */
export function paint(canvas, values, { offset = 0, height, width, count = height * width, scale, domain, fill = [236, 238, 242] }) {
  const ctx = context(canvas, width, height);
  const image = imageFor(ctx, width, height);
  const px = image.data;
  const table = lut(scale);
  const [lo, hi] = domain;
  for (let i = 0; i < width * height; i++) {
    const o = i * 4;
    if (i < count) {
      const k = lutIndex(values[offset + i], lo, hi) * 4;
      px[o] = table[k];
      px[o + 1] = table[k + 1];
      px[o + 2] = table[k + 2];
    } else {
      px[o] = fill[0];
      px[o + 1] = fill[1];
      px[o + 2] = fill[2];
    }
    px[o + 3] = 255;
  }
  ctx.putImageData(image, 0, 0);
}

/**
 * Paint `count` small `h` x `w` tiles (consecutive in `values` from `offset`) as a mosaic with
 * `columns` tiles a row and `gap` background pixels between them (a conv2 filter: 20 kernels 5x5).
 * Returns the layout, for mapping pointer positions back to (tile, y, x) with `mosaicCell`.
 */
export function paintMosaic(canvas, values, { offset = 0, count, h, w, columns, gap = 1, scale, domain, background = [255, 255, 255] }) {
  const layout = mosaicLayout(count, h, w, columns, gap);
  const ctx = context(canvas, layout.width, layout.height);
  const image = imageFor(ctx, layout.width, layout.height);
  const px = image.data;
  for (let i = 0; i < px.length; i += 4) px.set([...background, 255], i);
  const table = lut(scale);
  for (let t = 0; t < count; t++) {
    const x0 = (t % layout.columns) * (w + gap);
    const y0 = Math.floor(t / layout.columns) * (h + gap);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const k = lutIndex(values[offset + (t * h + y) * w + x], domain[0], domain[1]) * 4;
        const o = ((y0 + y) * layout.width + x0 + x) * 4;
        px[o] = table[k];
        px[o + 1] = table[k + 1];
        px[o + 2] = table[k + 2];
      }
    }
  }
  ctx.putImageData(image, 0, 0);
  return layout;
}

/** Size and arrangement of a mosaic (see paintMosaic). */
export function mosaicLayout(count, h, w, columns = Math.ceil(Math.sqrt(count)), gap = 1) {
  const cols = Math.max(1, Math.min(columns, count));
  const rows = Math.ceil(count / cols);
  return { count, h, w, gap, columns: cols, rows, width: cols * w + (cols - 1) * gap, height: rows * h + (rows - 1) * gap };
}

/** Mosaic pixel (px, py) -> {tile, y, x}, or null on a gap. */
export function mosaicCell(layout, px, py) {
  const col = Math.floor(px / (layout.w + layout.gap));
  const row = Math.floor(py / (layout.h + layout.gap));
  const x = px - col * (layout.w + layout.gap);
  const y = py - row * (layout.h + layout.gap);
  const tile = row * layout.columns + col;
  if (x >= layout.w || y >= layout.h || tile >= layout.count || col >= layout.columns) return null;
  return { tile, y, x };
}

/** Fill a canvas with a scale's gradient, low on the left. */
export function drawGradient(canvas, scale) {
  const width = SIZES.colorbarPx;
  const ctx = context(canvas, width, 1);
  const image = imageFor(ctx, width, 1);
  const table = lut(scale);
  for (let x = 0; x < width; x++) {
    const k = Math.round((x / (width - 1)) * (LUT_SIZE - 1)) * 4;
    image.data.set([table[k], table[k + 1], table[k + 2], 255], x * 4);
  }
  ctx.putImageData(image, 0, 0);
}

/**
 * A colour bar: gradient plus its numeric range (and the zero mark of a diverging scale).
 * @param {{caption?: string}} [options]
 * `update(scale, domain, note, labels)`: `labels` = [low, high] replaces the numbers at the ends
 * (e.g. ["−max", "max"] when every map has its own range).
 * @returns {{element: HTMLElement, update(scale: string, domain: [number, number], note?: string,
 *           labels?: [string, string]): void}}
 */
export function colorbar({ caption = "" } = {}) {
  const element = el("div", "colorbar");
  const canvas = el("canvas", "colorbar-gradient");
  canvas.setAttribute("aria-hidden", "true");
  const ticks = el("div", "colorbar-ticks");
  const [low, mid, high] = ["low", "mid", "high"].map((cls) => {
    const span = el("span", `tick tick-${cls}`);
    ticks.append(span);
    return span;
  });
  const label = el("span", "colorbar-caption", caption);
  element.append(label, canvas, ticks);
  let drawn = null;
  return {
    element,
    update(scale, domain, note = "", labels = null) {
      if (drawn !== scale) {
        drawGradient(canvas, scale);
        drawn = scale;
      }
      element.dataset.scale = scale;
      element.dataset.low = String(domain[0]);
      element.dataset.high = String(domain[1]);
      low.textContent = labels ? labels[0] : formatTick(domain[0]);
      high.textContent = labels ? labels[1] : formatTick(domain[1]);
      mid.textContent = scale === "diverging" ? "0" : "";
      label.textContent = note || caption;
      const range = { scale: SCALES[scale].label, low: low.textContent, high: high.textContent, note };
      element.setAttribute("aria-label", note ? t("{scale}, from {low} to {high}, {note}", range) : t("{scale}, from {low} to {high}", range));
      element.setAttribute("role", "img");
    },
  };
}

/** WCAG relative luminance of [r, g, b] (0..255 each). */
function luminance([r, g, b]) {
  const lin = (v) => {
    const c = v / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
}

/**
 * Black or white, whichever reads better on the background `rgb` ("rgb(r, g, b)", as colorOf gives): the
 * better of the two always has a contrast ratio of at least 4.5:1 (WCAG AA), on any colour.
 */
export function inkOn(rgb) {
  const channels = rgb.match(/\d+/g).slice(0, 3).map(Number);
  const l = luminance(channels);
  return (l + 0.05) / 0.05 >= 1.05 / (l + 0.05) ? "#000" : "#fff";
}

/** Whole CSS px per cell so that a side of `cells` cells is about `target` px (never below the minimum). */
export function cellPx(cells, target = SIZES.mapPx) {
  return Math.max(SIZES.minCellPx, Math.round(target / cells));
}
