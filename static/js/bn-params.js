/**
 * The "what each BatchNorm layer holds" section: γ, β, running mean and running variance of one layer,
 * per channel, as bars (from GET /api/layers/{name}/weights; each layer fetched once).
 */

import { api } from "./api.js";
import { channelBars } from "./bn-charts.js";
import { layerPick } from "./layer-pick.js";
import { BN_PAGE } from "./config.js";
import { t } from "./i18n.js";

const TENSORS = [
  ["weight", t("γ (weight)")],
  ["bias", t("β (bias)")],
  ["running_mean", t("running mean μ")],
  ["running_var", t("running variance σ²")],
];

/** Draw the section; resolves once the first layer is shown. Errors go to `onError`. */
export function initParams(section, layers, onError) {
  const charts = section.querySelector("#params-charts");
  const cache = new Map();
  let shown = null;

  async function show(name) {
    shown = name;
    if (!cache.has(name)) cache.set(name, api.weights(name));
    const weights = await cache.get(name);
    if (shown !== name) return;
    charts.textContent = "";
    for (const [key, label] of TENSORS) {
      const figure = channelBars(weights.tensors[key].values, { label, name, height: BN_PAGE.barHeight, color: BN_PAGE.colors.batch });
      figure.dataset.tensor = key;
      charts.append(figure);
    }
    section.dataset.layer = name;
  }

  let first = null;
  layerPick(section.querySelector(".bn-layer-pick"), layers, (name) => {
    const done = show(name).catch((error) => {
      cache.delete(name);
      onError(error);
    });
    first ??= done;
  });
  return first;
}
