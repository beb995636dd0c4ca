/**
 * Every conv filter as images on a diverging scale (one symmetric domain per layer), with its bias and a
 * hover readout of each weight.
 *
 *   renderConv1(host, weights, domain);   // weights = api.weights("conv1"): weight (20, 1, 5, 5), bias (20)
 *   renderConv2(host, weights, domain);   // weight (50, 20, 5, 5): one row of 20 kernels per filter
 *   layerDomain(weights) -> [-m, m] with m = max |weight|
 */

import { MODEL_PAGE } from "./config.js";
import { el } from "./dom.js";
import { formatTick } from "./format.js";
import { mosaicCell, paint, paintMosaic } from "./heatmap.js";
import { attachProbe, gridCell } from "./probe.js";

export function layerDomain(weights) {
  let m = 0;
  for (const v of weights.tensors.weight.values) m = Math.max(m, Math.abs(v));
  return [-(m || 1), m || 1];
}

function biasText(b) {
  return `bias ${formatTick(b)}`;
}

/** conv1: one small figure per filter (its 5x5 kernel) with the bias under it. */
export function renderConv1(host, weights, domain) {
  host.textContent = "";
  const { shape, values } = weights.tensors.weight;
  const bias = weights.tensors.bias.values;
  const [count, cin, k] = shape;
  for (let f = 0; f < count; f++) {
    const figure = el("figure", "filter-figure");
    figure.dataset.filter = String(f);
    const canvas = el("canvas", "crisp filter-canvas");
    canvas.style.width = `${k * MODEL_PAGE.conv1CellPx}px`;
    canvas.style.height = `${k * MODEL_PAGE.conv1CellPx}px`;
    canvas.setAttribute("role", "img");
    canvas.setAttribute("aria-label", `conv1 filter ${f}, ${k} by ${k}`);
    const offset = f * cin * k * k;
    paint(canvas, values, { offset, height: k, width: k, scale: "diverging", domain });
    attachProbe(canvas, ({ fx, fy }) => {
      const { y, x } = gridCell(fx, fy, k, k);
      return { label: `conv1 filter ${f} · (y ${y}, x ${x})`, value: values[offset + y * k + x], data: { layer: "conv1", channel: f, y, x } };
    });
    const caption = el("figcaption");
    const name = el("span", "", `#${f}`);
    const b = el("span", "bias", biasText(bias[f]));
    caption.append(name, b);
    figure.append(canvas, caption);
    host.append(figure);
  }
}

/** conv2: one row per filter, its 20 kernels (one per input channel) side by side, then the bias. */
export function renderConv2(host, weights, domain) {
  host.textContent = "";
  const { shape, values } = weights.tensors.weight;
  const bias = weights.tensors.bias.values;
  const [count, cin, k] = shape;
  const px = MODEL_PAGE.conv2CellPx;
  for (let f = 0; f < count; f++) {
    const row = el("div", "filter-row");
    row.dataset.filter = String(f);
    const name = el("span", "filter-index", `#${f}`);
    const canvas = el("canvas", "crisp filter-strip");
    const offset = f * cin * k * k;
    const layout = paintMosaic(canvas, values, { offset, count: cin, h: k, w: k, columns: cin, gap: 1, scale: "diverging", domain });
    canvas.style.width = `${layout.width * px}px`;
    canvas.style.height = `${layout.height * px}px`;
    canvas.setAttribute("role", "img");
    canvas.setAttribute("aria-label", `conv2 filter ${f}: ${cin} kernels of ${k} by ${k}`);
    attachProbe(canvas, ({ fx, fy }) => {
      const at = mosaicCell(layout, Math.floor(fx * layout.width), Math.floor(fy * layout.height));
      if (!at) return null;
      const value = values[offset + (at.tile * k + at.y) * k + at.x];
      return { label: `conv2 filter ${f} · input channel ${at.tile} · (y ${at.y}, x ${at.x})`, value, data: { layer: "conv2", channel: f, unit: at.tile, y: at.y, x: at.x } };
    });
    const b = el("span", "bias", biasText(bias[f]));
    row.append(name, canvas, b);
    host.append(row);
  }
}
