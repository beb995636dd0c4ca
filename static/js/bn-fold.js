/**
 * The folding section: the formula with one channel's numbers filled in (pick the pair and the channel),
 * and the equivalence measured by the server on all 10,000 test images (GET /api/batchnorm/fold).
 */

import { bnApi } from "./bn-api.js";
import { el } from "./dom.js";
import { formatTick, formatValue } from "./format.js";

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
  return (
    `Folded against unfolded on all ${body.images.toLocaleString("en")} test images: the largest logit difference is ` +
    `${formatTick(body.max_abs_logit_diff)} (float32 rounding), and ${body.predictions_changed} prediction` +
    `${body.predictions_changed === 1 ? "" : "s"} changed. Forward time in the same run: ${body.unfolded_ms.toFixed(0)} ms ` +
    `unfolded, ${body.folded_ms.toFixed(0)} ms folded, a ratio of ${body.time_ratio.toFixed(3)} ` +
    `(${Number(pct) >= 0 ? `${pct}% faster` : `${(-pct).toFixed(1)}% slower`}; batches of ${body.batch_size}, ${body.threads} thread${body.threads === 1 ? "" : "s"}).`
  );
}

/** Wire the fold section; resolves once the server's numbers are shown. Errors go to `onError`. */
export async function initFold(section, onError) {
  const pick = section.querySelector("#fold-pair");
  const channel = section.querySelector("#fold-channel");
  const out = section.querySelector("#fold-formula");
  let body;
  try {
    body = await bnApi.fold();
  } catch (error) {
    section.dataset.state = "failed";
    section.querySelector("#fold-result").textContent = "The comparison could not be run.";
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
    range.textContent = `0 to ${count - 1}`;
    section.dataset.pair = pair.layer;
    const text = channel.value.trim();
    const c = Number(text);
    const ok = text !== "" && Number.isInteger(c) && c >= 0 && c < count;
    problem.hidden = ok;
    out.hidden = !ok;
    if (ok) channel.removeAttribute("aria-invalid");
    else channel.setAttribute("aria-invalid", "true");
    if (!ok) {
      problem.textContent = `Channel must be a whole number from 0 to ${count - 1}: ${pair.layer} + ${pair.batchnorm} has ${count} channels${text === "" ? "" : `, so there is no channel ${text}`}.`;
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
  section.querySelector("#fold-result").textContent = equivalence(body);
  Object.assign(section.dataset, { state: "ready", maxDiff: String(body.max_abs_logit_diff), timeRatio: String(body.time_ratio) });
}
