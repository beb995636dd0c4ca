/**
 * The folding section: the formula with one channel's numbers filled in (pick the pair and the channel),
 * and the equivalence measured by the server on all the model's test images (GET /api/batchnorm/fold).
 */

import { bnApi } from "./bn-api.js";
import { el } from "./dom.js";
import { formatTick, formatValue } from "./format.js";
import { formatNumber, t, tn } from "./i18n.js";

const fmt = (v) => formatValue(v, 5);

function line(label, expression, result) {
  const row = el("div", "bn-formula-row");
  const name = el("span", "bn-formula-name", label);
  const expr = el("span", "bn-formula-expr", expression);
  const value = el("output", "bn-formula-value", result);
  row.append(name, expr, value);
  return row;
}

function formula(pair, c) {
  const ch = pair.channels;
  const box = document.createDocumentFragment();
  const index = pair.weight_index.replace("c", String(c));
  box.append(
    line("s = γ / √(σ² + ε)", `${fmt(ch.gamma[c])} / √(${fmt(ch.running_var[c])} + ${pair.eps})`, `= ${fmt(ch.scale[c])}`),
    line(`W′ = s · W`, `${index}: ${fmt(ch.scale[c])} × ${fmt(ch.weight[c])}`, `= ${fmt(ch.folded_weight[c])}`),
    line(
      "b′ = s · (b − μ) + β",
      `${fmt(ch.scale[c])} × (${fmt(ch.bias[c])} − ${fmt(ch.running_mean[c])}) + ${fmt(ch.beta[c])}`,
      `= ${fmt(ch.folded_bias[c])}`,
    ),
  );
  return box;
}

function equivalence(body) {
  const pct = ((1 - body.time_ratio) * 100).toFixed(1);
  const n = body.predictions_changed;
  const same = tn(
    "Folded against unfolded on all {images} test images: the largest logit difference is {diff} (float32 rounding), and {n} prediction changed.",
    "Folded against unfolded on all {images} test images: the largest logit difference is {diff} (float32 rounding), and {n} predictions changed.",
    n,
    { images: formatNumber(body.images), diff: formatTick(body.max_abs_logit_diff), n },
  );
  const timing = {
    unfolded: body.unfolded_ms.toFixed(0),
    folded: body.folded_ms.toFixed(0),
    ratio: body.time_ratio.toFixed(3),
    batch: body.batch_size,
    threads: tn("{n} thread", "{n} threads", body.threads, { n: body.threads }),
  };
  const time =
    Number(pct) >= 0
      ? t("Forward time in the same run: {unfolded} ms unfolded, {folded} ms folded, a ratio of {ratio} ({pct}% faster; batches of {batch}, {threads}).", { ...timing, pct })
      : t("Forward time in the same run: {unfolded} ms unfolded, {folded} ms folded, a ratio of {ratio} ({pct}% slower; batches of {batch}, {threads}).", { ...timing, pct: (-pct).toFixed(1) });
  return t("{first} {second}", { first: same, second: time });
}

/**
 * Wire the fold section; resolves once the server's numbers are shown. Errors go to `onError`; `testSet`
 * false (the model is served without one) says why there is nothing to check instead of asking.
 */
export async function initFold(section, onError, { testSet = true, name = t("this model") } = {}) {
  const pick = section.querySelector("#fold-pair");
  const channel = section.querySelector("#fold-channel");
  const out = section.querySelector("#fold-formula");
  const result = section.querySelector("#fold-result");
  /* It does not apply to this model (no test set to check on, no pair to fold): why, in words. */
  const missing = (text) => {
    section.dataset.state = "missing";
    result.className = "not-applicable";
    result.textContent = text;
    for (const box of section.querySelectorAll(".bn-fold-controls, #fold-formula")) box.hidden = true;
  };
  if (!testSet) {
    missing(t("Nothing to fold and check here: {model} is served without its test set, and the folded network is checked against the trained one on it.", { model: name }));
    return;
  }
  let body;
  try {
    body = await bnApi.fold();
  } catch (error) {
    if (error.status === 404 || error.status === 422) {
      missing(t("Nothing to fold and check here: {detail}.", { detail: error.message }));
      return;
    }
    section.dataset.state = "failed";
    result.textContent = t("The comparison could not be run.");
    onError(error);
    return;
  }
  for (const [i, pair] of body.pairs.entries()) {
    const option = el("option", "", `${pair.layer} + ${pair.batchnorm}`);
    option.value = String(i);
    pick.append(option);
  }
  const range = section.querySelector("#fold-channel-range");
  const problem = section.querySelector("#fold-channel-error");
  // The channel typed is shown, or refused in words: never silently moved into range.
  const show = () => {
    const pair = body.pairs[Number(pick.value)];
    const count = pair.channels.scale.length;
    channel.max = String(count - 1);
    range.textContent = t("0 to {last}", { last: count - 1 });
    section.dataset.pair = pair.layer;
    const text = channel.value.trim();
    const c = Number(text);
    const ok = text !== "" && Number.isInteger(c) && c >= 0 && c < count;
    problem.hidden = ok;
    out.hidden = !ok;
    if (ok) channel.removeAttribute("aria-invalid");
    else channel.setAttribute("aria-invalid", "true");
    if (!ok) {
      const words = { last: count - 1, pair: `${pair.layer} + ${pair.batchnorm}`, count, text };
      problem.textContent =
        text === ""
          ? t("Channel must be a whole number from 0 to {last}: {pair} has {count} channels.", words)
          : t("Channel must be a whole number from 0 to {last}: {pair} has {count} channels, so there is no channel {text}.", words);
      delete section.dataset.channel;
      return;
    }
    out.textContent = "";
    out.append(formula(pair, c));
    section.dataset.channel = String(c);
  };
  pick.addEventListener("change", show);
  channel.addEventListener("input", show);
  show();
  result.textContent = equivalence(body);
  Object.assign(section.dataset, { state: "ready", maxDiff: String(body.max_abs_logit_diff), timeRatio: String(body.time_ratio) });
}
