/**
 * Every conv layer's filters as images on a diverging scale (one symmetric domain per layer), with their
 * biases and a hover readout of each weight. The layers come from the model's table (GET /api/model), so
 * any network's conv layers are drawn by their own names.
 *
 *   renderFilterGrid(host, "conv1", weights, domain);   // one input channel: one figure per filter (its k x k kernel)
 *   renderFilterRows(host, "conv2", weights, domain);   // several: one row per filter, one kernel per input channel
 *   renderFilterLayer(host, layer, weights, domain);    // the right one of the two, with the layer's heading
 *   layerDomain(weights) -> [-m, m] with m = max |weight|
 *
 * `weights` is api.weights(name): weight (C_out, C_in / groups, k, k) and bias (C_out, or none).
 */

import { MODEL_PAGE } from "./config.js";
import { el } from "./dom.js";
import { formatTick } from "./format.js";
import { mosaicCell, paint, paintMosaic } from "./heatmap.js";
import { t } from "./i18n.js";
import { attachProbe, gridCell } from "./probe.js";

export function layerDomain(weights) {
  let m = 0;
  for (const v of weights.tensors.weight.values) m = Math.max(m, Math.abs(v));
  return [-(m || 1), m || 1];
}

function biasText(bias, f) {
  return bias ? t("bias {value}", { value: formatTick(bias.values[f]) }) : t("no bias");
}

/** The filters drawn at first: all of a small layer, the first MODEL_PAGE.filtersShown of a large one. */
function shownCount(count, all) {
  return all ? count : Math.min(count, MODEL_PAGE.filtersShown);
}

/** One small figure per filter (its k x k kernel) with the bias under it: a layer that sees one channel. */
export function renderFilterGrid(host, name, weights, domain, { all = false } = {}) {
  host.textContent = "";
  const { shape, values } = weights.tensors.weight;
  const bias = weights.tensors.bias;
  const [count, cin, kh, kw] = shape;
  const cell = kh <= 3 ? MODEL_PAGE.smallCellPx : MODEL_PAGE.conv1CellPx;
  for (let f = 0; f < shownCount(count, all); f++) {
    const figure = el("figure", "filter-figure");
    figure.dataset.filter = String(f);
    const canvas = el("canvas", "crisp filter-canvas");
    canvas.style.width = `${kw * cell}px`;
    canvas.style.height = `${kh * cell}px`;
    canvas.setAttribute("role", "img");
    canvas.setAttribute("aria-label", t("{layer} filter {f}, {h} by {w}", { layer: name, f, h: kh, w: kw }));
    const offset = f * cin * kh * kw;
    paint(canvas, values, { offset, height: kh, width: kw, scale: "diverging", domain });
    attachProbe(canvas, ({ fx, fy }) => {
      const { y, x } = gridCell(fx, fy, kh, kw);
      return { label: t("{layer} filter {f} · (y {y}, x {x})", { layer: name, f, y, x }), value: values[offset + y * kw + x], data: { layer: name, channel: f, y, x } };
    });
    const caption = el("figcaption");
    caption.append(el("span", "", `#${f}`), el("span", "bias", biasText(bias, f)));
    figure.append(canvas, caption);
    host.append(figure);
  }
}

/** One row per filter, its kernels (one per input channel, wrapped after MODEL_PAGE.kernelsPerRow) side by side, then the bias. */
export function renderFilterRows(host, name, weights, domain, { all = false } = {}) {
  host.textContent = "";
  const { shape, values } = weights.tensors.weight;
  const bias = weights.tensors.bias;
  const [count, cin, kh, kw] = shape;
  const px = kh <= 3 ? MODEL_PAGE.smallKernelCellPx : MODEL_PAGE.conv2CellPx;
  const columns = Math.min(cin, MODEL_PAGE.kernelsPerRow);
  for (let f = 0; f < shownCount(count, all); f++) {
    const row = el("div", "filter-row");
    row.dataset.filter = String(f);
    const index = el("span", "filter-index", `#${f}`);
    const canvas = el("canvas", "crisp filter-strip");
    const offset = f * cin * kh * kw;
    const layout = paintMosaic(canvas, values, { offset, count: cin, h: kh, w: kw, columns, gap: 1, scale: "diverging", domain });
    canvas.style.width = `${layout.width * px}px`;
    canvas.style.height = `${layout.height * px}px`;
    canvas.setAttribute("role", "img");
    canvas.setAttribute("aria-label", t("{layer} filter {f}: {n} kernels of {h} by {w}", { layer: name, f, n: cin, h: kh, w: kw }));
    attachProbe(canvas, ({ fx, fy }) => {
      const at = mosaicCell(layout, Math.floor(fx * layout.width), Math.floor(fy * layout.height));
      if (!at) return null;
      const value = values[offset + (at.tile * kh + at.y) * kw + at.x];
      const label = t("{layer} filter {f} · input channel {c} · (y {y}, x {x})", { layer: name, f, c: at.tile, y: at.y, x: at.x });
      return { label, value, data: { layer: name, channel: f, unit: at.tile, y: at.y, x: at.x } };
    });
    row.append(index, canvas, el("span", "bias", biasText(bias, f)));
    host.append(row);
  }
}

/** What a conv layer's filters look at, in words: "32 filters of 1 × 3 × 3, each looks at the image". */
export function filterHint(layer, weights) {
  const [count, cin, kh, kw] = weights.tensors.weight.shape;
  const grouped = layer.groups && layer.groups > 1;
  const size = { count, cin, kh, kw, groups: layer.groups };
  const source = layer.inputs && layer.inputs.length === 1 ? layer.inputs[0] : null;
  if (source === "input" && cin <= 3) {
    return grouped
      ? t("{count} filters of {cin} × {kh} × {kw}, each looks at the image, in {groups} groups (each filter sees {cin} of the input's channels)", size)
      : t("{count} filters of {cin} × {kh} × {kw}, each looks at the image", size);
  }
  if (source === null) {
    return grouped
      ? t("{count} filters of {cin} × {kh} × {kw}: one row per filter, one {kh} × {kw} kernel per channel of its input, in {groups} groups (each filter sees {cin} of the input's channels)", size)
      : t("{count} filters of {cin} × {kh} × {kw}: one row per filter, one {kh} × {kw} kernel per channel of its input", size);
  }
  return grouped
    ? t("{count} filters of {cin} × {kh} × {kw}: one row per filter, one {kh} × {kw} kernel per channel of {source}, in {groups} groups (each filter sees {cin} of the input's channels)", { ...size, source })
    : t("{count} filters of {cin} × {kh} × {kw}: one row per filter, one {kh} × {kw} kernel per channel of {source}", { ...size, source });
}

/**
 * A conv layer's filters in `host`, under a heading with its name and what they look at; a large layer
 * shows its first filters and a button for the rest.
 */
export function renderFilterLayer(host, layer, weights, domain) {
  host.textContent = "";
  host.dataset.layer = layer.name;
  const [count, cin] = weights.tensors.weight.shape;
  const title = el("h3", "sub-title");
  title.append(`${layer.name} `, el("span", "hint", filterHint(layer, weights)));
  const box = el("div", cin === 1 ? "conv1-filters" : "conv2-filters");
  box.dataset.layer = layer.name;
  const draw = (all) => (cin === 1 ? renderFilterGrid : renderFilterRows)(box, layer.name, weights, domain, { all });
  host.append(title, box);
  draw(false);
  if (count > MODEL_PAGE.filtersShown) {
    const more = el("button", "button", t("Show all {count} filters of {layer}", { count, layer: layer.name }));
    more.type = "button";
    const note = el("p", "hint", t("The first {shown} of its {count} filters are shown.", { shown: MODEL_PAGE.filtersShown, count }));
    more.addEventListener("click", () => {
      draw(true);
      note.remove();
      more.remove();
    });
    host.append(note, more);
  }
  return box;
}
