/**
 * The BatchNorm page (GET /batchnorm): what the BatchNorm layers hold, train mode against eval mode on a
 * batch you choose, folding BatchNorm into the layer before it, and the network trained with and without
 * BatchNorm. Each section loads on its own and reports its errors in its own alert line; <main>'s
 * data-state becomes "ready" when every section has settled.
 */

import { api, setModel } from "./api.js";
import { initFold } from "./bn-fold.js";
import { initLab } from "./bn-lab.js";
import { initParams } from "./bn-params.js";
import { initTraining } from "./bn-training.js";
import { errorBanner, errorLine } from "./error-banner.js";
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

async function start() {
  const params = section("params");
  const lab = section("lab");
  const fold = section("fold");
  const training = section("training");
  let layers = ["bn1", "bn2", "bn3"];
  try {
    const model = await api.model();
    layers = model.layers.filter((l) => l.kind === "batchnorm").map((l) => l.name);
    smoothing(model.classes.length);
  } catch (error) {
    reporter(params)(`The network could not be loaded: ${error.message}`);
  }
  const tasks = [
    Promise.resolve(initParams(params, layers, reporter(params))).then(() => {
      params.dataset.state = "ready";
    }),
    initLab(lab, {
      layers,
      defaultSamples: Number(main.dataset.defaultSamples) || 64,
      maxBatch: Number(main.dataset.maxBatch) || 256,
      onError: reporter(lab),
    }),
    api
      .models()
      .then((models) => initTraining(training, models, reporter(training)))
      .catch((error) => {
        training.dataset.state = "failed";
        reporter(training)(`The training curves could not be loaded: ${error.message}`);
      }),
    initFold(fold, reporter(fold)),
  ];
  await Promise.allSettled(tasks);
  main.dataset.state = "ready";
}

start();
