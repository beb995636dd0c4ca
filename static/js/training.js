/**
 * The training page (GET /training): the checkpoints recorded while the model trained (GET /api/training)
 * behind one scrubber, which moves the loss and accuracy cursors, the filters, a digit's maps and answer, and
 * the cursors of the drift view and the ReLU comparison. `?model=` picks the model (checked by the server; the
 * switch opens the page again for another); `?step=` the checkpoint to open at. The filters are those of the
 * model's first two conv layers and the maps those of its conv and pooling layers, all from its layer table
 * (GET /api/model). A model trained without a timeline is said so in words (GET /api/models tells which have
 * one), and the drift view and the ReLU comparison, which do not depend on it, still show.
 *
 * <main> carries data-state ("ready" once every section has settled) and data-step (the checkpoint on screen).
 */

import { api, setModel } from "./api.js";
import { TRAINING_PAGE } from "./config.js";
import { errorBanner, errorLine } from "./error-banner.js";
import { formatList, t, tn } from "./i18n.js";
import { reloadingPicker } from "./model-switch.js";
import { applyWords, modelWords } from "./model-words.js";
import { createCurves } from "./training-curves.js";
import { createDigit } from "./training-digit.js";
import { createDrift } from "./training-drift.js";
import { createFilters } from "./training-filters.js";
import { createComparison } from "./training-norelu.js";
import { createScrubber } from "./training-scrubber.js";

const $ = (id) => document.getElementById(id);
const main = $("main");
const errors = errorBanner(main);
const reporter = (section) => errorLine(section, section.querySelector(".tr-error"));

/** Words in a list: "a, b, c" (in Chinese "a、b、c"). */
const listOf = (items) => (items.length ? items.reduce((a, b) => t("{a}, {b}", { a, b })) : "");

/** The checkpoint ?step= names (an index), or null; a bad value is explained. */
function linkedStep(checkpoints) {
  const raw = new URLSearchParams(window.location.search).get("step");
  if (raw === null) return null;
  const i = checkpoints.findIndex((c) => String(c.step) === raw.trim());
  if (i < 0) errors.show(t("?step={raw} is not a checkpoint of this model; the checkpoints are steps {steps}.", { raw, steps: listOf(checkpoints.map((c) => c.step)) }), "link");
  return i < 0 ? null : i;
}

function rememberStep(step) {
  const url = new URL(window.location.href);
  url.searchParams.set("step", String(step));
  window.history.replaceState(null, "", url);
}

/** Say why there is nothing to scrub (`error`: the API's, or null when GET /api/models says there is no
 * timeline), naming the models that do have one. */
function explainMissing(model, error, models) {
  const withTimeline = models.filter((m) => m.timeline).map((m) => m.name);
  const untrained = withTimeline.length
    ? t(
        "{model} was trained without recording checkpoints, so there is no training to watch: its filters and answers exist only as trained. Models with a timeline: {models} (choose one above).",
        { model, models: listOf(withTimeline) },
      )
    : t("{model} was trained without recording checkpoints, so there is no training to watch: its filters and answers exist only as trained.", { model });
  const text = !error || error.status === 404 ? untrained : t("The training timeline could not be loaded: {detail}", { detail: error.message });
  const line = $("timeline-missing");
  line.textContent = text;
  line.hidden = false;
  for (const id of ["scrubber", "filters", "digit", "track-legend"]) $(id).hidden = true;
  for (const link of document.querySelectorAll("[data-needs-timeline]")) link.hidden = true;
  for (const id of ["timeline", "scrubber", "filters", "digit"]) $(id).dataset.state = "missing";
}

/** The API's answer, or a rejected one that says it was not asked (`skip`: the answer is known to be "none"). */
const unless = (skip, ask) => (skip ? Promise.reject(null) : ask());

async function start() {
  setModel(main.dataset.model || null);
  const models = await Promise.allSettled([api.models()]).then(([r]) => r);
  const served = models.status === "fulfilled" ? models.value : [];
  if (models.status === "rejected") errors.show(t("The models could not be listed: {detail}", { detail: models.reason.message }));
  const name = main.dataset.model || served.find((m) => m.default)?.name || t("the model");
  const summary = served.find((m) => m.name === name);
  reloadingPicker($("model-switch"), served, { current: name, drop: ["step", "sample"] });
  // what the list says a model lacks is not asked for (a 404 would only repeat it)
  const [timeline, network, samples] = await Promise.allSettled([
    unless(summary && !summary.timeline, () => api.training()),
    api.model(),
    unless(summary && !summary.samples, () => api.samples()),
  ]);
  const words = modelWords(network.status === "fulfilled" ? network.value : summary);
  applyWords(main, words);

  const lacking = TRAINING_PAGE.drift.filter((n) => !served.some((m) => m.name === n));
  if (lacking.length) {
    $("drift-missing").textContent = tn(
      "This view sets {models} side by side, the same network trained with and without BatchNorm; {missing} is not served here.",
      "This view sets {models} side by side, the same network trained with and without BatchNorm; {missing} are not served here.",
      lacking.length,
      { models: formatList(TRAINING_PAGE.drift), missing: formatList(lacking) },
    );
    $("drift-missing").hidden = false;
  }
  const drift = createDrift($("drift"), TRAINING_PAGE.drift.map((n) => served.find((m) => m.name === n)).filter(Boolean), { onError: reporter($("drift")) });
  const comparison = createComparison($("norelu"), served, { onError: reporter($("norelu")) }).catch((error) => {
    reporter($("norelu"))(error);
    return { show() {} };
  });
  const tasks = [drift.ready, comparison];

  if (timeline.status === "rejected") {
    explainMissing(name, timeline.reason, served);
  } else {
    const checkpoints = timeline.value.checkpoints;
    const layers = network.status === "fulfilled" ? network.value.layers : [];
    if (network.status === "rejected") errors.show(t("The network could not be loaded: {detail}", { detail: network.reason.message }));
    if (samples.status === "rejected" && samples.reason) errors.show(t("The test {items} could not be loaded: {detail}", { items: words.items, detail: samples.reason.message }));
    const initial = linkedStep(checkpoints) ?? 0;
    let scrubber = null;
    const curves = createCurves($("curves"), checkpoints, { onPick: (i) => scrubber?.set(i) });
    const filters = createFilters($("filters"), checkpoints, { layers, onError: reporter($("filters")) });
    const digit = createDigit($("digit"), checkpoints, {
      layers,
      words,
      samples: samples.status === "fulfilled" ? samples.value : [],
      noSamples:
        samples.status === "rejected"
          ? t("{model} has no test set served here, so there are no test {items} to pick: draw one or use an image of your own.", { model: name, items: words.items })
          : null,
      maxUploadBytes: Number(main.dataset.maxUploadBytes) || 0,
      onError: (error) => errors.show(error, "digit"),
      initial,
    });
    const compared = await comparison;
    let first = true;
    scrubber = createScrubber(
      { track: $("track"), play: $("play"), prev: $("prev"), next: $("next"), readout: $("step-readout") },
      checkpoints,
      {
        onChange: (i) => {
          const step = checkpoints[i].step;
          main.dataset.step = String(step);
          curves.show(i);
          const painted = filters.show(i);
          if (first) tasks.push(painted);
          digit.show(i);
          drift.show(step);
          compared.show(step);
          if (!first) rememberStep(step);
        },
      },
    );
    scrubber.set(initial);
    first = false;
    for (const id of ["timeline", "scrubber"]) $(id).dataset.state = "ready";
    tasks.push(filters.loaded, digit.ready);
  }
  await Promise.allSettled(tasks);
  main.dataset.state = "ready";
}

start();
