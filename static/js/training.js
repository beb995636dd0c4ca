/**
 * The training page (GET /training): the checkpoints recorded while the model trained (GET /api/training)
 * behind one scrubber, which moves the loss and accuracy cursors, the filters, a digit's maps and answer, and
 * the cursors of the drift view and the ReLU comparison. `?model=` picks the model (like the explorer's
 * switch); `?step=` the checkpoint to open at. A model trained without a timeline is said so in words, and the
 * drift view and the ReLU comparison, which do not depend on it, still show.
 *
 * <main> carries data-state ("ready" once every section has settled) and data-step (the checkpoint on screen).
 */

import { api, request } from "./api.js";
import { TRAINING_PAGE } from "./config.js";
import { errorBanner, errorLine } from "./error-banner.js";
import { installModelSwitch } from "./model-switch.js";
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

/** The checkpoint ?step= names (an index), or null; a bad value is explained. */
function linkedStep(checkpoints) {
  const raw = new URLSearchParams(window.location.search).get("step");
  if (raw === null) return null;
  const i = checkpoints.findIndex((c) => String(c.step) === raw.trim());
  if (i < 0) errors.show(`?step=${raw} is not a checkpoint of this model; the checkpoints are steps ${checkpoints.map((c) => c.step).join(", ")}.`, "link");
  return i < 0 ? null : i;
}

function rememberStep(step) {
  const url = new URL(window.location.href);
  url.searchParams.set("step", String(step));
  window.history.replaceState(null, "", url);
}

/** Say why there is nothing to scrub, naming the models that do have a timeline. */
async function explainMissing(model, error, models) {
  const withTimeline = [];
  for (const m of models) {
    try {
      await request(`/api/training?${new URLSearchParams({ model: m.name })}`);
      withTimeline.push(m.name);
    } catch {
      /* no timeline either */
    }
  }
  const others = withTimeline.length ? ` Models with a timeline: ${withTimeline.join(", ")} (choose one above).` : "";
  const text =
    error.status === 404
      ? `${model} was trained without recording checkpoints, so there is no training to watch: its filters and answers exist only as trained.${others}`
      : `The training timeline could not be loaded: ${error.message}`;
  const line = $("timeline-missing");
  line.textContent = text;
  line.hidden = false;
  for (const id of ["scrubber", "filters", "digit", "track-legend"]) $(id).hidden = true;
  for (const link of document.querySelectorAll("[data-needs-timeline]")) link.hidden = true;
  for (const id of ["timeline", "scrubber", "filters", "digit"]) $(id).dataset.state = "missing";
}

async function start() {
  const switched = await installModelSwitch($("model-switch"));
  if (switched.problem) errors.show(switched.problem, "link");
  const [models, timeline, network, samples] = await Promise.allSettled([api.models(), api.training(), api.model(), api.samples()]);
  const served = models.status === "fulfilled" ? models.value : [];
  if (models.status === "rejected") errors.show(`The models could not be listed: ${models.reason.message}`);
  const name = switched.model || served.find((m) => m.default)?.name || "the model";

  const drift = createDrift($("drift"), TRAINING_PAGE.drift.map((n) => served.find((m) => m.name === n)).filter(Boolean), { onError: reporter($("drift")) });
  const comparison = createComparison($("norelu"), served, { onError: reporter($("norelu")) }).catch((error) => {
    reporter($("norelu"))(error);
    return { show() {} };
  });
  const tasks = [drift.ready, comparison];

  if (timeline.status === "rejected") {
    await explainMissing(name, timeline.reason, served);
  } else {
    const checkpoints = timeline.value.checkpoints;
    const layers = network.status === "fulfilled" ? network.value.layers : [];
    if (network.status === "rejected") errors.show(`The network could not be loaded: ${network.reason.message}`);
    if (samples.status === "rejected") errors.show(`The test digits could not be loaded: ${samples.reason.message}`);
    const initial = linkedStep(checkpoints) ?? 0;
    let scrubber = null;
    const curves = createCurves($("curves"), checkpoints, { onPick: (i) => scrubber?.set(i) });
    const filters = createFilters($("filters"), checkpoints, { onError: reporter($("filters")) });
    const digit = createDigit($("digit"), checkpoints, {
      layers,
      samples: samples.status === "fulfilled" ? samples.value : [],
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
