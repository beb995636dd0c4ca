/**
 * Drawing shared by the model-insight views of the explorer: the 28x28 input in grey (optionally with a
 * border of padding cells around it), a heat map whose opacity follows its values (for overlays), and
 * boxes of input pixels placed over such a picture.
 *
 *   paintInput(canvas, image.values, { height: 28, width: 28, margin: 3 });
 *   paintHeat(canvas, map.values, { height: 28, width: 28, scale: "sequential", domain: [0, max], margin: 3 });
 *   placeBox(div, { y0: 4, x0: 6, y1: 17, x1: 19 }, { height: 28, width: 28, margin: 3 });
 *
 * One canvas pixel per input pixel; the stylesheet scales canvases up without smoothing.
 */

import { LUT_SIZE } from "./config.js";
import { lut } from "./heatmap.js";

/* Padding cells: a light two-tone checker, so that they read as "outside the image". */
const PAD_LIGHT = [226, 230, 237];
const PAD_DARK = [205, 211, 221];

function frame(canvas, height, width, margin) {
  const h = height + 2 * margin;
  const w = width + 2 * margin;
  if (canvas.width !== w) canvas.width = w;
  if (canvas.height !== h) canvas.height = h;
  const ctx = canvas.getContext("2d");
  const image = ctx.createImageData(w, h);
  const px = image.data;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const o = (y * w + x) * 4;
      px.set((x + y) % 2 ? PAD_DARK : PAD_LIGHT, o);
      px[o + 3] = 255;
    }
  }
  return { ctx, image, px, w };
}

/** The input image, ink bright on black, values in [0, max] (max defaults to the image's, at least 1). */
export function paintInput(canvas, values, { height, width, margin = 0, max = null }) {
  const { ctx, image, px, w } = frame(canvas, height, width, margin);
  let top = max;
  if (top === null) {
    top = 1;
    for (let i = 0; i < height * width; i++) top = Math.max(top, values[i]);
  }
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const g = Math.round(255 * Math.min(1, Math.max(0, values[y * width + x] / top)));
      const o = ((y + margin) * w + x + margin) * 4;
      px[o] = g;
      px[o + 1] = g;
      px[o + 2] = g;
    }
  }
  ctx.putImageData(image, 0, 0);
}

/**
 * A heat map in `scale` over `domain`. `opaque`: every cell fully coloured (a map on its own);
 * otherwise each cell's opacity is its strength (sequential: its position in the domain; diverging:
 * its distance from zero), so weak cells let the image beneath show through.
 */
export function paintHeat(canvas, values, { height, width, scale, domain, margin = 0, opaque = true }) {
  const { ctx, image, px, w } = margin ? frame(canvas, height, width, margin) : plain(canvas, height, width);
  const table = lut(scale);
  const [lo, hi] = domain;
  const span = hi - lo;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const t = span > 0 ? Math.min(1, Math.max(0, (values[y * width + x] - lo) / span)) : 0;
      const k = Math.round(t * (LUT_SIZE - 1)) * 4;
      const o = ((y + margin) * w + x + margin) * 4;
      px[o] = table[k];
      px[o + 1] = table[k + 1];
      px[o + 2] = table[k + 2];
      const strength = scale === "diverging" ? Math.abs(2 * t - 1) : t;
      px[o + 3] = opaque ? 255 : Math.round(255 * strength);
    }
  }
  ctx.putImageData(image, 0, 0);
}

function plain(canvas, height, width) {
  if (canvas.width !== width) canvas.width = width;
  if (canvas.height !== height) canvas.height = height;
  const ctx = canvas.getContext("2d");
  const image = ctx.createImageData(width, height);
  return { ctx, image, px: image.data, w: width };
}

/**
 * Position an absolutely placed element over the pixels y0..y1, x0..x1 (inclusive) of a picture of
 * `height` x `width` pixels drawn with `margin` padding cells around it; parts beyond the padding are
 * cut off. Percentages, so it follows the picture's CSS size.
 */
export function placeBox(element, box, { height, width, margin = 0 }) {
  const rows = height + 2 * margin;
  const cols = width + 2 * margin;
  const y0 = Math.max(box.y0, -margin);
  const x0 = Math.max(box.x0, -margin);
  const y1 = Math.min(box.y1, height - 1 + margin);
  const x1 = Math.min(box.x1, width - 1 + margin);
  element.style.top = `${((y0 + margin) / rows) * 100}%`;
  element.style.left = `${((x0 + margin) / cols) * 100}%`;
  element.style.height = `${((y1 - y0 + 1) / rows) * 100}%`;
  element.style.width = `${((x1 - x0 + 1) / cols) * 100}%`;
  for (const key of ["y0", "x0", "y1", "x1"]) element.dataset[key] = String(box[key]);
}

/** Largest value of a Float32Array (0 for an empty one). */
export function maxOf(values) {
  let m = 0;
  for (let i = 0; i < values.length; i++) if (values[i] > m) m = values[i];
  return m;
}
