/**
 * The BatchNorm page (GET /batchnorm): what the BatchNorm layers hold, train mode against eval mode on a
 * batch you choose, folding BatchNorm into the layer before it, and the network trained with and without
 * BatchNorm. Each section loads on its own and reports its errors in its own alert line; <main>'s
 * data-state becomes "ready" when every section has settled.
 *
 * The model is the address's (?model=, checked by the server) or the switch's (which opens the page again).
 * A model without BatchNorm layers is shown too: the three sections about its BatchNorm layers are replaced
 * by the server's reason, and the comparison of the two trained networks, which is about every model, stays.
 */

import { api, setModel } from "./api.js";
import { initFold } from "./bn-fold.js";
import { initLab } from "./bn-lab.js";
import { initParams } from "./bn-params.js";
import { initTraining } from "./bn-training.js";
import { errorBanner, errorLine } from "./error-banner.js";
import { t } from "./i18n.js";
import { reloadingPicker } from "./model-switch.js";
import { applyWords, modelWords } from "./model-words.js";
import { smoothingNote } from "./prediction.js";
import { scrollCues } from "./scroll-cue.js";

const main = document.getElementById("main");
const section = (id) => document.getElementById(id);
scrollCues(main, ".bn-table-wrap, .bn-formula");
errorBanner(main); // the page's address: a problem with ?model= or ?sample= is shown by the server, dismissed here
setModel(main.dataset.model || null);

/** Under the lab's probabilities: why neither mode is near 100% sure (label smoothing), from the model card. */
async function smoothing(classes) {
  const note = document.getElementById("lab-smoothing");
  const card = await api.card().catch(() => null);
  note.textContent = smoothingNote(card, classes);
  note.hidden = !note.textContent;
}

/** An error shown in the section's own alert line (and kept on its data-error for the tests). */
const reporter = (host) => errorLine(host, host.querySelector(".bn-error"));

/** Words in a list: "a, b, c" (in Chinese "a、b、c"). */
const listOf = (items) => (items.length ? items.reduce((a, b) => t("{a}, {b}", { a, b })) : "");

/** The model has no BatchNorm layers (its layer table says so): why, in place of the sections about them. */
function noBatchNorm(model, models) {
  const others = models.filter((m) => m.batchnorm).map((m) => m.name);
  const note = section("no-batchnorm");
  const layers = listOf(model.layers.map((l) => t("{name} ({kind})", { name: l.name, kind: l.kind })));
  const params = { model: model.name, layers, models: listOf(others) };
  note.textContent = others.length
    ? t(
        "{model} has no BatchNorm layers: its layers are {layers}. Nothing in it normalises a batch, so there are no γ, β or running statistics to show, no train mode that differs from eval mode, and nothing to fold. Models with BatchNorm: {models} (choose one above). The comparison below, of the same network trained with and without BatchNorm, is about every model.",
        params,
      )
    : t(
        "{model} has no BatchNorm layers: its layers are {layers}. Nothing in it normalises a batch, so there are no γ, β or running statistics to show, no train mode that differs from eval mode, and nothing to fold. The comparison below, of the same network trained with and without BatchNorm, is about every model.",
        params,
      );
  note.hidden = false;
  for (const id of ["params", "lab", "fold"]) {
    section(id).hidden = true;
    section(id).dataset.state = "missing";
  }
  for (const link of document.querySelectorAll(".bn-toc a[href='#params'], .bn-toc a[href='#lab'], .bn-toc a[href='#fold']")) link.hidden = true;
}

async function start() {
  const params = section("params");
  const lab = section("lab");
  const fold = section("fold");
  const training = section("training");
  const [listed, network] = await Promise.allSettled([api.models(), api.model()]);
  const models = listed.status === "fulfilled" ? listed.value : [];
  reloadingPicker(section("model-switch"), models, { current: main.dataset.model || models.find((m) => m.default)?.name });
  const comparison =
    listed.status === "fulfilled"
      ? initTraining(training, models, reporter(training))
      : Promise.resolve().then(() => {
          training.dataset.state = "failed";
          reporter(training)(t("The training curves could not be loaded: {detail}", { detail: listed.reason.message }));
        });
  if (network.status === "rejected") {
    reporter(params)(t("The network could not be loaded: {detail}", { detail: network.reason.message }));
    await comparison;
    main.dataset.state = "ready";
    return;
  }
  const model = network.value;
  const words = modelWords(model);
  applyWords(main, words);
  const layers = model.layers.filter((l) => l.kind === "batchnorm").map((l) => l.name);
  if (!layers.length) {
    noBatchNorm(model, models);
    await comparison;
    main.dataset.state = "ready";
    return;
  }
  smoothing(model.classes.length);
  const summary = models.find((m) => m.name === model.name);
  const testSet = !summary || summary.samples;
  const tasks = [
    Promise.resolve(initParams(params, layers, reporter(params))).then(() => {
      params.dataset.state = "ready";
    }),
    initLab(lab, {
      layers,
      words,
      testSet,
      defaultSamples: Number(main.dataset.defaultSamples) || 64,
      maxBatch: Number(main.dataset.maxBatch) || 256,
      onError: reporter(lab),
    }),
    comparison,
    initFold(fold, reporter(fold), { testSet, name: model.name }),
  ];
  await Promise.allSettled(tasks);
  main.dataset.state = "ready";
}

start();
