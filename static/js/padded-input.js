/**
 * What the first conv layer really slides over, for its card in the explorer: not the input picture but
 * the input normalised by the network's first step ((pixel − mean) / std) and then zero-padded. Zero is
 * lighter than the normalised background, which is why every map of that layer has a frame as wide as
 * the padding. The figure says so, with the numbers of the model on screen.
 *
 *   const figure = paddedInputFigure(info);     // info: the conv layer (GET /api/model) with previous,
 *   card.append(figure.element);                //   normalization (the model's) and padding
 *   figure.update(inputLayer);                  // the decoded input layer of a result
 */

import { el } from "./dom.js";
import { formatTick } from "./format.js";
import { colorbar, domainFor, extent, paint } from "./heatmap.js";
import { layerInput, padMaps } from "./window-math.js";

const PX = 96; // side of the picture, CSS px

/** The sentence: the numbers of the normalisation and the padding, and why the frame appears. */
function sentence(info) {
  const { mean, std } = info.normalization;
  const p = info.padding;
  const background = (0 - mean[0]) / std[0];
  const ink = (1 - mean[0]) / std[0];
  const pad = p
    ? ` Then ${p} row${p === 1 ? "" : "s"} and column${p === 1 ? "" : "s"} of zeros go around it (padding ${p}). Zero is lighter than the background, so the windows along the edges see a bright band: that is the ${p}-pixel frame around every ${info.name} map.`
    : "";
  return (
    `${info.name} does not slide over the input picture itself: the network's first step normalises it, (pixel − ${formatTick(mean[0])}) / ${formatTick(std[0])}, ` +
    `so the black background becomes ${formatTick(background)} and full ink ${formatTick(ink)}.${pad}`
  );
}

export function paddedInputFigure(info) {
  const element = el("figure", "padded-input");
  const canvas = el("canvas", "padded-canvas crisp");
  canvas.style.setProperty("--padded-px", `${PX}px`);
  canvas.setAttribute("role", "img");
  const bar = colorbar({ caption: "normalised, padded" });
  const side = el("div", "padded-side");
  const text = el("figcaption", "hint", sentence(info));
  side.append(text, bar.element);
  element.append(canvas, side);
  return {
    element,
    update(input) {
      if (!input) return;
      const padded = padMaps(layerInput(input, info.normalization), info.padding, 0); // (C, H + 2p, W + 2p)
      const [lo, hi] = extent(padded.values, 0, padded.h * padded.w);
      const domain = domainFor("diverging", lo, hi);
      paint(canvas, padded.values, { height: padded.h, width: padded.w, scale: "diverging", domain });
      bar.update("diverging", domain, "normalised, padded with 0");
      canvas.setAttribute("aria-label", `What ${info.name} slides over: ${padded.h} by ${padded.w}, values from ${formatTick(lo)} to ${formatTick(hi)}; the padding is 0.`);
      element.dataset.low = String(lo);
      element.dataset.high = String(hi);
      element.dataset.side = String(padded.h);
    },
  };
}
