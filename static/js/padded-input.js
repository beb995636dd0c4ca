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
import { t, tn } from "./i18n.js";
import { sentences } from "./layer-text.js";
import { layerInput, padMaps } from "./window-math.js";

const PX = 96; // side of the picture, CSS px

/** The sentence: the numbers of the normalisation and the padding, and why the frame appears. */
function sentence(info) {
  const { mean, std } = info.normalization;
  const p = info.padding;
  const background = (0 - mean[0]) / std[0];
  const ink = (1 - mean[0]) / std[0];
  const normalised = t(
    "{layer} does not slide over the input picture itself: the network's first step normalises it, (pixel − {mean}) / {std}, so the black background (0) becomes {background} and the brightest pixel (1) {ink}.",
    { layer: info.name, mean: formatTick(mean[0]), std: formatTick(std[0]), background: formatTick(background), ink: formatTick(ink) },
  );
  const pad = p
    ? tn(
        "Then {p} row and column of zeros go around it (padding {p}). Zero is lighter than the background, so the windows along the edges see a bright band: that is the {p}-pixel frame around every {layer} map.",
        "Then {p} rows and columns of zeros go around it (padding {p}). Zero is lighter than the background, so the windows along the edges see a bright band: that is the {p}-pixel frame around every {layer} map.",
        p,
        { p, layer: info.name },
      )
    : "";
  return sentences([normalised, pad]);
}

export function paddedInputFigure(info) {
  const element = el("figure", "padded-input");
  const canvas = el("canvas", "padded-canvas crisp");
  canvas.style.setProperty("--padded-px", `${PX}px`);
  canvas.setAttribute("role", "img");
  const bar = colorbar({ caption: t("normalised, padded") });
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
      bar.update("diverging", domain, t("normalised, padded with 0"));
      canvas.setAttribute("aria-label", t("What {layer} slides over: {h} by {w}, values from {lo} to {hi}; the padding is 0.", { layer: info.name, h: padded.h, w: padded.w, lo: formatTick(lo), hi: formatTick(hi) }));
      element.dataset.low = String(lo);
      element.dataset.high = String(hi);
      element.dataset.side = String(padded.h);
    },
  };
}
