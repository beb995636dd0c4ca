/**
 * The training section: the test-accuracy curves of the same network trained with and without BatchNorm
 * (BN_PAGE.compare: lenet_bn and lenet, from their model cards, GET /api/models) on the same axes, the
 * high-learning-rate pair (GET /api/batchnorm/high-lr), and the numbers written out in tables. Other served
 * models (with BatchNorm or not) are another network or another recipe, so they are not drawn here; a pair
 * that is not served is said so.
 */

import { bnApi } from "./bn-api.js";
import { lineChart } from "./bn-charts.js";
import { BN_PAGE } from "./config.js";
import { el } from "./dom.js";
import { formatList, t, tn } from "./i18n.js";

const pct = (v) => (v === null || v === undefined ? "–" : `${(v * 100).toFixed(2)}%`);
const color = (run) => (run.batchnorm ? BN_PAGE.colors.batchnorm : BN_PAGE.colors.plain);
const describe = (run) => (run.batchnorm ? t("{model} (with BatchNorm)", { model: run.name }) : t("{model} (without BatchNorm)", { model: run.name }));
/** Sentences in a row (in Chinese without a space between them). */
const sentences = (...texts) => texts.reduce((first, second) => t("{first} {second}", { first, second }));

/** The high-learning-rate run's description as models/high_lr.json words it: its numbers, to say it in the page's language. */
const HIGH_LR_WORDING =
  /^Both networks trained exactly like the served ones \(same seed, augmentation, label smoothing, SGD with Nesterov momentum, one-cycle schedule\) but with a peak learning rate of (\S+) instead of (\S+), for (\d+) epochs, without a timeline; test accuracy every (\d+) steps\.$/;

function highLrDescription(text) {
  const match = HIGH_LR_WORDING.exec(text);
  if (!match) return text; // worded otherwise: shown as recorded
  const [, lr, served, epochs, every] = match;
  return t(
    "Both networks trained exactly like the served ones (same seed, augmentation, label smoothing, SGD with Nesterov momentum, one-cycle schedule) but with a peak learning rate of {lr} instead of {served}, for {epochs} epochs, without a timeline; test accuracy every {every} steps.",
    { lr, served, epochs, every },
  );
}

/** Epochs per step, from any curve point (all runs share the batch size). */
function epochsPerStep(runs) {
  for (const run of runs) for (const p of run.curve) if (p.step) return p.epoch / p.step;
  return 0;
}

/** Chart series; a run that diverged ends with its test accuracy where training stopped. */
function toSeries(runs) {
  const perStep = epochsPerStep(runs);
  return runs.map((run) => {
    const points = run.curve.map((p) => ({ x: p.epoch, y: p.test_accuracy }));
    const divergedAt = run.diverged_at_step ? run.diverged_at_step * perStep : null;
    if (divergedAt !== null && typeof run.test_accuracy === "number") points.push({ x: divergedAt, y: run.test_accuracy });
    return { name: run.name, color: color(run), points, divergedAt };
  });
}

function legend(box, runs) {
  box.textContent = "";
  for (const run of runs) {
    const item = el("span", "bn-legend-item");
    const swatch = el("span", "bn-swatch");
    swatch.style.background = color(run);
    item.append(swatch, describe(run));
    box.append(item);
  }
}

function table(host, runs, epochs) {
  host.textContent = "";
  const head = host.createTHead().insertRow();
  for (const text of [t("model"), ...epochs.map((e) => t("epoch {n}", { n: e })), t("final"), t("first ≥ 99%"), t("diverged"), t("wall time")]) {
    const th = el("th", "", text);
    th.scope = "col";
    head.append(th);
  }
  const body = host.createTBody();
  for (const run of runs) {
    const row = body.insertRow();
    row.dataset.model = run.name;
    const name = el("th", "", describe(run));
    name.scope = "row";
    row.append(name);
    for (const e of epochs) row.insertCell().textContent = pct(run.history.find((h) => h.epoch === e)?.test_accuracy);
    row.insertCell().textContent = pct(run.test_accuracy);
    const first = run.curve.find((p) => p.test_accuracy >= 0.99);
    row.insertCell().textContent = first ? t("epoch {epoch} (step {step})", { epoch: first.epoch.toFixed(2), step: first.step }) : t("never");
    row.insertCell().textContent = run.diverged_at_step ? t("step {n}", { n: run.diverged_at_step }) : t("no");
    row.insertCell().textContent = run.wall_time_seconds ? t("{n} s", { n: Math.round(run.wall_time_seconds) }) : "–";
  }
}

function summary(runs) {
  const [bn, plain] = [runs.find((r) => r.batchnorm), runs.find((r) => !r.batchnorm)];
  if (!bn || !plain) return "";
  const at = (run, e) => run.history.find((h) => h.epoch === e)?.test_accuracy;
  const first = (run) => run.curve.find((p) => p.test_accuracy >= 0.99);
  const reach = (run) => (first(run) ? t("epoch {epoch}", { epoch: first(run).epoch.toFixed(2) }) : t("never"));
  const said = [
    t("After one epoch: {bn} with BatchNorm, {plain} without.", { bn: pct(at(bn, 1)), plain: pct(at(plain, 1)) }),
    t("99% test accuracy first reached at {bn} with BatchNorm and {plain} without.", { bn: reach(bn), plain: reach(plain) }),
    t("Final: {bn} against {plain}.", { bn: pct(bn.test_accuracy), plain: pct(plain.test_accuracy) }),
  ];
  if (plain.diverged_at_step) said.push(t("Without BatchNorm the loss became NaN/inf at step {step} and training stopped.", { step: plain.diverged_at_step }));
  if (bn.diverged_at_step) said.push(t("With BatchNorm the loss became NaN/inf at step {step}.", { step: bn.diverged_at_step }));
  return sentences(...said);
}

/** How the compared runs were trained, in words. */
function recipeText(recipe, count) {
  const numbers = { model: recipe.name, epochs: recipe.epochs, steps: recipe.steps, batch: recipe.batch_size, lr: recipe.max_lr };
  const how =
    count > 1
      ? t(
          "Both trained with the same seed, optimiser and schedule: {epochs} epochs of {steps} steps in all, batches of {batch}, SGD with Nesterov momentum, one-cycle learning rate peaking at {lr}.",
          numbers,
        )
      : t("{model} was trained with: {epochs} epochs of {steps} steps in all, batches of {batch}, SGD with Nesterov momentum, one-cycle learning rate peaking at {lr}.", numbers);
  const tested =
    recipe.dataset === "mnist" ? t("Test accuracy on the MNIST test digits, every few hundred steps.") : t("Test accuracy on the test set, every few hundred steps.");
  return sentences(how, tested);
}

/** The two models compared: the one with BatchNorm first. Missing ones are named in `missing`. */
export function comparedRuns(models) {
  const runs = BN_PAGE.compare.map((name) => models.find((m) => m.name === name)).filter(Boolean);
  const missing = BN_PAGE.compare.filter((name) => !models.some((m) => m.name === name));
  return { runs: [...runs.filter((m) => m.batchnorm), ...runs.filter((m) => !m.batchnorm)], missing };
}

/** Draw the section; resolves when both charts are drawn. Errors go to `onError`. */
export async function initTraining(section, models, onError) {
  const $ = (selector) => section.querySelector(selector);
  const { runs, missing } = comparedRuns(models);
  if (missing.length) {
    const note = $("#curves-missing");
    const words = { needed: formatList(BN_PAGE.compare), missing: formatList(missing), drawn: formatList(runs.map((r) => r.name)) };
    note.textContent = runs.length
      ? tn(
          "The comparison needs {needed}, the same network trained with and without BatchNorm; {missing} is not served here, so only {drawn} is drawn.",
          "The comparison needs {needed}, the same network trained with and without BatchNorm; {missing} are not served here, so only {drawn} is drawn.",
          missing.length,
          words,
        )
      : tn(
          "The comparison needs {needed}, the same network trained with and without BatchNorm; {missing} is not served here.",
          "The comparison needs {needed}, the same network trained with and without BatchNorm; {missing} are not served here.",
          missing.length,
          words,
        );
    note.hidden = false;
  }
  let high = null;
  try {
    high = await bnApi.highLr();
  } catch (error) {
    $("#high-lr-summary").textContent = t("No high-learning-rate run is recorded on this server.");
    if (error.status !== 404) onError(error);
  }
  let mode = section.querySelector('input[name="curve-mode"]:checked').value;

  const draw = () => {
    const curves = $("#curves");
    curves.textContent = "";
    if (runs.length) curves.append(lineChart(toSeries(runs), { mode, height: BN_PAGE.lineHeight, label: t("Test accuracy by epoch, with and without BatchNorm") }));
    if (high) {
      const box = $("#high-lr");
      box.textContent = "";
      box.append(lineChart(toSeries(high.runs), { mode, height: BN_PAGE.lineHeight, label: t("Test accuracy by epoch at peak learning rate {lr}", { lr: high.max_lr }) }));
    }
    section.dataset.mode = mode;
  };
  for (const radio of section.querySelectorAll('input[name="curve-mode"]')) {
    radio.addEventListener("change", () => {
      if (!radio.checked) return;
      mode = radio.value;
      draw();
    });
  }

  const recipe = runs[0];
  $("#training-recipe").textContent = recipe ? recipeText(recipe, runs.length) : "";
  legend($("#curves-legend"), runs);
  const longest = Math.max(0, ...runs.map((r) => r.history.length));
  table($("#curves-table"), runs, [1, 2, 3, 5, 10].filter((e) => e < longest));
  $("#curves-summary").textContent = summary(runs);
  if (high) {
    $("#high-lr-recipe").textContent = highLrDescription(high.description);
    legend($("#high-lr-legend"), high.runs);
    table($("#high-lr-table"), high.runs, Array.from({ length: high.epochs - 1 }, (_, i) => i + 1));
    $("#high-lr-summary").textContent = summary(high.runs);
    $("#high-lr-commands").textContent = high.commands.join("\n");
  }
  draw();
  Object.assign(section.dataset, { state: "ready", curves: String(runs.length), highLrCurves: String(high ? high.runs.length : 0) });
}
